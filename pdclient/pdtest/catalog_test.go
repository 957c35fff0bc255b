package pdtest

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// TestCatalogFiles reads the catalog as other packages do: every file's actions
// decode as pdclient.Component, keys are unique, every action has an app prop.
func TestCatalogFiles(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(CatalogFS(), "*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no catalog files: %v", err)
	}
	keys := map[string]string{}
	counts := map[string]int{}
	for _, name := range names {
		b, err := fs.ReadFile(CatalogFS(), name)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			App     pdclient.App         `json:"app"`
			Actions []pdclient.Component `json:"actions"`
		}
		if err := json.Unmarshal(b, &file); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := strings.TrimSuffix(name, ".json"); file.App.NameSlug != want {
			t.Errorf("%s: name_slug %q, want %q", name, file.App.NameSlug, want)
		}
		if file.App.Name == "" || file.App.ID == "" || file.App.AuthType == "" {
			t.Errorf("%s: app lacks name, id or auth_type: %+v", name, file.App)
		}
		counts[file.App.NameSlug] = len(file.Actions)
		for _, c := range file.Actions {
			if prev, dup := keys[c.Key]; dup {
				t.Errorf("action key %q in both %s and %s", c.Key, prev, name)
			}
			keys[c.Key] = name
			if c.Name == "" || c.Version == "" || !c.PropsLoaded || c.PropsError != "" {
				t.Errorf("%s: %s: incomplete component (name %q, version %q, props loaded %v, %s)",
					name, c.Key, c.Name, c.Version, c.PropsLoaded, c.PropsError)
			}
			hasApp := false
			for _, p := range c.ConfigurableProps {
				if p.Type == "app" && p.Name != "" && p.App != "" {
					hasApp = true
				}
				if p.Name == "" && c.Key != "pd_edge-malformed-props" {
					t.Errorf("%s: a prop without a name", c.Key)
				}
			}
			if !hasApp {
				t.Errorf("%s: no app prop", c.Key)
			}
		}
	}
	if counts["hubspot"] <= 100 {
		t.Errorf("hubspot has %d actions, want more than 100 (pagination must matter)", counts["hubspot"])
	}
	for _, slug := range []string{"slack", "google_sheets", "github", "hubspot", "jira", "airtable_oauth", "notion", "gmail", "pd_edge"} {
		if counts[slug] == 0 {
			t.Errorf("app %s missing from the catalog", slug)
		}
	}
}

// TestCatalogEdgeCases checks that pd_edge carries what it promises to other
// packages' tests.
func TestCatalogEdgeCases(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	flags := map[string]bool{}
	var long, unprefixed bool
	for _, a := range cat.apps["pd_edge"].actions {
		rest, ok := strings.CutPrefix(a.key, "pd_edge-")
		long = long || len(rest) > 64
		unprefixed = unprefixed || !ok
		apps := 0
		for _, p := range a.comp.ConfigurableProps {
			types[p.Type] = true
			if p.Type == "app" {
				apps++
			}
			for flag, on := range map[string]bool{"secret": p.Secret, "file-ref": p.Format == "file-ref", "hidden": p.Hidden,
				"disabled": p.Disabled, "readOnly": p.ReadOnly, "withLabel": p.WithLabel, "remoteOptions": p.RemoteOptions,
				"useQuery": p.UseQuery, "reloadProps": p.ReloadProps, "min/max": p.Min != nil && p.Max != nil,
				"underscore": strings.HasPrefix(p.Name, "_"), "default": len(p.Default) > 0} {
				flags[flag] = flags[flag] || on
			}
		}
		flags["two app props"] = flags["two app props"] || apps == 2
	}
	for _, typ := range []string{"string", "string[]", "integer", "integer[]", "boolean", "object", "any", "sql",
		"http_request", "$.airtable.baseId", "$.airtable.tableId", "$.airtable.viewId", "$.airtable.fieldId",
		"$.discord.channel", "$.discord.channel[]", "alert", "dir", "data_store", "$.interface.http",
		"$.interface.timer", "$.service.db", "app", "number", "some_future_type"} {
		if !types[typ] {
			t.Errorf("pd_edge has no prop of type %q", typ)
		}
	}
	for flag, seen := range flags {
		if !seen {
			t.Errorf("pd_edge has no prop with %s", flag)
		}
	}
	if !long || !unprefixed {
		t.Errorf("pd_edge: long key %v, unprefixed key %v", long, unprefixed)
	}
	if cat.actions["pd_edge-foo-bar"] == nil || cat.actions["pd_edge-foo_bar"] == nil {
		t.Error("pd_edge lacks the colliding keys pd_edge-foo-bar and pd_edge-foo_bar")
	}
}

// TestCatalogFakeSpecs checks the fake-only blocks against the actions: remote
// options props have options, dependencies name real props, reload rules add
// named props, and every action has a run behaviour.
func TestCatalogFakeSpecs(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cat.order {
		names := map[string]bool{}
		for _, p := range a.comp.ConfigurableProps {
			names[p.Name] = true
		}
		for _, rule := range a.reload {
			raws := append([]json.RawMessage(nil), rule.Add...)
			if rule.AddByValue != nil {
				raws = append(raws, rule.AddByValue.Default...)
				for _, c := range rule.AddByValue.Cases {
					raws = append(raws, c...)
				}
			}
			for _, raw := range raws {
				var p pdclient.ConfigurableProp
				if err := json.Unmarshal(raw, &p); err != nil || p.Name == "" || p.Type == "" {
					t.Errorf("%s: reload adds a bad prop %s", a.key, raw)
				}
				names[p.Name] = true
				if p.RemoteOptions && a.optionsFor(p.Name) == nil {
					t.Errorf("%s: reloaded remote options prop %q has no options in the fake", a.key, p.Name)
				}
			}
		}
		for _, p := range a.comp.ConfigurableProps {
			if !p.RemoteOptions {
				continue
			}
			spec := a.optionsFor(p.Name)
			if spec == nil {
				t.Errorf("%s: remote options prop %q has no options in the fake", a.key, p.Name)
				continue
			}
			if spec.DependsOn != "" && !names[spec.DependsOn] {
				t.Errorf("%s: options of %q depend on unknown prop %q", a.key, p.Name, spec.DependsOn)
			}
		}
		if a.run == nil {
			t.Errorf("%s: no run behaviour", a.key)
		}
	}
}
