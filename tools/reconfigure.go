package tools

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// Reconfigure replaces the connections and workflows with conns and flows in
// one batch (a configuration reload). A connection whose settings and client
// are unchanged keeps its state and catalog. A new or changed connection (a
// new client stands for new credentials) gets fresh state, and its catalog is
// loaded before anything is published, so the tool list changes once and
// OnChange runs at most once. A call in flight finishes with the tool, and so
// the client, it started with; calls that start after the swap use the new
// ones.
//
// A changed connection whose catalog cannot be loaded now (the API is down)
// serves the actions it served before, with its new settings and client, and
// is retried in the background like a failed start; a new connection that
// cannot be loaded gets its tools once it loads. Invalid input (a connection
// without a name, app or client, a name used twice, a workflow that does not
// check) is an error and changes nothing. ctx bounds the catalog loads.
func (s *Set) Reconfigure(ctx context.Context, conns []Connection, flows []Workflow) error {
	if err := checkConnections(conns); err != nil {
		return err
	}
	builtFlows, err := s.buildWorkflows(flows)
	if err != nil {
		return err
	}

	s.reconf.Lock()
	defer s.reconf.Unlock()

	prev := map[string]*connState{}
	for _, c := range s.conns {
		prev[c.Name] = c
	}
	next := make([]*connState, len(conns))
	type load struct{ c, old *connState }
	var fresh []load
	var added, changed []string
	for i, c := range conns {
		old := prev[c.Name]
		delete(prev, c.Name)
		switch {
		case old != nil && sameConnection(old.Connection, c):
			next[i] = old
			continue
		case old != nil:
			changed = append(changed, c.Name)
		default:
			added = append(added, c.Name)
		}
		next[i] = &connState{Connection: c}
		fresh = append(fresh, load{next[i], old})
	}
	var removed []string
	for name := range prev {
		removed = append(removed, name)
	}
	slices.Sort(removed)

	var wg sync.WaitGroup
	failed := make([]bool, len(fresh))
	for i, l := range fresh {
		wg.Go(func() {
			if err := s.loadConn(ctx, l.c, false); err != nil {
				failed[i] = true
				s.keepPrevious(l.c, l.old)
			}
		})
	}
	wg.Wait()

	s.rebuild.Lock()
	s.connList.Store(&next)
	s.flows = builtFlows
	s.rebuild.Unlock()
	s.publishChanged()
	s.maybeReady()
	if slices.Contains(failed, true) {
		s.wakeRun()
	}
	s.log.Info("tool set reconfigured", "connections", len(next), "added", added, "changed", changed, "removed", removed, "workflows", len(builtFlows))
	return nil
}

// checkConnections rejects a connection without a name, app or client, and a
// name used twice.
func checkConnections(conns []Connection) error {
	seen := map[string]bool{}
	for _, c := range conns {
		if c.Name == "" || c.App == "" || c.Client == nil {
			return fmt.Errorf("tools: connection %q: name, app and client are required", c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("tools: connection name %q is used twice", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// sameConnection reports whether b can keep a's state: every setting equal and
// the very same client.
func sameConnection(a, b Connection) bool {
	return a.Name == b.Name && a.App == b.App && a.Admin == b.Admin &&
		a.ServiceUser == b.ServiceUser && a.ReadOnly == b.ReadOnly && a.Confirm == b.Confirm && a.Registry == b.Registry &&
		a.Proxy == b.Proxy && slices.Equal(a.ProxyMethods, b.ProxyMethods) &&
		slices.Equal(a.Include, b.Include) && slices.Equal(a.Exclude, b.Exclude) &&
		sameClient(a.Client, b.Client)
}

// sameClient compares clients by identity. Clients of a type that cannot be
// compared (a test double holding a map, say) count as different, never panic.
func sameClient(a, b Connect) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

// keepPrevious gives a changed connection c whose catalog failed to load the
// actions its previous state old served, rebuilt with the new settings and client,
// so that a reload while the API is unreachable does not take tools away. The
// load error stays recorded, so Run retries it.
func (s *Set) keepPrevious(c, old *connState) {
	if old == nil || old.App != c.App {
		return
	}
	old.mu.Lock()
	comps := make([]pdclient.Component, 0, len(old.tools))
	for _, t := range old.tools {
		comps = append(comps, t.component)
	}
	loaded := old.loaded
	old.mu.Unlock()
	if !loaded {
		return
	}
	built, warnings := s.build(c, comps)
	c.mu.Lock()
	c.tools, c.loaded, c.warnings = built, true, warnings
	c.mu.Unlock()
	s.log.Warn("serving the previous catalog of a changed connection until its catalog loads", "connection", c.Name, "app", c.App, "tools", len(built))
}

// wakeRun makes Run retry failed loads now instead of at its next timer.
func (s *Set) wakeRun() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// conns iterates the current connections (for i, c := range s.conns). The
// iteration sees one list from start to end, even while Reconfigure swaps it.
func (s *Set) conns(yield func(int, *connState) bool) {
	for i, c := range s.connStates() {
		if !yield(i, c) {
			return
		}
	}
}

// connStates returns the current connections; the slice must not be changed.
func (s *Set) connStates() []*connState {
	if p := s.connList.Load(); p != nil {
		return *p
	}
	return nil
}

// dispatch is the handler served for an action or workflow tool. It runs the
// tool as the current snapshot holds it, so a call that starts after
// Reconfigure or a catalog refresh uses the new client and component even when
// the tool's definition did not change (and the MCP server kept the entry it
// had). A call in flight keeps the tool it started with.
func (s *Set) dispatch(name string) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		snap := s.snap.Load()
		if t, ok := snap.byName[name]; ok {
			return s.actionHandler(t)(ctx, req)
		}
		if w, ok := snap.flowMap[name]; ok {
			return w.handle(ctx, req)
		}
		return helperError(StatusInvalidArgs, fmt.Sprintf("tool %q is no longer served: the server's configuration changed", name), "List the tools again and use one of those."), nil
	}
}
