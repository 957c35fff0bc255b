package pdtest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

//go:embed catalog/*.json
var catalogFiles embed.FS

// CatalogFS returns the embedded catalog: one <slug>.json file per app at its root.
// Each file is {"app": App, "actions": [Component...], "fake": {...}}; readers that
// want the API's view ignore "fake".
func CatalogFS() fs.FS {
	sub, err := fs.Sub(catalogFiles, "catalog")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// catalogFile is the on-disk shape of one catalog file.
type catalogFile struct {
	App     json.RawMessage   `json:"app"`
	Actions []json.RawMessage `json:"actions"`
	Fake    fakeSpec          `json:"fake"`
}

// fakeSpec is the fake-only part of a catalog file.
type fakeSpec struct {
	// Options are keyed by prop name, or by "<action key>/<prop name>" for one
	// action only (that form wins).
	Options map[string]*optionSpec `json:"options"`
	// Reload holds the reload-props rules of each action key, applied in order.
	Reload map[string][]reloadRule `json:"reload"`
	// Runs holds the run behaviour of each action key.
	Runs map[string]*runSpec `json:"runs"`
}

// optionSpec describes the remote options of one prop.
type optionSpec struct {
	// Paging is "" (everything on the first call), "page" (the request's 0-based
	// page) or "context" (prev_context.cursor, returned as context).
	Paging   string `json:"paging"`
	PageSize int    `json:"page_size"`
	// StringOptions answers with stringOptions (plain strings) instead of options.
	StringOptions bool `json:"string_options"`
	// DependsOn names a prop that must be configured first; its value (unwrapped
	// from __lv) selects ByValue, and {{prop}} templates in values see it.
	DependsOn string                       `json:"depends_on"`
	ByValue   map[string][]json.RawMessage `json:"by_value"`
	// Values are the options: bare values or {label, value}, with {{prop}}
	// templates.
	Values []json.RawMessage `json:"values"`
}

// reloadRule is one step of reload-props: when the condition holds, props are
// added (replacing a prop of the same name) or un-hidden.
type reloadRule struct {
	When       *condition        `json:"when"`
	Add        []json.RawMessage `json:"add"`
	AddByValue *addByValue       `json:"add_by_value"`
	Unhide     []string          `json:"unhide"`
}

// addByValue adds the props listed under the configured value of Prop.
type addByValue struct {
	Prop    string                       `json:"prop"`
	Cases   map[string][]json.RawMessage `json:"cases"`
	Default []json.RawMessage            `json:"default"`
}

// condition tests one configured prop (its __lv value unwrapped).
type condition struct {
	Prop     string          `json:"prop"`
	Equals   json.RawMessage `json:"equals"`
	Contains string          `json:"contains"`
	Set      bool            `json:"set"`
}

// runSpec is the behaviour of one action on actions/run. Strings in Summary, Ret,
// Item, Error and Exports are templates (see template.go).
type runSpec struct {
	// Kind is one of echo, created, list, error, large, slow (documentation; the
	// fields below drive the behaviour).
	Kind    string          `json:"kind"`
	Summary string          `json:"summary"`
	Ret     json.RawMessage `json:"ret"`
	// Item, with Count (or the number in CountProp, capped by MaxCount), makes
	// {{$items}}: a list of rendered items.
	Item      json.RawMessage `json:"item"`
	Count     int             `json:"count"`
	CountProp string          `json:"count_prop"`
	MaxCount  int             `json:"max_count"`
	// Error makes the run fail with an error observation.
	Error     string `json:"error"`
	ErrorName string `json:"error_name"`
	// Bytes makes ret a list of records of about that many bytes of JSON.
	Bytes int `json:"bytes"`
	// DelayMS, or the number in DelayProp, delays the answer.
	DelayMS   int                        `json:"delay_ms"`
	DelayProp string                     `json:"delay_prop"`
	Exports   map[string]json.RawMessage `json:"exports"`
	// Redact lists props whose values never appear in {{$input}}.
	Redact []string `json:"redact"`
}

// catalog is the parsed embedded catalog; it is immutable once loaded and shared
// by every Fake.
type catalog struct {
	apps    map[string]*catalogApp // by slug and by app ID
	slugs   []string               // sorted
	actions map[string]*catalogAction
	order   []*catalogAction // file order, apps sorted by slug
}

type catalogApp struct {
	slug    string
	raw     json.RawMessage // compact App JSON, served as is
	app     pdclient.App
	actions []*catalogAction
	options map[string]*optionSpec
}

type catalogAction struct {
	app    *catalogApp
	key    string
	raw    json.RawMessage // compact Component JSON, served as is
	slim   json.RawMessage // {name, version, key}: the old docs' list item
	comp   pdclient.Component
	run    *runSpec
	reload []reloadRule
}

// reloads reports whether the component has a prop with reloadProps.
func (a *catalogAction) reloads() bool {
	for _, p := range a.comp.ConfigurableProps {
		if p.ReloadProps {
			return true
		}
	}
	return false
}

// optionsFor returns the option spec of a prop of this action, or nil.
func (a *catalogAction) optionsFor(prop string) *optionSpec {
	if s, ok := a.app.options[a.key+"/"+prop]; ok {
		return s
	}
	return a.app.options[prop]
}

var loadCatalog = sync.OnceValues(func() (*catalog, error) { return parseCatalog(CatalogFS()) })

// parseCatalog reads every <slug>.json at the root of fsys.
func parseCatalog(fsys fs.FS) (*catalog, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	c := &catalog{apps: map[string]*catalogApp{}, actions: map[string]*catalogAction{}}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		app, err := parseCatalogFile(b)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); app.slug != want {
			return nil, fmt.Errorf("catalog %s: app name_slug is %q", name, app.slug)
		}
		if _, dup := c.apps[app.slug]; dup {
			return nil, fmt.Errorf("catalog %s: duplicate app %q", name, app.slug)
		}
		c.apps[app.slug] = app
		if app.app.ID != "" {
			c.apps[app.app.ID] = app
		}
		c.slugs = append(c.slugs, app.slug)
		for _, a := range app.actions {
			if _, dup := c.actions[a.key]; dup {
				return nil, fmt.Errorf("catalog %s: duplicate action key %q", name, a.key)
			}
			c.actions[a.key] = a
			c.order = append(c.order, a)
		}
	}
	return c, nil
}

