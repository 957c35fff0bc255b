package tools_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// countingClient is a Connect client that counts the actions it ran, to tell
// which client a call went through.
type countingClient struct {
	*pdclient.Client
	runs atomic.Int32
}

func (c *countingClient) RunAction(ctx context.Context, req pdclient.RunActionRequest) (*pdclient.RunActionResponse, error) {
	c.runs.Add(1)
	return c.Client.RunAction(ctx, req)
}

// reconfFixture is a tool set over the sandbox fake whose OnChange calls are
// counted.
type reconfFixture struct {
	fake    *pdtest.Fake
	url     string
	set     *tools.Set
	changes atomic.Int32
}

func newReconfFixture(t *testing.T, conns ...tools.Connection) *reconfFixture {
	t.Helper()
	f := &reconfFixture{fake: pdtest.NewSandbox()}
	srv := httptest.NewServer(f.fake)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	set, err := tools.New(tools.Options{Connections: conns, OnChange: func() { f.changes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	f.set = set
	return f
}

// client returns a new sandbox client with its own token and caches.
func (f *reconfFixture) client(t *testing.T) *countingClient {
	t.Helper()
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret,
		ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment,
		BaseURL: f.url, Version: "test",
	}, pdclient.WithRetry(pdclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return &countingClient{Client: cl}
}

func (f *reconfFixture) names() []string {
	var out []string
	for _, st := range f.set.Tools() {
		out = append(out, st.Tool.Name)
	}
	return out
}

func (f *reconfFixture) call(t *testing.T, ctx context.Context, name, args string) map[string]any {
	t.Helper()
	h := &harness{fake: f.fake, set: f.set}
	sc, _ := h.call(t, ctx, pdtest.DemoUser, name, args)
	return sc
}

// handlerOf returns the handler the set gives for a tool, as an MCP server
// registers it.
func handlerOf(t *testing.T, set *tools.Set, name string) mcpserver.ToolHandlerFunc {
	t.Helper()
	for _, st := range set.Tools() {
		if st.Tool.Name == name {
			return st.Handler
		}
	}
	t.Fatalf("no tool %s", name)
	return nil
}

func callHandler(t *testing.T, h mcpserver.ToolHandlerFunc, args string) *mcp.CallToolResult {
	req := mcp.CallToolRequest{}
	req.Params.RawArguments = json.RawMessage(args)
	res, err := h(tools.WithUser(t.Context(), pdtest.DemoUser), req)
	if err != nil {
		t.Errorf("handler returned a Go error: %v", err)
		return mcp.NewToolResultError(err.Error())
	}
	return res
}

func hasPrefix(names []string, prefix string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
}

func TestReconfigureAddsAndRemovesInOneBatch(t *testing.T) {
	t.Parallel()
	f := newReconfFixture(t)
	cl := f.client(t)
	gh := tools.Connection{Name: "gh", App: "github", Client: cl}
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{gh}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.Load(); got != 1 {
		t.Fatalf("adding a connection: OnChange ran %d times, want 1", got)
	}
	if !hasPrefix(f.names(), "gh_") || !f.set.HasConnection("gh") {
		t.Fatalf("the added connection's tools are missing: %v", f.names())
	}
	catalogReads := f.fake.Count(pdtest.EndpointActions)

	// Add two more and keep gh: one change, and gh's catalog is not read again.
	sl := tools.Connection{Name: "sl", App: "slack", Client: cl}
	no := tools.Connection{Name: "no", App: "notion", Client: cl}
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{gh, sl, no}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.Load(); got != 2 {
		t.Errorf("adding two connections: OnChange ran %d times in all, want 2", got)
	}
	names := f.names()
	if !hasPrefix(names, "gh_") || !hasPrefix(names, "sl_") || !hasPrefix(names, "no_") {
		t.Errorf("tools after adding two: %v", names)
	}
	if got := f.fake.Count(pdtest.EndpointActions) - catalogReads; got != 2*listingsPerApp {
		t.Errorf("catalog list requests = %d, want %d (only the new apps; gh kept its catalog)", got, 2*listingsPerApp)
	}

	// Remove two: one change, their tools and endpoints are gone.
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{sl}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.Load(); got != 3 {
		t.Errorf("removing two connections: OnChange ran %d times in all, want 3", got)
	}
	names = f.names()
	if hasPrefix(names, "gh_") || hasPrefix(names, "no_") || !hasPrefix(names, "sl_") || f.set.HasConnection("gh") {
		t.Errorf("tools after removing gh and no: %v", names)
	}

	// The same configuration again changes nothing.
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{sl}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.Load(); got != 3 {
		t.Errorf("an unchanged configuration ran OnChange (%d in all, want 3)", got)
	}

	// Workflows come and go the same way.
	flows := []tools.Workflow{{Name: "nightly_report", URL: "https://en123abc.m.pipedream.net", Auth: tools.WorkflowAuthNone}}
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{sl}, flows); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.Load(); got != 4 || !slices.Contains(f.names(), "nightly_report") {
		t.Errorf("adding a workflow: OnChange ran %d times in all (want 4), tools %v", got, f.names())
	}
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{sl}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.Load(); got != 5 || slices.Contains(f.names(), "nightly_report") {
		t.Errorf("removing a workflow: OnChange ran %d times in all (want 5), tools %v", got, f.names())
	}
}

func TestReconfigureInvalidChangesNothing(t *testing.T) {
	t.Parallel()
	f := newReconfFixture(t)
	cl := f.client(t)
	gh := tools.Connection{Name: "gh", App: "github", Client: cl}
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{gh}, nil); err != nil {
		t.Fatal(err)
	}
	before, changes := f.names(), f.changes.Load()
	for name, conns := range map[string][]tools.Connection{
		"name used twice": {gh, {Name: "gh", App: "slack", Client: cl}},
		"no client":       {{Name: "sl", App: "slack"}},
		"no app":          {{Name: "sl", Client: cl}},
	} {
		if err := f.set.Reconfigure(t.Context(), conns, nil); err == nil {
			t.Errorf("%s: Reconfigure accepted it", name)
		}
	}
	flows := []tools.Workflow{{Name: "pipedream_describe", URL: "https://en123.m.pipedream.net", Auth: "none"}}
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{{Name: "sl", App: "slack", Client: cl}}, flows); err == nil {
		t.Error("a workflow named like a helper tool was accepted")
	}
	if got := f.names(); !slices.Equal(got, before) || f.changes.Load() != changes || f.set.HasConnection("sl") {
		t.Errorf("a refused Reconfigure changed the tools: %v, want %v", got, before)
	}
}

