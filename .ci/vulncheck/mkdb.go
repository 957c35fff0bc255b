// Command mkdb lays out the OSV entries of a golang.org/x/vulndb checkout
// (its data/osv directory) as a Go vulnerability database that govulncheck
// reads with -db file://DIR: index/db.json, index/modules.json,
// index/vulns.json and ID/<id>.json, as described at
// https://go.dev/security/vuln/database#api and as x/vulndb's own
// internal/database package writes them (minus the .gz copies, which only
// the HTTP client reads).
//
// Usage: go run . -osv VULNDB/data/osv -out DIR [-modified RFC3339]
//
// -modified is used for index/db.json when no entry carries a modification
// time (the module zip of x/vulndb has no git history to derive it from).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/mod/semver"
)

// entry is the part of an OSV entry that the indexes need.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced,omitempty"`
				Fixed      string `json:"fixed,omitempty"`
			} `json:"events"`
		} `json:"ranges,omitempty"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

func main() {
	osvDir := flag.String("osv", "", "directory of OSV entries (x/vulndb's data/osv)")
	out := flag.String("out", "", "directory to write the database to (must not exist)")
	modified := flag.String("modified", "", "RFC 3339 time for index/db.json if no entry has one")
	flag.Parse()
	if *osvDir == "" || *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*osvDir, *out, *modified); err != nil {
		log.Fatalf("mkdb: %v", err)
	}
}

func run(osvDir, out, modified string) error {
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no OSV entries in %s", osvDir)
	}
	if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "ID"), 0o755); err != nil {
		return err
	}

	var dbModified time.Time
	modules := map[string]*module{}
	var vulns []vuln
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		if e.ID == "" || filepath.Base(f) != e.ID+".json" {
			return fmt.Errorf("%s: entry id %q does not match the file name", f, e.ID)
		}
		if e.Modified.After(dbModified) {
			dbModified = e.Modified
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		seen := map[string]int{} // module path -> index of this entry in its Vulns
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name, Vulns: []moduleVuln{}}
				modules[a.Package.Name] = m
			}
			fixed := ""
			for _, r := range a.Ranges {
				if r.Type != "SEMVER" {
					continue
				}
				// As x/vulndb's osvutils.LatestFixed: the latest fix, unless
				// the vulnerability was reintroduced after it.
				for _, ev := range r.Events {
					if ev.Fixed != "" && before(fixed, ev.Fixed) {
						fixed = ev.Fixed
					}
				}
				for _, ev := range r.Events {
					if ev.Introduced != "" && ev.Introduced != "0" && before(fixed, ev.Introduced) {
						fixed = ""
						break
					}
				}
			}
			// An entry may list a module more than once (say, one block per
			// release branch of the standard library); x/vulndb would index it
			// once per block, and govulncheck would then load the entry, and
			// print its traces, as many times. Index it once, fixed in the
			// latest of the blocks' fixes (none if a block has none).
			if i, ok := seen[a.Package.Name]; ok {
				if v := &m.Vulns[i]; v.Fixed != "" && (fixed == "" || before(v.Fixed, fixed)) {
					v.Fixed = fixed
				}
				continue
			}
			seen[a.Package.Name] = len(m.Vulns)
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: fixed})
		}
		// The entry itself is served as is.
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), b, 0o644); err != nil {
			return err
		}
	}

	if dbModified.IsZero() && modified != "" {
		if dbModified, err = time.Parse(time.RFC3339, modified); err != nil {
			return fmt.Errorf("-modified: %v", err)
		}
	}

	paths := make([]string, 0, len(modules))
	for p := range modules {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	index := make([]*module, 0, len(paths))
	for _, p := range paths {
		m := modules[p]
		sort.SliceStable(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		index = append(index, m)
	}
	sort.Slice(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })

	if err := writeJSON(filepath.Join(out, "index", "db.json"), struct {
		Modified time.Time `json:"modified"`
	}{dbModified}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), index); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "index", "vulns.json"), vulns); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mkdb: %d entries, %d modules, modified %s\n", len(vulns), len(index), dbModified.Format(time.RFC3339))
	return nil
}

// before reports whether v < v2 for unprefixed semantic versions (as x/vulndb's
// version.Before); an empty v sorts before every valid version.
func before(v, v2 string) bool {
	return semver.Compare("v"+v, "v"+v2) < 0
}

func writeJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
