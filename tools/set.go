package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/tools/search"
)

// Connect is what the tools need of a Connect API client; *pdclient.Client
// satisfies it. One client serves one credential set, project and environment.
type Connect interface {
	Environment() string
	ListActions(ctx context.Context, app string, registry pdclient.Registry) ([]pdclient.Component, error)
	RefreshActions(ctx context.Context, app string, registry pdclient.Registry) ([]pdclient.Component, error)
	ConfigureProp(ctx context.Context, req pdclient.ConfigurePropRequest) (*pdclient.ConfigurePropResponse, error)
	ReloadProps(ctx context.Context, req pdclient.ReloadPropsRequest) (*pdclient.ReloadPropsResponse, error)
	RunAction(ctx context.Context, req pdclient.RunActionRequest) (*pdclient.RunActionResponse, error)
	ListAccounts(ctx context.Context, externalUserID, app string) ([]pdclient.Account, error)
	InvalidateAccounts(externalUserID, app string)
	CreateConnectToken(ctx context.Context, req pdclient.ConnectTokenRequest) (*pdclient.ConnectToken, error)
	GetApp(ctx context.Context, slug string) (*pdclient.App, error)
	Proxy(ctx context.Context, req pdclient.ProxyRequest) (*pdclient.ProxyResponse, error)
	DownloadFile(ctx context.Context, s3Key string, limit int64) (*pdclient.StashFile, error)
}

// Connection is one configured app: its tools are named "<Name>_<action>".
type Connection struct {
	Name string // tool prefix, unique
	App  string // app name slug
	// Admin connections always run as ServiceUser; user connections run as the
	// caller.
	Admin       bool
	ServiceUser string
	Include     []string // globs on the full action key; empty = all
	Exclude     []string
	ReadOnly    bool // keep only actions annotated readOnlyHint: true
	// Confirm is the confirmation policy for destructive actions
	// (ConfirmOff, the default, ConfirmAlways or ConfirmIfSupported).
	Confirm string
	// Registry is whose actions are served: pdclient.RegistryAll (default,
	// when ""), RegistryPublic or RegistryPrivate.
	Registry pdclient.Registry
	// Proxy serves the app's API through pipedream_proxy_request, with the
	// methods of ProxyMethods (default GET; only GET when ReadOnly).
	Proxy        bool
	ProxyMethods []string
	Client       Connect
	// AppName is the app's display name (e.g. "Google Sheets") for search;
	// default: the slug with spaces.
	AppName string
}

// CheckRegistry reports whether name is a registry (pdclient.Registries),
// with an error that lists them.
func CheckRegistry(name string) error { return pdclient.CheckRegistry(name) }

// appName is the app's display name.
func (c *Connection) appName() string {
	if c.AppName != "" {
		return c.AppName
	}
	return strings.ReplaceAll(c.App, "_", " ")
}

// Options configure a Set.
type Options struct {
	Connections []Connection
	Workflows   []Workflow
	Logger      *slog.Logger
	// CallTimeout bounds every upstream action run (default 120s).
	CallTimeout time.Duration
	// ConnectWait is how long a call waits for the user to connect a missing
	// account after asking them in the client (URL-mode elicitation; default
	// 5m).
	ConnectWait time.Duration
	// ResultLimit caps the text and ret of a result, in bytes (default 64 KiB).
	ResultLimit int
	// RefreshEvery is how often catalogs are refreshed in the background
	// (default 10m); failed loads are retried sooner, with backoff.
	RefreshEvery time.Duration
	// WebhookURI is given to Connect tokens so Connect reports new accounts
	// ("" when the server has no public URL).
	WebhookURI string
	// Sandbox labels the Connect Links of results as the simulated API's.
	Sandbox bool
	// ToolMode is how actions reach the agent: ToolModeDirect (default),
	// ToolModeCatalog or ToolModeAuto. A session may choose its own
	// (WithToolMode).
	ToolMode string
	// SchemaProfile is the shape of the input schemas tools/list serves:
	// schema.ProfilePortable (default), ProfileOpenAIStrict or ProfileGemini.
	// A session may choose its own (WithSchemaProfile).
	SchemaProfile schema.Profile
	// Open, when set, serves every app of the registry in catalog mode,
	// each loaded on first need (besides Connections).
	Open *OpenCatalog
	// OnChange is called, without locks held, after the tool set changed.
	OnChange func()
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Observer, when set, is told of every tool call and catalog load
	// (metrics; see observe.go).
	Observer Observer
}