// TestReconfigureNewClient is a credential rotation: the same connection with
// a new client. The tool list does not change, so there is no notification and
// the MCP server keeps the handlers it registered before; calls in flight
// finish with the old client, and later calls through those same handlers use
// the new one.
func TestReconfigureNewClient(t *testing.T) {
	t.Parallel()
	f := newReconfFixture(t)
	oldCl, newCl := f.client(t), f.client(t)
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{{Name: "github", App: "github", Client: oldCl}}, nil); err != nil {
		t.Fatal(err)
	}
	changes := f.changes.Load()
	const args = `{"repoFullname":"octo/hello"}`
	registered := handlerOf(t, f.set, "github_get_repository")

	f.fake.SetRunDelay(300 * time.Millisecond)
	var wg sync.WaitGroup
	var inflight *mcp.CallToolResult
	wg.Go(func() { inflight = callHandler(t, registered, args) })
	deadline := time.Now().Add(5 * time.Second)
	for oldCl.runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{{Name: "github", App: "github", Client: newCl}}, nil); err != nil {
		t.Fatal(err)
	}
	f.fake.SetRunDelay(0)
	after := callHandler(t, registered, args)
	wg.Wait()

	if inflight.IsError || after.IsError {
		t.Errorf("calls across the switch failed: in flight %s; after %s", text(inflight), text(after))
	}
	if o, n := oldCl.runs.Load(), newCl.runs.Load(); o != 1 || n != 1 {
		t.Errorf("runs through the old client = %d, the new one = %d; want 1 and 1", o, n)
	}
	if got := f.changes.Load(); got != changes {
		t.Errorf("a new client with the same tools ran OnChange %d times, want 0", got-changes)
	}
}

