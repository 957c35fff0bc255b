package tools

// This file serves the open catalog (--app '*'): every app of the Pipedream
// registry, found through the app directory and loaded on first need (a
// search that names it, a describe or a run of one of its tools). No app's
// actions load at start.

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/sync/singleflight"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/tools/search"
)

// Directory is the app directory an open catalog finds apps in;
// *pdclient.Client satisfies it.
type Directory interface {
	AppDirectory(ctx context.Context) ([]pdclient.App, error)
}

// OpenCatalog configures the open catalog: Template is the connection every
// app gets (credentials, OAuth mode, service identity, action filters; its
// App and Name are ignored), IncludeApps and ExcludeApps are globs on app
// slugs.
type OpenCatalog struct {
	Template                 Connection
	IncludeApps, ExcludeApps []string
	Directory                Directory
}

// Bounds of the apps one search loads.
const (
	// appsPerSearch is how many not-yet-loaded apps a search loads before
	// ranking (in parallel).
	appsPerSearch = 3
	// moreApps is how many further matching apps a search names.
	moreApps = 5
	// minAppScore is the share of the best directory match's score another
	// app needs to be loaded or named.
	minAppScore = 0.4
)

// openCatalog is the live state of an open catalog.
type openCatalog struct {
	cfg     OpenCatalog
	log     *slog.Logger
	loading singleflight.Group

	mu   sync.Mutex
	apps map[string]pdclient.App // the directory, by slug (allowed apps only)
	dir  *search.Index           // the directory's apps as documents, for matching queries to apps
}

// allows reports whether the globs let slug through.
func (o *openCatalog) allows(slug string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			if ok, _ := path.Match(g, slug); ok {
				return true
			}
		}
		return false
	}
	if len(o.cfg.IncludeApps) > 0 && !match(o.cfg.IncludeApps) {
		return false
	}
	return !match(o.cfg.ExcludeApps)
}