// Set is the live tool set of every connection and the helper tools. It is safe
// for concurrent use; handlers read an immutable snapshot.
type Set struct {
	opts Options
	log  *slog.Logger
	// connList holds the connections. Reconfigure replaces the slice as a
	// whole and never changes one in place; read it through conns.
	connList atomic.Pointer[[]*connState]
	flows    []*workflowTool // built by New and Reconfigure; read under rebuild

	open *openCatalog // nil unless Options.Open

	snap    atomic.Pointer[snapshot]
	rebuild sync.Mutex    // serialises snapshot rebuilds
	reconf  sync.Mutex    // serialises Reconfigure
	wake    chan struct{} // tells Run to retry failed loads now

	readyOnce sync.Once
	ready     chan struct{} // closed once every connection loaded once

	stateKey [32]byte // binds elicitation answers to their calls (ask.go)
	spentMu  sync.Mutex
	spent    map[string]time.Time // answered questions, until they expire (ask.go)
	waitMu   sync.Mutex
	waiters  map[string]map[chan struct{}]struct{} // calls waiting for an account, by user and app (ask.go)
}

// connState is a connection with its last good catalog.
type connState struct {
	Connection
	mu       sync.Mutex
	tools    []*actionTool // last good build, sorted by name
	loaded   bool
	lastErr  error
	warnings []string
}

// snapshot is an immutable view of every tool, swapped atomically.
type snapshot struct {
	byName  map[string]*actionTool
	list    []mcpserver.ServerTool
	flowMap map[string]*workflowTool
	index   *search.Index // over byName, for catalog mode and name suggestions
	// profiles caches the tools' input schemas in the schema profiles
	// sessions asked for.
	profiles profileCache
}

// actionTool is one action of one connection, ready to call.
type actionTool struct {
	conn      *connState
	name      string
	component pdclient.Component
	tr        *schema.Translation
	// validator is compiled on the first call: compiling every schema of a
	// large catalog up front costs seconds and most of the memory, and most
	// actions are never called.
	validator func() (*schema.Validator, error)
	tool      mcp.Tool
	// appProp is the app prop _account_id chooses for (the connection's app,
	// or the first app prop when the action has none for it).
	appProp, appPropApp string
}

// New returns a Set with the helper tools and no action tools yet; call Load or
// Run to fetch catalogs.
func New(opts Options) (*Set, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 120 * time.Second
	}
	if opts.ConnectWait <= 0 {
		opts.ConnectWait = 5 * time.Minute
	}
	if opts.ResultLimit <= 0 {
		opts.ResultLimit = 64 << 10
	}
	if opts.RefreshEvery <= 0 {
		opts.RefreshEvery = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ToolMode == "" {
		opts.ToolMode = ToolModeDirect
	}
	if err := CheckToolMode(opts.ToolMode); err != nil {
		return nil, fmt.Errorf("tools: %w", err)
	}
	if opts.SchemaProfile == "" {
		opts.SchemaProfile = schema.ProfilePortable
	}
	if err := schema.CheckProfile(string(opts.SchemaProfile)); err != nil {
		return nil, fmt.Errorf("tools: %w", err)
	}
	s := &Set{opts: opts, log: opts.Logger, ready: make(chan struct{}), wake: make(chan struct{}, 1), stateKey: newStateKey()}
	if opts.Open != nil {
		if opts.Open.Directory == nil {
			return nil, errors.New("tools: the open catalog needs a Directory")
		}
		s.open = &openCatalog{cfg: *opts.Open, log: opts.Logger}
	}
	if err := checkConnections(opts.Connections); err != nil {
		return nil, err
	}
	conns := make([]*connState, len(opts.Connections))
	for i, c := range opts.Connections {
		conns[i] = &connState{Connection: c}
	}
	s.connList.Store(&conns)
	flows, err := s.buildWorkflows(opts.Workflows)
	if err != nil {
		return nil, err
	}
	s.flows = flows
	if len(conns) == 0 {
		s.markReady()
	}
	s.publish()
	return s, nil
}

// Tools returns every tool currently served: helpers, workflows and the actions
// of every loaded connection, sorted by name.
func (s *Set) Tools() []mcpserver.ServerTool {
	return s.observed(slices.Clone(s.snap.Load().list))
}

// Ready reports whether every connection's catalog has loaded at least once.
func (s *Set) Ready() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// WaitReady blocks until every catalog has loaded once, ctx ends, or max passes.
func (s *Set) WaitReady(ctx context.Context, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-s.ready:
	case <-ctx.Done():
	case <-t.C:
	}
}

func (s *Set) markReady() { s.readyOnce.Do(func() { close(s.ready) }) }

