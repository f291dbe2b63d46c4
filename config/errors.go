package config

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration, tied to the key it is
// about so the user knows which line to fix.
type Problem struct {
	// Key is the full key path ("mqtt.url", "vehicle[1].vin"). It is empty
	// only for problems that belong to no key, such as a TOML syntax error.
	Key string
	// Message says what is wrong and, where it helps, what is accepted.
	Message string
}

// String renders the problem as "key: message".
func (p Problem) String() string {
	if p.Key == "" {
		return p.Message
	}
	return p.Key + ": " + p.Message
}

// Error is returned by Load and Validate. It holds every problem found, not
// just the first, so one run of --check-config shows all that needs fixing.
type Error struct {
	Problems []Problem
}

// Error lists the problems one per line as "key: message".
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Problems returns the problems held by err: those of an *Error anywhere in
// its chain, else err itself as one problem without a key, else nil. It lets
// the CLI print any error from Load the same way.
func Problems(err error) []Problem {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return []Problem{{Message: err.Error()}}
}

// problems collects Problems; its err method returns nil when there are none,
// so callers never return a typed nil *Error inside a non-nil error.
type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &Error{Problems: ps}
}