// TestReconfigureKeepsToolsWhenTheAPIFails: a changed connection whose catalog
// cannot be loaded serves its previous actions through the new client, and is
// retried at once, not at the next refresh.
func TestReconfigureKeepsToolsWhenTheAPIFails(t *testing.T) {
	t.Parallel()
	f := newReconfFixture(t)
	oldCl, newCl := f.client(t), f.client(t)
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{{Name: "github", App: "github", Client: oldCl}}, nil); err != nil {
		t.Fatal(err)
	}
	// Run now waits for the next refresh, ten minutes away.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.set.Run(ctx)

	before, changes := f.names(), f.changes.Load()
	f.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointActions, Status: 503})
	if err := f.set.Reconfigure(t.Context(), []tools.Connection{{Name: "github", App: "github", Client: newCl}}, nil); err != nil {
		t.Fatal(err)
	}
	if !failing(f.set) {
		t.Error("the failed load is not recorded, so it would not be retried")
	}
	f.fake.ClearFaults()
	if got := f.names(); !slices.Equal(got, before) || f.changes.Load() != changes {
		t.Fatalf("tools changed while the catalog could not be loaded: %v, want %v", got, before)
	}
	if sc := f.call(t, t.Context(), "github_get_repository", `{"repoFullname":"octo/hello"}`); sc["status"] != "success" {
		t.Errorf("call after the failed load: %v", sc)
	}
	if oldCl.runs.Load() != 0 || newCl.runs.Load() != 1 {
		t.Errorf("runs: old client %d, new client %d; want 0 and 1", oldCl.runs.Load(), newCl.runs.Load())
	}

	deadline := time.Now().Add(5 * time.Second)
	for failing(f.set) {
		if time.Now().After(deadline) {
			t.Fatal("the failed catalog load was not retried within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func failing(set *tools.Set) bool {
	for _, s := range set.Status() {
		if s.Err != nil {
			return true
		}
	}
	return false
}

// TestReconfigureProxy checks that turning a connection's proxy on, changing
// its methods and turning it off each change the tool list once: the proxy
// tool appears, its annotations follow the methods, and it goes away.
func TestReconfigureProxy(t *testing.T) {
	t.Parallel()
	f := newReconfFixture(t)
	cl := f.client(t)
	steps := []struct {
		name     string
		conn     tools.Connection
		listed   bool
		readOnly bool
	}{
		{"off", tools.Connection{Name: "gh", App: "github", Client: cl}, false, false},
		{"GET", tools.Connection{Name: "gh", App: "github", Client: cl, Proxy: true}, true, true},
		{"GET and POST", tools.Connection{Name: "gh", App: "github", Client: cl, Proxy: true, ProxyMethods: []string{"GET", "POST"}}, true, false},
		{"read-only", tools.Connection{Name: "gh", App: "github", Client: cl, Proxy: true, ProxyMethods: []string{"GET", "POST"}, ReadOnly: true}, true, true},
		{"off again", tools.Connection{Name: "gh", App: "github", Client: cl}, false, false},
	}
	for i, st := range steps {
		if err := f.set.Reconfigure(t.Context(), []tools.Connection{st.conn}, nil); err != nil {
			t.Fatal(err)
		}
		if got := f.changes.Load(); got != int32(i+1) {
			t.Errorf("%s: OnChange ran %d times in all, want %d", st.name, got, i+1)
		}
		var proxy *mcp.Tool
		for _, tl := range f.set.Tools() {
			if tl.Tool.Name == tools.ToolProxyRequest {
				proxy = &tl.Tool
			}
		}
		if (proxy != nil) != st.listed {
			t.Fatalf("%s: proxy tool listed = %v, want %v", st.name, proxy != nil, st.listed)
		}
		if proxy != nil {
			ro := proxy.Annotations.ReadOnlyHint != nil && *proxy.Annotations.ReadOnlyHint
			if ro != st.readOnly {
				t.Errorf("%s: readOnlyHint = %v, want %v", st.name, ro, st.readOnly)
			}
		}
	}
}