// Load fetches every connection's catalog concurrently and publishes the tools
// in one batch. It returns the failures joined; connections that loaded serve.
func (s *Set) Load(ctx context.Context) error {
	return s.loadAll(ctx, false)
}

func (s *Set) loadAll(ctx context.Context, refresh bool) error {
	var wg sync.WaitGroup
	conns := s.connStates()
	errs := make([]error, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.loadConn(ctx, c, refresh)
		}()
	}
	wg.Wait()
	// Publish before marking ready: a tools/list waiting for readiness must
	// find the new tools registered.
	s.publishChanged()
	s.maybeReady()
	return errors.Join(errs...)
}

func (s *Set) maybeReady() {
	for _, c := range s.conns {
		c.mu.Lock()
		loaded := c.loaded
		c.mu.Unlock()
		if !loaded {
			return
		}
	}
	s.markReady()
}

// loadConn fetches and builds one connection's tools; on failure the last good
// tools stay.
func (s *Set) loadConn(ctx context.Context, c *connState, refresh bool) error {
	start := time.Now()
	var comps []pdclient.Component
	var err error
	if refresh {
		comps, err = c.Client.RefreshActions(ctx, c.App, c.Registry)
	} else {
		comps, err = c.Client.ListActions(ctx, c.App, c.Registry)
	}
	if err != nil {
		err = fmt.Errorf("connection %q: load %s actions: %w", c.Name, c.App, err)
		if ctx.Err() != nil {
			// The server is stopping: nothing failed, and nothing is logged
			// as a failure.
			s.log.Debug("catalog load stopped: the server is stopping", "connection", c.Name, "app", c.App)
			return err
		}
		c.mu.Lock()
		c.lastErr = err
		had := c.loaded
		c.mu.Unlock()
		if had {
			s.log.Warn("catalog load failed; serving the last good catalog", "connection", c.Name, "app", c.App, "err", err)
		} else {
			s.log.Warn("catalog load failed; retrying in the background", "connection", c.Name, "app", c.App, "err", err)
		}
		s.observeLoad(c.Name, false)
		return err
	}
	built, warnings := s.build(c, comps)
	for _, w := range warnings {
		s.log.Warn(w, "connection", c.Name, "app", c.App)
	}
	c.mu.Lock()
	c.tools, c.loaded, c.lastErr, c.warnings = built, true, nil, warnings
	c.mu.Unlock()
	s.log.Info("catalog loaded", "connection", c.Name, "app", c.App, "actions", len(comps), "tools", len(built), "duration", time.Since(start).Round(time.Millisecond))
	s.observeLoad(c.Name, true)
	return nil
}

// Run loads every catalog (if Load was not called) and then keeps them fresh:
// failed connections are retried with backoff, loaded ones refreshed every
// RefreshEvery. Tool changes are published in one batch per round. It returns
// when ctx ends.
func (s *Set) Run(ctx context.Context) {
	if !s.Ready() {
		_ = s.loadAll(ctx, false)
	}
	retry := time.Second
	lastRefresh := time.Now()
	for {
		wait := s.opts.RefreshEvery - time.Since(lastRefresh)
		failed := s.failedConns()
		if len(failed) > 0 && retry < wait {
			wait = retry
		}
		if wait < 0 {
			wait = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
		case <-t.C:
		}
		if time.Since(lastRefresh) >= s.opts.RefreshEvery {
			lastRefresh = time.Now()
			_ = s.loadAll(ctx, true)
			continue
		}
		var wg sync.WaitGroup
		for _, c := range failed {
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.loadConn(ctx, c, false) }()
		}
		wg.Wait()
		s.publishChanged()
		s.maybeReady()
		if len(s.failedConns()) > 0 {
			retry = min(retry*2, time.Minute)
		} else {
			retry = time.Second
		}
	}
}

func (s *Set) failedConns() []*connState {
	var out []*connState
	for _, c := range s.conns {
		c.mu.Lock()
		if c.lastErr != nil || !c.loaded {
			out = append(out, c)
		}
		c.mu.Unlock()
	}
	return out
}

// ConnectionStatus is what Status reports per connection.
type ConnectionStatus struct {
	Name, App string
	Loaded    bool
	Tools     int
	Err       error
	Warnings  []string
}

// Status reports every connection's catalog state.
func (s *Set) Status() []ConnectionStatus {
	conns := s.connStates()
	out := make([]ConnectionStatus, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		out = append(out, ConnectionStatus{Name: c.Name, App: c.App, Loaded: c.loaded, Tools: len(c.tools), Err: c.lastErr, Warnings: slices.Clone(c.warnings)})
		c.mu.Unlock()
	}
	return out
}

