package tools_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// auditLines returns the "tool call" lines written so far, decoded, and
// forgets everything written.
func (s *syncBuffer) auditLines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(s.b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "tool call" {
			out = append(out, m)
		}
	}
	s.b.Reset()
	return out
}

type observedCall struct{ conn, tool, status string }

// recorder is a tools.Observer.
type recorder struct {
	mu    sync.Mutex
	calls []observedCall
	loads map[string]int
}

func (r *recorder) Call(conn, tool, status string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, observedCall{conn, tool, status})
}

func (r *recorder) CatalogLoad(conn string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loads == nil {
		r.loads = map[string]int{}
	}
	if ok {
		r.loads[conn]++
	}
}

func (r *recorder) take() []observedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// TestAuditLineForEveryCall: every call, helpers, catalog tools and refused
// calls included, writes exactly one audit line naming the tool, the
// connection it concerned, the end user (also when the call was refused
// before resolving one) and the status, and tells the Observer once.
func TestAuditLineForEveryCall(t *testing.T) {
	logs := &syncBuffer{}
	rec := &recorder{}
	h := newHarness(t, tools.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Observer: rec},
		userConn("slack", "slack"), userConn("pd_edge", "pd_edge"),
		tools.Connection{Name: "hubspot", App: "hubspot", Admin: true, ServiceUser: pdtest.ServiceUser, Include: []string{"hubspot-get-*"}})
	if rec.loads["slack"] != 1 || rec.loads["pd_edge"] != 1 || rec.loads["hubspot"] != 1 {
		t.Errorf("catalog loads observed: %v", rec.loads)
	}
	logs.auditLines(t) // the catalog loads' lines
	catalog := tools.WithToolMode(t.Context(), tools.ToolModeCatalog)
	cases := []struct {
		name, tool, args string
		catalog          bool
		user             string // the caller
		wantConn         string
		wantUser         string
		wantStatus       string
		upstream         bool // the call reached Pipedream
		cached           bool // it may or may not have (cached accounts)
	}{
		{name: "list_options", tool: tools.ToolListOptions, args: `{"tool":"slack_send_message_to_channel","prop":"conversation"}`,
			user: pdtest.DemoUser, wantConn: "slack", wantUser: pdtest.DemoUser, wantStatus: "success", upstream: true},
		{name: "list_options missing prop", tool: tools.ToolListOptions, args: `{"tool":"slack_send_message_to_channel"}`,
			user: pdtest.DemoUser, wantUser: pdtest.DemoUser, wantStatus: "invalid_arguments"},
		{name: "describe", tool: tools.ToolDescribe, args: `{"tool":"pd_edge_dynamic_form","configured_props":{"shape":"circle"}}`,
			user: pdtest.DemoUser, wantConn: "pd_edge", wantUser: pdtest.DemoUser, wantStatus: "success", upstream: true},
		{name: "describe unknown tool", tool: tools.ToolDescribe, args: `{"tool":"nope_nothing"}`,
			user: pdtest.DemoUser, wantUser: pdtest.DemoUser, wantStatus: "invalid_arguments"},
		{name: "accounts", tool: tools.ToolAccounts, args: `{}`,
			user: pdtest.DemoUser, wantUser: pdtest.DemoUser, wantStatus: "success", upstream: true},
		{name: "action success", tool: "pd_edge_echo", args: `{"message":"hi"}`,
			user: pdtest.DemoUser, wantConn: "pd_edge", wantUser: pdtest.DemoUser, wantStatus: "success", upstream: true},
		{name: "action invalid arguments", tool: "pd_edge_echo", args: `{"repeat":"many"}`,
			user: pdtest.DemoUser, wantConn: "pd_edge", wantUser: pdtest.DemoUser, wantStatus: "invalid_arguments"},
		{name: "action failure", tool: "pd_edge_always_fails", args: `{}`,
			user: pdtest.DemoUser, wantConn: "pd_edge", wantUser: pdtest.DemoUser, wantStatus: "error", upstream: true},
		{name: "admin invalid arguments", tool: "hubspot_get_contact", args: `{"nope":1}`,
			user: pdtest.DemoUser, wantConn: "hubspot", wantUser: pdtest.ServiceUser, wantStatus: "invalid_arguments"},
		{name: "search", tool: tools.ToolSearchActions, args: `{"query":"echo a message"}`, catalog: true,
			user: pdtest.DemoUser, wantUser: pdtest.DemoUser, wantStatus: "success", cached: true},
		{name: "run_action", tool: tools.ToolRunAction, args: `{"tool":"pd_edge_echo","arguments":{"message":"hi"}}`, catalog: true,
			user: pdtest.DemoUser, wantConn: "pd_edge", wantUser: pdtest.DemoUser, wantStatus: "success", upstream: true},
		{name: "run_read_action refused", tool: tools.ToolRunReadAction, args: `{"tool":"pd_edge_echo","arguments":{}}`, catalog: true,
			user: pdtest.DemoUser, wantConn: "pd_edge", wantUser: pdtest.DemoUser, wantStatus: "invalid_arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.catalog {
				ctx = catalog
			}
			sc, _ := h.call(t, ctx, tc.user, tc.tool, tc.args)
			if got := sc["status"]; got != nil && got != tc.wantStatus {
				t.Fatalf("status %v, want %s: %v", got, tc.wantStatus, sc)
			}
			lines := logs.auditLines(t)
			if len(lines) != 1 {
				t.Fatalf("want one audit line, got %d: %v", len(lines), lines)
			}
			l := lines[0]
			if l["tool"] != tc.tool || l["connection"] != tc.wantConn || l["external_user_id"] != tc.wantUser || l["status"] != tc.wantStatus {
				t.Errorf("audit line %v, want tool=%s connection=%q external_user_id=%s status=%s", l, tc.tool, tc.wantConn, tc.wantUser, tc.wantStatus)
			}
			if _, ok := l["duration_ms"]; !ok {
				t.Errorf("audit line without duration_ms: %v", l)
			}
			wantLevel := map[string]string{"success": "INFO", "invalid_arguments": "INFO", "error": "ERROR"}[tc.wantStatus]
			if l["level"] != wantLevel {
				t.Errorf("level %v, want %s", l["level"], wantLevel)
			}
			if n, _ := l["upstream_requests"].(float64); (n > 0) != tc.upstream && !tc.cached {
				t.Errorf("upstream_requests %v (the call reached Pipedream: %v)", l["upstream_requests"], tc.upstream)
			}
			if calls := rec.take(); len(calls) != 1 || calls[0] != (observedCall{tc.wantConn, tc.tool, tc.wantStatus}) {
				t.Errorf("observed %v, want one {%s %s %s}", calls, tc.wantConn, tc.tool, tc.wantStatus)
			}
		})
	}
}

// TestAuditLineForWorkflows: a workflow call has one audit line with the
// user it ran as and the workflow's HTTP status; its request is counted.
func TestAuditLineForWorkflows(t *testing.T) {
	logs := &syncBuffer{}
	rec := &recorder{}
	h := newWFHarness(t, tools.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Observer: rec},
		wfDeploy{deploy: pdtest.Workflow{ID: "enuser", Apps: []string{"slack"}}, tool: tools.Workflow{Name: "notify_team"}})
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "notify_team", `{"text":"hi"}`)
	if sc["status"] != "success" {
		t.Fatalf("workflow call failed: %v\n%s", sc, text(res))
	}
	lines := logs.auditLines(t)
	if len(lines) != 1 {
		t.Fatalf("want one audit line, got %v", lines)
	}
	l := lines[0]
	if l["tool"] != "notify_team" || l["external_user_id"] != pdtest.DemoUser || l["status"] != "success" || l["http_status"] != 200.0 || l["upstream_requests"] != 1.0 {
		t.Errorf("audit line %v", l)
	}
	if calls := rec.take(); len(calls) != 1 || calls[0] != (observedCall{"", "notify_team", "success"}) {
		t.Errorf("observed %v", calls)
	}
}
