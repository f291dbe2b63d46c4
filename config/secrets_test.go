package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretPrecedence checks file value > *_file > environment for both secrets.
func TestSecretPrecedence(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{EnvClientSecret: "from-env", EnvMQTTPassword: "from-env"})
	tests := []struct {
		name  string
		value string // the secret written in the file, if any
		file  bool   // whether the *_file key points at secretFile
		env   func(string) string
		want  string
	}{
		{"value wins over env", "from-toml", false, env, "from-toml"},
		{"file wins over env", "", true, env, "from-file"},
		{"env alone", "", false, env, "from-env"},
		{"nothing", "", false, noEnv, ""},
		{"nil env", "", false, nil, ""},
	}
	for _, key := range []struct{ table, value, file string }{
		{"tesla", "client_secret", "client_secret_file"},
		{"mqtt", "password", "password_file"},
	} {
		for _, tt := range tests {
			t.Run(key.table+"/"+tt.name, func(t *testing.T) {
				doc := "[" + key.table + "]\n"
				if tt.value != "" {
					doc += key.value + " = \"" + tt.value + "\"\n"
				}
				if tt.file {
					doc += key.file + " = '" + secretFile + "'\n"
				}
				cfg, err := LoadWith(writeConfig(t, doc), tt.env)
				if err != nil {
					t.Fatal(err)
				}
				got := cfg.MQTT.Password
				if key.table == "tesla" {
					got = cfg.Tesla.ClientSecret
				}
				if got != tt.want {
					t.Errorf("secret = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestSecretProblems(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	unreadable := filepath.Join(dir, "dir") // a directory cannot be read as a file
	if err := os.Mkdir(unreadable, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc, key, want string
	}{
		{"both set", "[tesla]\nclient_secret = \"s3cret\"\nclient_secret_file = '" + empty + "'\n",
			"tesla.client_secret", "set one of tesla.client_secret or tesla.client_secret_file, not both"},
		{"both set mqtt", "[mqtt]\npassword = \"s3cret\"\npassword_file = '" + empty + "'\n",
			"mqtt.password", "set one of mqtt.password or mqtt.password_file, not both"},
		{"missing file", "[tesla]\nclient_secret_file = '" + missing + "'\n",
			"tesla.client_secret_file", "cannot read the secret"},
		{"directory", "[mqtt]\npassword_file = '" + unreadable + "'\n",
			"mqtt.password_file", "cannot read the secret"},
		{"empty file", "[mqtt]\npassword_file = '" + empty + "'\n",
			"mqtt.password_file", "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadWith(writeConfig(t, tt.doc), noEnv)
			if p := findProblem(t, err, tt.key); !strings.Contains(p.Message, tt.want) {
				t.Errorf("message = %q, want it to contain %q", p.Message, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error reveals the secret: %v", err)
			}
		})
	}
}

// A secret file's content must never reach the error, even when it is bad.
func TestSecretFileContentNotPrinted(t *testing.T) {
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadWith(writeConfig(t, "units = \"bad\"\n[mqtt]\npassword_file = '"+f+"'\n"), noEnv)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}