// publishChanged rebuilds the snapshot and calls OnChange when the served tool
// definitions differ from the previous ones.
func (s *Set) publishChanged() {
	if s.publish() && s.opts.OnChange != nil {
		s.opts.OnChange()
	}
}

// publish rebuilds the snapshot; it reports whether the tool list changed.
func (s *Set) publish() bool {
	s.rebuild.Lock()
	defer s.rebuild.Unlock()
	next := &snapshot{byName: map[string]*actionTool{}, flowMap: map[string]*workflowTool{}}
	next.list = append(next.list, s.helperTools()...)
	next.list = append(next.list, s.catalogTools()...)
	taken := map[string]bool{}
	for _, t := range next.list {
		taken[t.Tool.Name] = true
	}
	for _, w := range s.workflowTools() {
		if taken[w.tool.Name] {
			s.log.Warn("workflow tool name already used; left out", "tool", w.tool.Name)
			continue
		}
		taken[w.tool.Name] = true
		next.flowMap[w.tool.Name] = w
		next.list = append(next.list, mcpserver.ServerTool{Tool: w.tool, Handler: s.withArgsBack(nil, s.dispatch(w.tool.Name))})
	}
	for _, c := range s.conns {
		c.mu.Lock()
		tools := c.tools
		c.mu.Unlock()
		for _, t := range tools {
			if taken[t.name] {
				s.log.Warn("tool name already used by another connection; left out", "tool", t.name, "connection", c.Name)
				continue
			}
			taken[t.name] = true
			next.byName[t.name] = t
			next.list = append(next.list, mcpserver.ServerTool{Tool: t.tool, Handler: s.withArgsBack(nil, s.dispatch(t.name))})
		}
	}
	sort.Slice(next.list, func(i, j int) bool { return next.list[i].Tool.Name < next.list[j].Tool.Name })
	next.index = search.Build(searchDocs(next.byName))
	prev := s.snap.Swap(next)
	return prev == nil || !sameTools(prev.list, next.list)
}

func sameTools(a, b []mcpserver.ServerTool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		ja, _ := json.Marshal(a[i].Tool)
		jb, _ := json.Marshal(b[i].Tool)
		if string(ja) != string(jb) {
			return false
		}
	}
	return true
}

// build turns one connection's components into tools. Actions that cannot be
// translated are left out and named in a warning; the others serve.
func (s *Set) build(c *connState, comps []pdclient.Component) ([]*actionTool, []string) {
	var warnings []string
	var keep []pdclient.Component
	seenKey := map[string]bool{}
	for _, comp := range comps {
		if comp.Key == "" || seenKey[comp.Key] {
			continue
		}
		seenKey[comp.Key] = true
		if !c.selects(comp) {
			continue
		}
		keep = append(keep, comp)
	}
	sort.Slice(keep, func(i, j int) bool { return keep[i].Key < keep[j].Key })
	keys := make([]string, len(keep))
	for i, comp := range keep {
		keys[i] = comp.Key
	}
	taken := map[string]bool{}
	for _, n := range append(slices.Clone(helperNames), catalogNames...) {
		taken[n] = true // IsHelper
	}
	names := assignToolNames(c.Name, c.App, keys, taken)
	out := make([]*actionTool, 0, len(keep))
	for _, comp := range keep {
		t, err := s.buildTool(c, comp, names[comp.Key])
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("action %s left out: %v", comp.Key, err))
			continue
		}
		if len(t.tr.Unknown) > 0 {
			s.log.Info("props of unknown type are accepted as free values", "connection", c.Name, "action", comp.Key, "props", strings.Join(t.tr.Unknown, ","))
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, warnings
}

// selects applies the include/exclude globs and the read-only switch.
func (c *Connection) selects(comp pdclient.Component) bool {
	if c.ReadOnly && (comp.Annotations == nil || comp.Annotations.ReadOnlyHint == nil || !*comp.Annotations.ReadOnlyHint) {
		return false
	}
	if len(c.Include) > 0 && !matchAny(c.Include, comp.Key) {
		return false
	}
	return !matchAny(c.Exclude, comp.Key)
}

func matchAny(globs []string, key string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, key); ok {
			return true
		}
	}
	return false
}

