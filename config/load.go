package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Environment variables that may hold the secrets, so that they need not be
// written in the config file (containers, systemd credentials).
const (
	EnvClientSecret = "TESLA2MQTT_CLIENT_SECRET"
	EnvMQTTPassword = "TESLA2MQTT_MQTT_PASSWORD"
)

// Load reads the TOML file at path over Default(), fills the secrets from
// their *_file keys or the process environment, and validates the result.
// See LoadWith.
func Load(path string) (*Config, error) {
	return LoadWith(path, os.Getenv)
}

// LoadWith is Load with the environment given as a lookup function, so tests
// need not touch the process environment. A nil env means an empty one.
//
// Every key the file leaves out keeps its value from Default(). On failure it
// returns nil and an *Error holding every problem found: unknown keys (all of
// them), values of the wrong type, secret problems and Validate's problems
// together. Only an unreadable file or bad TOML syntax stops early; a value
// of the wrong type is reported and the rest of the file is checked without
// it. Relative *_file paths are
// relative to the working directory, like state_dir.
func LoadWith(path string, env func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// Not an *Error: the caller may want errors.Is(err, fs.ErrNotExist).
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := loadDoc(string(data), env)
	var de *decodeError
	if !errors.As(err, &de) {
		return cfg, err
	}
	// Values of the wrong type: the rest of the file is still worth
	// checking, so the user sees every problem in one run. Drop the
	// mistyped keys (they keep their defaults) and check what remains.
	pruned, ok := withoutKeys(string(data), de.keys)
	if !ok {
		return nil, de.err
	}
	_, rest := loadDoc(pruned, env)
	all := Problems(de.err)
	mistyped := map[string]bool{}
	for _, k := range de.keys {
		mistyped[k] = true
	}
	for _, p := range Problems(rest) {
		if !mistyped[p.Key] { // a dropped key's own problem is already said
			all = append(all, p)
		}
	}
	return nil, &Error{Problems: all}
}

// decodeError is a file that does not decode into Config; keys names the
// mistyped values when the file is otherwise valid TOML.
type decodeError struct {
	err  error
	keys []string
}

func (e *decodeError) Error() string { return e.err.Error() }

// withoutKeys re-encodes a TOML document without the given key paths
// ("mqtt.discovery", "vehicle[0].vin").
func withoutKeys(doc string, keys []string) (string, bool) {
	if len(keys) == 0 {
		return "", false
	}
	var raw map[string]any
	if _, err := toml.Decode(doc, &raw); err != nil {
		return "", false
	}
	for _, k := range keys {
		deletePath(raw, k)
	}
	var sb strings.Builder
	if err := toml.NewEncoder(&sb).Encode(raw); err != nil {
		return "", false
	}
	return sb.String(), true
}

// deletePath removes one key path from a decoded TOML document.
func deletePath(m map[string]any, path string) {
	parts := strings.Split(path, ".")
	var cur any = m
	for i, part := range parts {
		name, idx := part, -1
		if j := strings.IndexByte(part, '['); j > 0 && strings.HasSuffix(part, "]") {
			name = part[:j]
			if n, err := strconv.Atoi(part[j+1 : len(part)-1]); err == nil {
				idx = n
			}
		}
		mm, ok := cur.(map[string]any)
		if !ok {
			return
		}
		if i == len(parts)-1 && idx < 0 {
			delete(mm, name)
			return
		}
		next := mm[name]
		if idx >= 0 {
			list, ok := next.([]map[string]any)
			if !ok || idx >= len(list) {
				if i == len(parts)-1 {
					delete(mm, name)
				}
				return
			}
			if i == len(parts)-1 {
				delete(mm, name)
				return
			}
			next = list[idx]
		}
		cur = next
	}
}

// loadDoc decodes and checks one document.
func loadDoc(doc string, env func(string) string) (*Config, error) {
	cfg := Default()
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		perr := decodeProblems(doc, err)
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, perr
		}
		var keys []string
		for _, p := range Problems(perr) {
			if p.Key == "" {
				return nil, perr
			}
			keys = append(keys, p.Key)
		}
		return nil, &decodeError{err: perr, keys: keys}
	}
	var ps problems
	ps.unknownKeys(md.Undecoded())
	ps.keyCase(md.Keys())
	if env == nil {
		env = func(string) string { return "" }
	}
	ps.resolveSecrets(&cfg, env)
	ps = append(ps, Problems(cfg.Validate())...)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// unknownKeys reports keys that are not in the schema, usually typos. A key
// inside an unknown table is not reported again: [mqtt.tls] with three keys
// is one problem, not four.
func (ps *problems) unknownKeys(keys []toml.Key) {
	unknown := make(map[string]bool, len(keys))
	for _, k := range keys {
		unknown[k.String()] = true
	}
next:
	for _, k := range keys {
		for i := 1; i < len(k); i++ {
			if unknown[k[:i].String()] {
				continue next
			}
		}
		ps.add(k.String(), "unknown key %q", k.String())
	}
}

// keyCase reports keys written in another case than the schema's. BurntSushi
// matches fields ignoring case, but TOML keys are case-sensitive, and "URL"
// next to "url" would let one silently overwrite the other.
func (ps *problems) keyCase(keys []toml.Key) {
	seen := map[string]bool{}
	for _, k := range keys {
		t := reflect.TypeFor[Config]()
		for i, part := range k {
			for t.Kind() == reflect.Slice {
				t = t.Elem() // keys of [[vehicle]] entries carry no index
			}
			if t.Kind() != reflect.Struct {
				break // map keys (entities.names) are the user's own
			}
			f, ok := fieldByKey(t, part)
			if !ok {
				break // unknown, reported by unknownKeys
			}
			if want := tomlName(f); want != part {
				if at := k[:i+1].String(); !seen[at] {
					seen[at] = true
					ps.add(at, "write %q, not %q: keys are case-sensitive", want, part)
				}
				break
			}
			t = f.Type
		}
	}
}

// fieldByKey finds the field of struct type t that key decodes into, ignoring
// case as BurntSushi does.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		switch name := tomlName(f); {
		case name == key:
			return f, true
		case !found && strings.EqualFold(name, key):
			fold, found = f, true
		}
	}
	return fold, found
}

// resolveSecrets fills tesla.client_secret and mqtt.password.
//
// Precedence: a value written in the file wins over its *_file key, which
// wins over the environment variable. The file is the most explicit choice
// for this one daemon; the environment is often shared by a whole container.
// Setting both the value and its *_file is reported anyway, since one of
// the two is surely stale.
func (ps *problems) resolveSecrets(c *Config, env func(string) string) {
	c.Tesla.ClientSecret = ps.secret("tesla.client_secret", c.Tesla.ClientSecret,
		c.Tesla.ClientSecretFile, EnvClientSecret, env)
	c.MQTT.Password = ps.secret("mqtt.password", c.MQTT.Password,
		c.MQTT.PasswordFile, EnvMQTTPassword, env)
}

// secret returns the value of one secret after the precedence above. Problems
// name the key and the path, never the content.
func (ps *problems) secret(key, value, file, envVar string, env func(string) string) string {
	fileKey := key + "_file"
	if value != "" {
		if file != "" {
			ps.add(key, "set one of %s or %s, not both", key, fileKey)
		}
		return value
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			ps.add(fileKey, "cannot read the secret: %v", err)
			return ""
		}
		// Editors and `echo` add a trailing newline that is not part of the secret.
		s := strings.TrimSpace(string(b))
		if s == "" {
			ps.add(fileKey, "%s is empty", file)
		}
		return s
	}
	return env(envVar)
}
