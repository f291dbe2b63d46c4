package mqtt

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/b/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a/", true}, // an empty level is a level
		{"a/+/c", "a/b/c", true},
		{"+/+", "a/b", true},
		{"+", "a", true},
		{"+", "a/b", false},
		{"a/#", "a", true}, // # also matches the parent level
		{"a/#", "a/b/c", true},
		{"a/#", "b/c", false},
		{"#", "a/b/c", true},
		{"#", "$SYS/broker/uptime", false}, // wildcards never match $ topics
		{"+/broker/uptime", "$SYS/broker/uptime", false},
		{"$SYS/#", "$SYS/broker/uptime", true},
		{"a/#/c", "a/b/c", false}, // invalid filters match nothing
		{"a+", "a+", false},
		{"", "", false},
		{"a", "", false},
	}
	for _, tt := range tests {
		if got := Match(tt.filter, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

// TestNoDomainWords keeps the package generic: it must not know what the
// bridge connects to. The pattern spells the words with a character class so
// that this guard itself passes a plain grep of the package.
func TestNoDomainWords(t *testing.T) {
	// The module's own generic packages (the clock, this package, its
	// test doubles) carry the project's name only in their import path.
	const module = "github.com/t" + "esla2mqtt/t" + "esla2mqtt/"
	own := regexp.MustCompile(regexp.QuoteMeta(module) + `(internal/|mqtt)`)
	words := regexp.MustCompile(`(?i)\b(t[e]sla\w*|v[i]ns?|v[e]hicles?)\b`)
	forbidden := regexp.MustCompile(`/fleet|/bridge|/config|t[e]slamotors|mochi-mqtt`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	doubles, err := filepath.Glob(filepath.Join("mqtttest", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, doubles...)
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			line = own.ReplaceAllString(line, "$1")
			if words.MatchString(line) {
				t.Errorf("%s:%d: domain word: %s", f, i+1, strings.TrimSpace(line))
			}
		}
		if strings.HasSuffix(f, "_test.go") {
			continue // tests may use the in-process broker
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if forbidden.MatchString(imp.Path.Value) {
				t.Errorf("%s imports %s", f, imp.Path.Value)
			}
		}
	}
}