func parseCatalogFile(b []byte) (*catalogApp, error) {
	var f catalogFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	app := &catalogApp{raw: compact(f.App), options: f.Fake.Options}
	if err := json.Unmarshal(f.App, &app.app); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	app.slug = app.app.NameSlug
	if app.slug == "" {
		return nil, fmt.Errorf("app has no name_slug")
	}
	if app.options == nil {
		app.options = map[string]*optionSpec{}
	}
	keys := map[string]bool{}
	for i, raw := range f.Actions {
		a := &catalogAction{app: app, raw: compact(raw)}
		if err := json.Unmarshal(raw, &a.comp); err != nil {
			return nil, fmt.Errorf("actions[%d]: %w", i, err)
		}
		if a.comp.Key == "" || a.comp.Version == "" || !a.comp.PropsLoaded {
			return nil, fmt.Errorf("actions[%d]: key, version and configurable_props are required", i)
		}
		a.key = a.comp.Key
		keys[a.key] = true
		a.slim, _ = json.Marshal(struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Key     string `json:"key"`
		}{a.comp.Name, a.comp.Version, a.key})
		a.run = f.Fake.Runs[a.key]
		a.reload = f.Fake.Reload[a.key]
		app.actions = append(app.actions, a)
	}
	for k := range f.Fake.Runs {
		if !keys[k] {
			return nil, fmt.Errorf("fake.runs: unknown action %q", k)
		}
	}
	for k := range f.Fake.Reload {
		if !keys[k] {
			return nil, fmt.Errorf("fake.reload: unknown action %q", k)
		}
	}
	for k, s := range app.options {
		if s == nil {
			return nil, fmt.Errorf("fake.options[%q] is null", k)
		}
		switch s.Paging {
		case "", "page", "context":
		default:
			return nil, fmt.Errorf("fake.options[%q]: unknown paging %q", k, s.Paging)
		}
	}
	return app, nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}
