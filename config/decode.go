package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// decodeProblems turns an error of toml.Decode into an *Error.
//
// Syntax errors come as a toml.ParseError with the key and line. A wrong
// value type does not: BurntSushi returns an untyped error for the first
// mismatch only, in its own words ("destination has type slice"). So the
// document is decoded again without a schema and compared with Config, which
// names every mismatch in the user's vocabulary ("expected a boolean, got a
// string"); the line is then taken from BurntSushi's message when it names
// the same key.
func decodeProblems(doc string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{Problems: []Problem{{
			Key:     pe.LastKey,
			Message: fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message),
		}}}
	}
	var raw map[string]any
	if _, rerr := toml.Decode(doc, &raw); rerr != nil {
		return &Error{Problems: []Problem{{Message: err.Error()}}}
	}
	var ps problems
	checkTypes(&ps, reflect.TypeFor[Config](), raw, "")
	if len(ps) == 0 {
		// A mismatch the walk does not model: BurntSushi's words are better than none.
		ps.add("", "%s", err.Error())
	}
	addLine(ps, err.Error())
	return ps.err()
}

// checkTypes reports, with its key path, every value of v whose TOML type
// does not fit the Go type t. Keys outside the schema are skipped: on this
// path the decode failed, and unknown keys are reported once it succeeds.
func checkTypes(ps *problems, t reflect.Type, v any, path string) {
	want := expectedKind(t)
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			ps.add(path, "expected %s, got %s", want, tomlKind(v))
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name := tomlName(f)
			if val, ok := m[name]; ok {
				checkTypes(ps, f.Type, val, joinKey(path, name))
			}
		}
	case reflect.Slice:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice {
			ps.add(path, "expected %s, got %s", want, tomlKind(v))
			return
		}
		for i := range rv.Len() {
			checkTypes(ps, t.Elem(), rv.Index(i).Interface(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			ps.add(path, "expected %s, got %s", want, tomlKind(v))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys) // map order would make the problem list flicker between runs
		for _, k := range keys {
			checkTypes(ps, t.Elem(), m[k], joinKey(path, k))
		}
	default:
		if tomlKind(v) != want {
			ps.add(path, "expected %s, got %s", want, tomlKind(v))
		}
	}
}

// expectedKind names, as a TOML user would, the value a Go type accepts.
func expectedKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a float"
	case reflect.Struct, reflect.Map:
		return "a table"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "an array of tables"
		}
		return "an array"
	}
	return t.String()
}

// tomlKind names the TOML type of a value decoded without a schema.
func tomlKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case time.Time: // BurntSushi decodes local dates and times to time.Time too
		return "a date-time"
	}
	return fmt.Sprintf("%T", v)
}

// tomlLine matches the prefix BurntSushi puts on its untyped decode errors.
var tomlLine = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\)`)

// addLine prefixes "line N: " to the problem that BurntSushi's message is
// about. Reading the line from the text is the only way BurntSushi offers;
// if its format changes, problems merely lose their line number (a test
// catches that).
func addLine(ps problems, msg string) {
	m := tomlLine.FindStringSubmatch(msg)
	if m == nil {
		return
	}
	line, _ := strconv.Atoi(m[1])
	for i, p := range ps {
		// BurntSushi's key has no array indexes: vehicle.vin for vehicle[2].vin.
		if arrayIndex.ReplaceAllString(p.Key, "") == m[2] {
			ps[i].Message = fmt.Sprintf("line %d: %s", line, p.Message)
			return
		}
	}
}

var arrayIndex = regexp.MustCompile(`\[\d+\]`)

// tomlName is the key a struct field decodes from.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// joinKey appends a key to a path, quoting it as TOML would when it is not bare.
func joinKey(path, key string) string {
	k := toml.Key{key}.String()
	if path == "" {
		return k
	}
	return path + "." + k
}