// directory returns the allowed apps by slug and an index over them, reading
// the app directory (cached by the client) when needed.
func (o *openCatalog) directory(ctx context.Context) (map[string]pdclient.App, *search.Index, error) {
	all, err := o.cfg.Directory.AppDirectory(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read the app directory: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dir != nil && len(all) == len(o.apps) {
		return o.apps, o.dir, nil
	}
	apps := map[string]pdclient.App{}
	docs := make([]search.Doc, 0, len(all))
	for _, a := range all {
		if a.NameSlug == "" || !o.allows(a.NameSlug) {
			continue
		}
		apps[a.NameSlug] = a
		docs = append(docs, search.Doc{
			Tool: a.NameSlug, App: a.NameSlug, AppName: a.Name, Name: a.Name,
			Description: a.Description, PropLabels: a.Categories,
		})
	}
	o.apps, o.dir = apps, search.Build(docs)
	return o.apps, o.dir, nil
}

// prepareSearch loads the apps a search needs before ranking: the app named
// by the filter, or the few best matches of the query's words in the
// directory. It returns further matching apps that are not loaded.
func (o *openCatalog) prepareSearch(ctx context.Context, s *Set, a searchArgs) ([]string, *mcp.CallToolResult) {
	apps, dir, err := o.directory(ctx)
	if err != nil {
		return nil, toolResult(s.failure(ctx, Result{}, err, false), s.opts.ResultLimit)
	}
	if a.App != "" {
		if _, ok := apps[a.App]; !ok {
			near := search.ClosestNames(a.App, slices.Sorted(mapsKeys(apps)), 3)
			return nil, helperError(StatusInvalidArgs, fmt.Sprintf("app: %q is not an app this server reaches", a.App),
				fmt.Sprintf("Pass an app slug such as %s, or leave app out.", strings.Join(near, " or ")))
		}
		if err := s.ensureApp(ctx, a.App); err != nil {
			return nil, toolResult(s.failure(ctx, Result{App: a.App}, err, false), s.opts.ResultLimit)
		}
		return nil, nil
	}
	load, more := o.appsFor(ctx, s, dir, a.Query)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, slug := range load {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ensureApp(ctx, slug); err != nil {
				mu.Lock()
				more = append(more, slug) // not ranked; the agent may retry with app set
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return more, nil
}

// appsFor picks the apps a search loads before ranking and the further
// matching apps it names: the apps the query names ("my trello board"), then
// the best matches of the directory's names, descriptions and categories
// ("our CRM"), the apps the caller has an account for first.
func (o *openCatalog) appsFor(ctx context.Context, s *Set, dir *search.Index, query string) (load, more []string) {
	named := dir.Apps(query)
	var matched []string
	hits := dir.Search(search.Query{Text: query, Limit: appsPerSearch + moreApps})
	for _, h := range hits {
		if h.Score >= minAppScore*hits[0].Score { // drop matches on a common word only
			matched = append(matched, h.Doc.App)
		}
	}
	connected := s.connectedSlugs(ctx, o.cfg.Template)
	byAccount := func(list []string) []string {
		out := slices.Clone(list)
		sort.SliceStable(out, func(i, j int) bool { return connected[out[i]] && !connected[out[j]] })
		return out
	}
	loadFrom := byAccount(append(named, matched...))
	seen := map[string]bool{}
	for _, slug := range loadFrom {
		switch {
		case seen[slug] || s.hasApp(slug):
		case len(load) < appsPerSearch:
			load = append(load, slug)
		case len(more) < moreApps:
			more = append(more, slug)
		}
		seen[slug] = true
	}
	return load, more
}

// connectedSlugs reports the apps the caller has a healthy account for, from
// one (cached) listing of their accounts; empty when that fails.
func (s *Set) connectedSlugs(ctx context.Context, c Connection) map[string]bool {
	out := map[string]bool{}
	user, ok := s.endUser(ctx, c.Admin, c.ServiceUser, nil)
	if !ok || c.Client == nil {
		return out
	}
	accts, err := c.Client.ListAccounts(ctx, user, "")
	if err != nil {
		return out
	}
	for _, ac := range accts {
		if ac.Healthy && !ac.Dead {
			out[ac.AppSlug()] = true
		}
	}
	return out
}

// mapsKeys returns m's keys.
func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// hasApp reports whether a connection serves slug (configured or loaded).
func (s *Set) hasApp(slug string) bool {
	c := s.connFor(slug)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loaded
}

// ensureApp makes the open catalog serve slug: a connection like the
// template, whose catalog it loads now (once; concurrent callers wait for the
// same load). An app already configured is left as it is.
func (s *Set) ensureApp(ctx context.Context, slug string) error {
	_, err, _ := s.open.loading.Do(slug, func() (any, error) {
		c := s.connFor(slug)
		if c == nil {
			apps, _, err := s.open.directory(ctx)
			if err != nil {
				return nil, err
			}
			app, ok := apps[slug]
			if !ok {
				return nil, fmt.Errorf("app %q is not in the app directory", slug)
			}
			c = s.addOpenConn(app)
		}
		c.mu.Lock()
		loaded := c.loaded
		c.mu.Unlock()
		if loaded {
			return nil, nil
		}
		if err := s.loadConn(ctx, c, false); err != nil {
			return nil, err
		}
		s.publishChanged()
		return nil, nil
	})
	return err
}

// connFor returns the connection serving app slug, or nil.
func (s *Set) connFor(slug string) *connState {
	for _, c := range s.conns {
		if c.App == slug {
			return c
		}
	}
	return nil
}

// addOpenConn adds a connection for app, made from the open catalog's
// template, and returns it (or the one a concurrent caller added).
func (s *Set) addOpenConn(app pdclient.App) *connState {
	s.reconf.Lock()
	defer s.reconf.Unlock()
	if c := s.connFor(app.NameSlug); c != nil {
		return c
	}
	conn := s.open.cfg.Template
	conn.App, conn.Name, conn.AppName = app.NameSlug, app.NameSlug, app.Name
	c := &connState{Connection: conn}
	next := append(slices.Clone(s.connStates()), c)
	s.connList.Store(&next)
	s.log.Info("open catalog: serving an app on first need", "app", app.NameSlug)
	return c
}

// openAppOf finds the directory app whose slug prefixes a tool name (the
// longest one), for a tool of an app not loaded yet.
func (o *openCatalog) openAppOf(ctx context.Context, tool string) string {
	apps, _, err := o.directory(ctx)
	if err != nil {
		return ""
	}
	best := ""
	for slug := range apps {
		if strings.HasPrefix(tool, slug+"_") && len(slug) > len(best) {
			best = slug
		}
	}
	return best
}
