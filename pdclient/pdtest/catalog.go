package pdtest

// This file owns the embedded catalog: the shape of a catalog file (the API's
// app and actions, and the fake-only spec of options, reload rules and run
// behaviours) and its parsing into the immutable catalog every Fake shares.

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

//go:embed catalog/*.json catalog/extra/*.json
var catalogFiles embed.FS

// CatalogFS returns the embedded catalog: one <slug>.json file per app, the
// sandbox's default apps at its root and the rest of the catalog (served by
// the same fake, reached by naming apps or with the open catalog) under extra/.
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
	// Private lists the actions of the workspace's own (private) registry;
	// the others are public.
	Private []string `json:"private"`
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
	// Files are written to the File Stash when the run has a stash_id.
	Files []fileSpec `json:"files"`
}

// catalog is the parsed embedded catalog; it is immutable once loaded and shared
// by every Fake.
type catalog struct {
	apps     map[string]*catalogApp // by slug and by app ID
	slugs    []string               // every app, sorted
	defaults []string               // the apps at the root of the catalog, sorted
	actions  map[string]*catalogAction
	order    []*catalogAction // file order, apps sorted by slug
}

type catalogApp struct {
	slug    string
	raw     json.RawMessage // compact App JSON, served as is
	app     pdclient.App
	actions []*catalogAction
	options map[string]*optionSpec
}

type catalogAction struct {
	app     *catalogApp
	key     string
	raw     json.RawMessage // compact Component JSON, served as is
	slim    json.RawMessage // {name, version, key}: the old docs' list item
	comp    pdclient.Component
	run     *runSpec
	reload  []reloadRule
	private bool // in the workspace's private registry
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

// parseCatalog reads every <slug>.json at the root of fsys (the default
// apps) and under extra/.
func parseCatalog(fsys fs.FS) (*catalog, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	extra, err := fs.Glob(fsys, "extra/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	sort.Strings(extra)
	defaults := len(names)
	names = append(names, extra...)
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
		if len(c.slugs) <= defaults {
			c.defaults = append(c.defaults, app.slug)
		}
		for _, a := range app.actions {
			if _, dup := c.actions[a.key]; dup {
				return nil, fmt.Errorf("catalog %s: duplicate action key %q", name, a.key)
			}
			c.actions[a.key] = a
			c.order = append(c.order, a)
		}
	}
	sort.Strings(c.slugs)
	return c, nil
}

// parseCatalogFile parses one catalog file: the app, its actions, and the fake
// spec, which may only name the file's own actions.
func parseCatalogFile(b []byte) (*catalogApp, error) {
	var f catalogFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	app, err := parseCatalogApp(f.App, f.Fake.Options)
	if err != nil {
		return nil, err
	}
	for i, raw := range f.Actions {
		a, err := parseCatalogAction(app, raw, f.Fake)
		if err != nil {
			return nil, fmt.Errorf("actions[%d]: %w", i, err)
		}
		app.actions = append(app.actions, a)
	}
	if err := checkFakeSpec(app, f.Fake); err != nil {
		return nil, err
	}
	return app, nil
}

// parseCatalogApp parses the "app" of a catalog file, with its options spec.
func parseCatalogApp(raw json.RawMessage, options map[string]*optionSpec) (*catalogApp, error) {
	app := &catalogApp{raw: compact(raw), options: options}
	if err := json.Unmarshal(raw, &app.app); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	app.slug = app.app.NameSlug
	if app.slug == "" {
		return nil, fmt.Errorf("app has no name_slug")
	}
	if app.options == nil {
		app.options = map[string]*optionSpec{}
	}
	return app, nil
}

// parseCatalogAction parses one action of app, with its run and reload specs.
func parseCatalogAction(app *catalogApp, raw json.RawMessage, spec fakeSpec) (*catalogAction, error) {
	a := &catalogAction{app: app, raw: compact(raw)}
	if err := json.Unmarshal(raw, &a.comp); err != nil {
		return nil, err
	}
	if a.comp.Key == "" || a.comp.Version == "" || !a.comp.PropsLoaded {
		return nil, fmt.Errorf("key, version and configurable_props are required")
	}
	a.key = a.comp.Key
	a.slim, _ = json.Marshal(struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
	}{a.comp.Name, a.comp.Version, a.key})
	a.run = spec.Runs[a.key]
	a.reload = spec.Reload[a.key]
	a.private = slices.Contains(spec.Private, a.key)
	return a, nil
}

// checkFakeSpec checks that the runs and reload rules name actions of app and
// that every options spec is set, with a known paging.
func checkFakeSpec(app *catalogApp, spec fakeSpec) error {
	keys := map[string]bool{}
	for _, a := range app.actions {
		keys[a.key] = true
	}
	for k := range spec.Runs {
		if !keys[k] {
			return fmt.Errorf("fake.runs: unknown action %q", k)
		}
	}
	for k := range spec.Reload {
		if !keys[k] {
			return fmt.Errorf("fake.reload: unknown action %q", k)
		}
	}
	for _, k := range spec.Private {
		if !keys[k] {
			return fmt.Errorf("fake.private: unknown action %q", k)
		}
	}
	for k, r := range spec.Runs {
		for _, f := range r.Files {
			if _, err := base64.StdEncoding.DecodeString(f.Base64); err != nil || f.Path == "" {
				return fmt.Errorf("fake.runs[%q].files: %q needs a path and valid base64", k, f.Path)
			}
		}
	}
	for k, s := range app.options {
		if s == nil {
			return fmt.Errorf("fake.options[%q] is null", k)
		}
		switch s.Paging {
		case "", "page", "context":
		default:
			return fmt.Errorf("fake.options[%q]: unknown paging %q", k, s.Paging)
		}
	}
	return nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}
