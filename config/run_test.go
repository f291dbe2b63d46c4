package config

import (
	"os"
	"path/filepath"
	"testing"
)

// A config without tesla.client_id is a valid file, but run cannot start
// with it: ValidateRun names the key.
func TestValidateRunNamesClientID(t *testing.T) {
	c := Default()
	probs := Problems(c.ValidateRun())
	if len(probs) != 1 || probs[0].Key != "tesla.client_id" {
		t.Fatalf("problems = %v, want tesla.client_id", probs)
	}
	c.Tesla.ClientID = "abc"
	if err := c.ValidateRun(); err != nil {
		t.Fatalf("with a client id: %v", err)
	}
}

// [http] addr = "off" in the file turns the server off, as --http-addr off
// does on the command line.
func TestHTTPAddrOffInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte("[tesla]\nclient_id = \"abc\"\n[http]\naddr = \"off\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("addr = \"off\": %v", err)
	}
	if c.HTTP.Addr != HTTPOff {
		t.Errorf("addr = %q", c.HTTP.Addr)
	}
}