func (s *Set) buildTool(c *connState, comp pdclient.Component, name string) (t *actionTool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the tool panicked: %v", r)
		}
	}()
	if comp.PropsError != "" {
		return nil, errors.New(comp.PropsError)
	}
	if !ValidToolName(name) {
		return nil, fmt.Errorf("tool name %q is not valid", name)
	}
	tr, err := schema.Translate(comp.ConfigurableProps, schema.Options{App: c.App, Stash: comp.Stash})
	if err != nil {
		return nil, err
	}
	appProp, appPropApp := tr.AppProp, c.App
	if appProp == "" {
		if len(tr.AppProps) == 0 {
			return nil, errors.New("it has no app prop")
		}
		// Only app props of other apps: run with the caller's account of the first.
		appProp, appPropApp = tr.AppProps[0].Name, tr.AppProps[0].App
	}
	v := sync.OnceValues(func() (*schema.Validator, error) { return schema.NewValidator(tr) })
	tool := mcp.NewToolWithRawSchema(name, actionDescription(comp, tr), tr.Schema)
	tool.Annotations = annotations(comp)
	if _, err := json.Marshal(tool); err != nil {
		return nil, fmt.Errorf("its definition does not encode: %w", err)
	}
	if err := mcp.ValidateParamHeaderAnnotations(&tool); err != nil {
		return nil, err
	}
	return &actionTool{conn: c, name: name, component: comp, tr: tr, validator: v, tool: tool, appProp: appProp, appPropApp: appPropApp}, nil
}

// annotations are the tool's title and the component's hints. A hint that
// only repeats what MCP says a missing hint means (readOnlyHint false,
// idempotentHint false, openWorldHint true) is left out; destructiveHint is
// always kept as the component gives it, so a host never has to fall back on
// a default to know a tool changes nothing destructively.
func annotations(comp pdclient.Component) mcp.ToolAnnotation {
	a := mcp.ToolAnnotation{Title: comp.Name}
	if an := comp.Annotations; an != nil {
		if an.Title != "" {
			a.Title = an.Title
		}
		a.ReadOnlyHint = unlessDefault(an.ReadOnlyHint, false)
		a.DestructiveHint = an.DestructiveHint
		a.IdempotentHint = unlessDefault(an.IdempotentHint, false)
		a.OpenWorldHint = unlessDefault(an.OpenWorldHint, true)
	}
	return a
}

// unlessDefault is hint, or nil when it says what a missing hint means.
func unlessDefault(hint *bool, def bool) *bool {
	if hint != nil && *hint == def {
		return nil
	}
	return hint
}

// docsLink is a link to the app's API documentation ("[See the
// documentation](https://...)"), which Pipedream's action descriptions end
// with for people reading the component; an agent calling the tool has no use
// for it, and it costs tokens in every turn.
var docsLink = regexp.MustCompile(`(?i)\s*\[\s*see\b[^\[\]]*\b(?:docs?|documentation)\b[^\[\]]*\]\([^()\s]*\)\.?`)

// actionDescription is the action's description followed by what an agent must
// know to call it that no property says: that fields appear once others are set
// (when no visible field says it), and the alert texts. The options and
// dependent-field hints sit in the properties, and _account_id is explained
// once, in the server's instructions (DESIGN.md "Tool definitions stay lean").
func actionDescription(comp pdclient.Component, tr *schema.Translation) string {
	desc := strings.TrimSpace(docsLink.ReplaceAllString(comp.Description, ""))
	if desc == "" {
		desc = comp.Name
	}
	if comp.Private {
		desc = privateMark + desc
	}
	var notes strings.Builder
	if tr.Dynamic && !slices.ContainsFunc(tr.Args, func(a schema.Arg) bool { return a.ReloadProps }) {
		notes.WriteString("\n\nSome fields appear only once others are set: call pipedream_describe to see them.")
	}
	for _, al := range tr.Alerts {
		notes.WriteString("\n\nNote: ")
		notes.WriteString(al)
	}
	return fitDescription(desc, notes.String(), maxToolDescription)
}

// privateMark begins the description of the workspace's own (private)
// actions.
const privateMark = "[Private action, published by this workspace] "

// maxToolDescription is the longest tool description OpenAI function calling
// accepts (1024 characters); other hosts accept more.
const maxToolDescription = 1024

// fitDescription joins the action's description and the notes an agent needs,
// within max characters: the description is cut first (on a word, with "…"),
// then the notes.
func fitDescription(desc, notes string, max int) string {
	if utf8.RuneCountInString(desc)+utf8.RuneCountInString(notes) <= max {
		return desc + notes
	}
	room := max - utf8.RuneCountInString(notes) - 1
	if room < 80 {
		room = 80
	}
	r := []rune(desc)
	if len(r) > room {
		cut := string(r[:room])
		if i := strings.LastIndexAny(cut, " \n"); i > room/2 {
			cut = cut[:i]
		}
		desc = strings.TrimRight(cut, " \n.,;:") + "…"
	}
	out := []rune(desc + notes)
	if len(out) > max {
		out = append(out[:max-1], '…')
	}
	return string(out)
}
