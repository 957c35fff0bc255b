package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

var update = flag.Bool("update", false, "rewrite the golden schemas under testdata/golden/schema (and delete orphans)")

// Fixture locations, relative to this package's directory: the fake's catalog and
// the hand-made edge cases share the {"app", "actions"} format.
const (
	catalogGlob = "../pdclient/pdtest/catalog/*.json"
	propsGlob   = "../testdata/props/*.json"
	goldenDir   = "../testdata/golden/schema"
)

// fixture is one action of one fixture file.
type fixture struct {
	file string
	app  string
	comp pdclient.Component
}

func (f fixture) golden() string {
	return filepath.Join(goldenDir, f.app, f.comp.Key+".json")
}

var safeSegment = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// loadFixtures reads every fixture file; duplicate (app, key) pairs and keys that
// cannot be file names fail the test.
func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	var files []string
	for _, g := range []string{catalogGlob, propsGlob} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no fixture files found")
	}
	var out []fixture
	seen := make(map[string]string)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var ff struct {
			App     pdclient.App         `json:"app"`
			Actions []pdclient.Component `json:"actions"`
		}
		if err := json.Unmarshal(b, &ff); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !safeSegment.MatchString(ff.App.NameSlug) || strings.Trim(ff.App.NameSlug, ".") == "" {
			t.Fatalf("%s: app slug %q cannot name a golden directory", file, ff.App.NameSlug)
		}
		for _, c := range ff.Actions {
			if !safeSegment.MatchString(c.Key) || strings.Trim(c.Key, ".") == "" {
				t.Fatalf("%s: action key %q cannot name a golden file", file, c.Key)
			}
			id := ff.App.NameSlug + "/" + c.Key
			if prev, dup := seen[id]; dup {
				t.Fatalf("%s: action %s is also in %s", file, id, prev)
			}
			seen[id] = file
			out = append(out, fixture{file: file, app: ff.App.NameSlug, comp: c})
		}
	}
	return out
}

// goldenBytes is what the golden file of f holds: the schema, indented, or
// {"error": ...} for a component whose props cannot be translated.
func goldenBytes(f fixture) []byte {
	errorGolden := func(msg string) []byte {
		b, _ := json.MarshalIndent(map[string]string{"error": msg}, "", "  ")
		return append(b, '\n')
	}
	if f.comp.PropsError != "" {
		return errorGolden(f.comp.PropsError)
	}
	tr, err := Translate(f.comp.ConfigurableProps, Options{App: f.app})
	if err != nil {
		return errorGolden(err.Error())
	}
	var b bytes.Buffer
	if err := json.Indent(&b, tr.Schema, "", "  "); err != nil {
		return errorGolden("invalid schema JSON: " + err.Error())
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.app+"/"+f.comp.Key, func(t *testing.T) {
			got := goldenBytes(f)
			path := f.golden()
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("missing golden %s (from %s): run go test ./schema -update", path, f.file)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("schema of %s differs from %s (run go test ./schema -update if intended):\n%s", f.comp.Key, path, firstDiff(want, got))
			}
		})
	}
}

