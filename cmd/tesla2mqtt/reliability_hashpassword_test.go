package main

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	old := hashPasswordInput
	t.Cleanup(func() { hashPasswordInput = old })
	hashPasswordInput = strings.NewReader("correct horse\n")
	var out, errOut strings.Builder
	if code := run([]string{"hash-password"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	hash := strings.TrimSpace(out.String())
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")) != nil {
		t.Fatalf("%q does not verify the password", hash)
	}
	if strings.Contains(out.String()+errOut.String(), "correct horse") {
		t.Fatal("the password was echoed")
	}
	hashPasswordInput = strings.NewReader("")
	if code := run([]string{"hash-password"}, &out, &errOut); code != 2 {
		t.Fatalf("empty password: exit %d, want 2", code)
	}
}
