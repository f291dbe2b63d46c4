package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashPasswordInput is where hash-password reads; tests replace it.
var hashPasswordInput io.Reader = os.Stdin

// cmdHashPassword reads one password from standard input and prints its
// bcrypt hash for [[broker.users]] password_hash or the status page's
// [http] password_hash. Reading stdin rather than a
// flag keeps the password out of the shell history and the process list.
func cmdHashPassword(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hash-password", "usage: echo -n 'password' | tesla2mqtt hash-password\n\nReads a password (the first line of standard input) and prints a bcrypt hash\nfor password_hash in [[broker.users]] or [http].", stderr)
	cost := fs.Int("cost", bcrypt.DefaultCost, "bcrypt cost (10–16; each step doubles the time of a login)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cost < bcrypt.DefaultCost || *cost > 16 {
		return usageErr("hash-password: -cost must be from %d to 16", bcrypt.DefaultCost)
	}
	line, err := bufio.NewReader(hashPasswordInput).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("hash-password: read standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return usageErr("hash-password: no password on standard input; try: echo -n 'password' | tesla2mqtt hash-password")
	}
	if len(pw) > 72 {
		return usageErr("hash-password: the password is longer than bcrypt's 72 bytes")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), *cost)
	if err != nil {
		return fmt.Errorf("hash-password: %w", err)
	}
	fmt.Fprintln(stdout, string(hash))
	return nil
}

// init registers the subcommand here rather than in main.go's table, whose
// gofmt alignment the longer name would shift on every line.
func init() {
	commands["hash-password"] = command{"read a password on stdin and print its bcrypt hash for [[broker.users]] or [http]", cmdHashPassword}
}
