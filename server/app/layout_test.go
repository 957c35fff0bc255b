package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// modulePath is this module's import path.
const modulePath = "github.com/pipedream-mcp/pipedream-mcp"

// allowedImports is the layout DESIGN.md pins, as the packages of this module
// each package may import (non-test code): dependencies point one way,
// main -> app -> {server, tools} -> {schema, pdclient}; server knows nothing
// of Pipedream, schema nothing of ours but pdclient's wire types.
var allowedImports = map[string][]string{
	".":                   {"server/app"},
	"server/app":          {"server/app/config", "server", "tools", "schema", "pdclient", "pdclient/pdtest", "pdclient/redisstore"},
	"server/app/config":   {"server", "tools", "schema", "pdclient", "pdclient/redisstore"},
	"server":              {},
	"tools":               {"tools/search", "schema", "pdclient"},
	"tools/search":        {},
	"schema":              {"pdclient"},
	"pdclient":            {},
	"pdclient/pdtest":     {"pdclient"},
	"pdclient/redisstore": {"pdclient"},
}

// TestLayout: every package imports only what the layout allows, and main.go
// is the only non-test Go file at the root.
func TestLayout(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}", modulePath+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), ":")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, modulePath), "/")
		if rel == "" {
			rel = "."
		}
		allowed, known := allowedImports[rel]
		if !known {
			t.Errorf("package %s is not in the layout (allowedImports)", rel)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			dep, ours := strings.CutPrefix(imp, modulePath+"/")
			if ours && !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s; the layout allows %q", rel, dep, allowed)
			}
		}
	}

	root, err := filepath.Abs(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") && name != "main.go" {
			t.Errorf("%s sits at the root; only main.go may", name)
		}
	}
	if n := lineCount(t, filepath.Join(root, "main.go")); n > 60 {
		t.Errorf("main.go has %d lines; it holds the process only (about 50)", n)
	}
}

func lineCount(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
