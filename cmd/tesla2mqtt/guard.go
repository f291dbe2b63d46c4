package main

import (
	"fmt"

	"github.com/rs/zerolog"
)

// recoverTo is deferred first thing in a goroutine the command starts: a
// panic there is logged as what panicked, instead of ending the process
// (and the bridge with it) over a side task. It must be deferred directly,
// since recover only works in the deferred function itself.
func recoverTo(log zerolog.Logger, what string) {
	if r := recover(); r != nil {
		log.Error().Str("goroutine", what).Interface("panic", r).Msg("goroutine panicked; recovered")
	}
}

// runGuarded runs f and turns a panic into an error naming what panicked,
// for goroutines whose owner reports errors rather than logs (the bench).
func runGuarded(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s panicked: %v", what, r)
		}
	}()
	f()
	return nil
}