// TestNoOrphanGoldens fails on golden files without a fixture (a renamed or
// removed action); -update deletes them.
func TestNoOrphanGoldens(t *testing.T) {
	want := make(map[string]bool)
	for _, f := range loadFixtures(t) {
		want[filepath.Clean(f.golden())] = true
	}
	var orphans []string
	err := filepath.WalkDir(goldenDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !want[filepath.Clean(path)] {
			orphans = append(orphans, path)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(orphans)
	for _, o := range orphans {
		if *update {
			if err := os.Remove(o); err != nil {
				t.Error(err)
			}
			continue
		}
		t.Errorf("orphan golden %s: no fixture action has this app and key (go test ./schema -update deletes it)", o)
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got []byte) string {
	wl := strings.Split(string(want), "\n")
	gl := strings.Split(string(got), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return "(no line differs)"
}

// allowedKeywords are the only schema keywords any client is shown.
var allowedKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "items": true, "description": true,
	"title": true, "enum": true, "default": true, "minimum": true, "maximum": true,
	"additionalProperties": true,
}

// TestInventory checks every fixture schema against the portability rules.
func TestInventory(t *testing.T) {
	n := 0
	for _, f := range loadFixtures(t) {
		if f.comp.PropsError != "" {
			continue
		}
		tr, err := Translate(f.comp.ConfigurableProps, Options{App: f.app})
		if err != nil {
			continue // the golden holds the error
		}
		n++
		t.Run(f.app+"/"+f.comp.Key, func(t *testing.T) {
			checkPortable(t, tr)
			again, err := Translate(f.comp.ConfigurableProps, Options{App: f.app})
			if err != nil || !bytes.Equal(again.Schema, tr.Schema) {
				t.Errorf("second translation differs: %v", err)
			}
		})
	}
	if n == 0 {
		t.Fatal("no translatable fixture")
	}
}

// checkPortable asserts the rules of the package doc on one translation.
func checkPortable(t *testing.T, tr *Translation) {
	t.Helper()
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(tr.Schema))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("schema is not a JSON object: %v", err)
	}
	if root["type"] != "object" {
		t.Errorf("root type = %v, want object", root["type"])
	}
	props, ok := root["properties"].(map[string]any)
	if !ok {
		t.Fatalf("root has no properties object")
	}
	if root["additionalProperties"] != tr.Dynamic {
		t.Errorf("additionalProperties = %v, want %v (Dynamic)", root["additionalProperties"], tr.Dynamic)
	}
	if p, ok := props[ArgAccountID].(map[string]any); !ok || p["type"] != "string" {
		t.Errorf("reserved argument %s missing or not a string", ArgAccountID)
	}
	// _dynamic_props_id only where there are dependent fields.
	if p, ok := props[ArgDynamicPropsID].(map[string]any); ok != tr.Dynamic || (ok && p["type"] != "string") {
		t.Errorf("reserved argument %s: listed %v, want %v (Dynamic), as a string", ArgDynamicPropsID, ok, tr.Dynamic)
	}
	if req, ok := root["required"].([]any); ok {
		var names []string
		for _, r := range req {
			s, _ := r.(string)
			names = append(names, s)
			if _, ok := props[s]; !ok {
				t.Errorf("required %q is not a property", s)
			}
		}
		if !sort.StringsAreSorted(names) {
			t.Errorf("required is not sorted: %v", names)
		}
	}
	untyped := make(map[string]bool)
	for _, a := range tr.Args {
		if _, known := knownTypes[a.Type]; a.Type == "any" || !known {
			untyped[a.Name] = true
		}
	}
	var walk func(path string, s map[string]any, top bool)
	walk = func(path string, s map[string]any, top bool) {
		for k := range s {
			if !allowedKeywords[k] {
				t.Errorf("%s: keyword %q is not allowed", path, k)
			}
		}
		if p, ok := s["properties"].(map[string]any); ok {
			for name, sub := range p {
				if !validName.MatchString(name) {
					t.Errorf("%s: property name %q does not match %s", path, name, validName)
				}
				m, ok := sub.(map[string]any)
				if !ok {
					t.Errorf("%s.%s: not a schema object", path, name)
					continue
				}
				if _, typed := m["type"]; !typed && !(top && untyped[name]) {
					t.Errorf("%s.%s: property without a type", path, name)
				}
				walk(path+"."+name, m, false)
			}
		}
		if it, ok := s["items"]; ok {
			m, ok := it.(map[string]any)
			if !ok {
				t.Errorf("%s: items is not a schema object", path)
			} else {
				walk(path+"[]", m, false)
			}
		}
	}
	walk("$", root, true)
	if _, err := NewValidator(tr); err != nil {
		t.Errorf("schema does not compile: %v", err)
	}
}
