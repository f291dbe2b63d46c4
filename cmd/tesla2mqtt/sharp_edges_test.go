package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check-config says OK only when run can start: without tesla.client_id it
// names the key and fails, with it (and [http] addr = "off") it passes.
func TestCheckConfigOnlyOKWhenRunCanStart(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out bytes.Buffer
	err := cmdCheckConfig(context.Background(), []string{"-c", write("state_dir = \"" + dir + "\"\n")}, &out, &out)
	if err == nil || !strings.Contains(out.String(), "tesla.client_id") || strings.Contains(out.String(), "OK: ") {
		t.Fatalf("no client id: err = %v, output %q", err, out.String())
	}
	out.Reset()
	err = cmdCheckConfig(context.Background(), []string{"-c", write("state_dir = \"" + dir + "\"\n[tesla]\nclient_id = \"abc\"\n[http]\naddr = \"off\"\n")}, &out, &out)
	if err != nil || !strings.HasPrefix(out.String(), "OK: ") {
		t.Fatalf("complete config: err = %v, output %q", err, out.String())
	}
	// run refuses the first file by the key's name, before anything starts.
	err = cmdRun(context.Background(), []string{"-c", write("state_dir = \"" + dir + "\"\n")}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "tesla.client_id") {
		t.Fatalf("run without a client id: %v", err)
	}
}
