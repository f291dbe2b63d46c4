package clock_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// banned are the time functions that read or wait on the wall clock.
var banned = map[string]bool{
	"Now": true, "Since": true, "Until": true, "After": true, "AfterFunc": true,
	"NewTimer": true, "NewTicker": true, "Tick": true, "Sleep": true,
}

// realAllowed are the places outside this package that may take the wall
// clock (clock.Real) by name, each with its reason.
var realAllowed = map[string]string{
	// cmd is the wiring: main and the subcommands build the wall clock
	// once and pass it to every package in its options.
	"cmd/tesla2mqtt/*": "wiring",
	// A leak check waits in real time for the goroutines of the code
	// under test to end; it runs only inside tests.
	"internal/leakcheck/*": "waits for goroutines in real time",
	// Temp files left by an interrupted token save are aged by their
	// mtime, which the kernel stamps on the wall clock.
	"fleet/tokenstore.go:removeStaleTemps": "file times are wall-clock times",
}

// TestTimeOnlyThroughTheClock fails when production code outside this
// package reads the wall clock directly: time.Now, time.Since, time.After,
// time.NewTimer, time.Tick and their kin, called or passed as values. Code
// takes a Clock in its options instead, so the tests can run it on any date
// and never wait. Context deadlines (context.WithTimeout) bound real I/O and
// are not time reads in this sense.
func TestTimeOnlyThroughTheClock(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "internal/clock" || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		timeName, clockName := "", ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			switch {
			case p == "time":
				timeName = name
			case strings.HasSuffix(p, "/internal/clock"):
				clockName = name
			}
		}
		for _, decl := range f.Decls {
			fn := "(package)"
			if fd, ok := decl.(*ast.FuncDecl); ok {
				fn = fd.Name.Name
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				id, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				pos := fset.Position(sel.Pos())
				where := rel + ":" + strconv.Itoa(pos.Line) + " in " + fn
				switch {
				case timeName != "" && id.Name == timeName && banned[sel.Sel.Name]:
					bad = append(bad, where+": time."+sel.Sel.Name+" (take a clock.Clock in the options)")
				case clockName != "" && id.Name == clockName && sel.Sel.Name == "Real" && !realOK(rel, fn):
					bad = append(bad, where+": clock.Real outside the wiring (take a clock.Clock in the options)")
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

func realOK(rel, fn string) bool {
	if _, ok := realAllowed[rel+":"+fn]; ok {
		return true
	}
	_, ok := realAllowed[filepath.ToSlash(filepath.Dir(rel))+"/*"]
	return ok
}
