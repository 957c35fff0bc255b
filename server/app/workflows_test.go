package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// callWorkflowTool runs a tool of rt's set as user and decodes its result.
func callWorkflowTool(t *testing.T, rt *backend, user, name, args string) (map[string]any, string) {
	t.Helper()
	for _, st := range rt.set.Tools() {
		if st.Tool.Name != name {
			continue
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		req.Params.RawArguments = json.RawMessage(args)
		res, err := st.Handler(tools.WithUser(context.Background(), user), req)
		if err != nil {
			t.Fatalf("%s: Go error %v", name, err)
		}
		var sc map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &sc)
		var text strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(mcp.TextContent); ok {
				text.WriteString(tc.Text)
			}
		}
		return sc, text.String()
	}
	t.Fatalf("no tool %s", name)
	return nil, ""
}

func TestWorkflowsServeFromConfig(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	fake.AddAccount(pdtest.Account{ExternalUserID: "alice", App: "slack", Healthy: true})
	fake.AddAccount(pdtest.Account{ExternalUserID: "reporting-bot", App: "slack", Healthy: true})
	host := pdtest.NewWorkflowHost(fake)
	host.Add(pdtest.Workflow{ID: "ennotify", Apps: []string{"slack"}})
	host.Add(pdtest.Workflow{ID: "enreport", Auth: pdtest.WorkflowAuthBearer, BearerToken: "report-token-1"})
	host.Add(pdtest.Workflow{ID: "ennotion", Apps: []string{"notion"}})
	host.Add(pdtest.Workflow{ID: "enbearernotion", Auth: pdtest.WorkflowAuthBearer, BearerToken: "report-token-1", Apps: []string{"notion"}})
	hs := httptest.NewServer(host)
	t.Cleanup(hs.Close)

	env := map[string]string{
		config.EnvClientID: pdtest.TestClientID, config.EnvClientSecret: pdtest.TestClientSecret,
		config.EnvProjectID: pdtest.TestProjectID, config.EnvEnvironment: "development",
		config.EnvBaseURL: api.URL, config.EnvExternalUserID: "alice", "REPORT_TOKEN": "report-token-1",
	}
	yaml := fmt.Sprintf(`workflow_domain: 127.0.0.1
workflows:
  - name: notify_team
    endpoint: %[1]s/ennotify
    description: Post a message to the team channel.
    input_schema:
      type: object
      properties:
        text: {type: string}
      required: [text]
  - name: nightly_report
    endpoint: %[1]s/enreport
    auth: bearer
    bearer_token: ${REPORT_TOKEN}
    oauth: admin
    external_user_id: reporting-bot
  - name: notion_digest
    endpoint: %[1]s/ennotion
  - name: bearer_digest
    endpoint: %[1]s/enbearernotion
    auth: bearer
    bearer_token: ${REPORT_TOKEN}
`, hs.URL)
	cfg := mustResolve(t, nil, env, yaml)
	rt, err := newRuntime(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)

	var names []string
	for _, st := range rt.set.Tools() {
		names = append(names, st.Tool.Name)
	}
	for _, want := range []string{"notify_team", "nightly_report", "notion_digest", "bearer_digest"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list lacks %s: %v", want, names)
		}
	}

	// OAuth, as the caller, with the configured schema.
	if sc, text := callWorkflowTool(t, rt, "alice", "notify_team", `{}`); sc["status"] != "invalid_arguments" || !strings.Contains(text, "text: required field is missing") {
		t.Errorf("schema not applied: %v\n%s", sc, text)
	}
	sc, text := callWorkflowTool(t, rt, "alice", "notify_team", `{"text":"hi"}`)
	if sc["status"] != "success" {
		t.Fatalf("notify_team: %v\n%s", sc, text)
	}
	calls := host.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %+v", calls)
	}
	c := calls[0]
	if c.ExternalUserID != "alice" || c.Environment != "development" || !strings.HasPrefix(c.Authorization, "Bearer ") || c.Status != 200 {
		t.Errorf("notify_team reached the workflow as %+v", c)
	}

	// Bearer, as the service identity.
	sc, text = callWorkflowTool(t, rt, "alice", "nightly_report", `{}`)
	if sc["status"] != "success" {
		t.Fatalf("nightly_report: %v\n%s", sc, text)
	}
	if c := host.Calls()[1]; c.Authorization != "Bearer report-token-1" || c.ExternalUserID != "reporting-bot" || c.Environment != "development" {
		t.Errorf("nightly_report reached the workflow as %+v", c)
	}

	// Connect Links come from the workflow's credentials, or the defaults for
	// a workflow without its own.
	for _, name := range []string{"notion_digest", "bearer_digest"} {
		sc, text = callWorkflowTool(t, rt, "alice", name, `{}`)
		link, _ := sc["connect_url"].(string)
		if sc["status"] != "account_required" || !strings.HasSuffix(link, "&app=notion") || !strings.Contains(text, link) {
			t.Errorf("%s: want account_required with a notion Connect Link, got %v\n%s", name, sc, text)
		}
	}
	if toks := fake.ConnectTokens(); len(toks) != 2 || toks[0].ExternalUserID != "alice" || toks[1].ExternalUserID != "alice" {
		t.Errorf("connect tokens = %+v", toks)
	}
}

func TestWorkflowsWithoutDefaultCredentialsOfferNoLink(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	fake.AddAccount(pdtest.Account{ExternalUserID: "alice", App: "slack", Healthy: true})
	host := pdtest.NewWorkflowHost(fake)
	host.Add(pdtest.Workflow{ID: "enopen", Auth: pdtest.WorkflowAuthNone, Apps: []string{"notion"}})
	hs := httptest.NewServer(host)
	t.Cleanup(hs.Close)
	env := map[string]string{config.EnvExternalUserID: "alice", config.EnvEnvironment: "development"}
	cfg := mustResolve(t, nil, env, fmt.Sprintf("workflow_domain: 127.0.0.1\nworkflows:\n  - name: open_digest\n    endpoint: %s/enopen\n    auth: none\n", hs.URL))
	rt, err := newRuntime(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	if len(rt.clients) != 0 {
		t.Errorf("a workflow without credentials made %d API clients", len(rt.clients))
	}
	sc, text := callWorkflowTool(t, rt, "alice", "open_digest", `{}`)
	if sc["status"] != "account_required" || sc["connect_url"] != nil || !strings.Contains(text, "connect a notion account") {
		t.Errorf("want account_required without a link, got %v\n%s", sc, text)
	}
	if c := host.Calls(); len(c) != 1 || c[0].Authorization != "" || c[0].Environment != "development" {
		t.Errorf("calls = %+v", c)
	}
}

func TestWorkflowsInSandboxUseTheSandboxToken(t *testing.T) {
	t.Parallel()
	// The sandbox's own fake issues the token; this host only records it.
	host := pdtest.NewWorkflowHost(pdtest.New(pdtest.Config{}))
	host.Add(pdtest.Workflow{ID: "enflow", Auth: pdtest.WorkflowAuthNone, Anonymous: true})
	hs := httptest.NewServer(host)
	t.Cleanup(hs.Close)
	cfg := mustResolve(t, []string{"--sandbox"}, map[string]string{},
		fmt.Sprintf("workflow_domain: 127.0.0.1\nworkflows:\n  - name: demo_flow\n    endpoint: %s/enflow\n", hs.URL))
	rt, err := newRuntime(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	sc, text := callWorkflowTool(t, rt, pdtest.DemoUser, "demo_flow", `{"a":1}`)
	if sc["status"] != "success" {
		t.Fatalf("demo_flow: %v\n%s", sc, text)
	}
	c := host.Calls()[0]
	if !strings.HasPrefix(c.Authorization, "Bearer ") || len(c.Authorization) < len("Bearer ")+8 || c.Environment != pdtest.SandboxEnvironment || c.ExternalUserID != pdtest.DemoUser {
		t.Errorf("sandbox workflow call = %+v", c)
	}
}

// lateHost serves a WorkflowHost set once the server under test (and so the
// Fake whose tokens it checks) exists.
type lateHost struct {
	h atomic.Pointer[pdtest.WorkflowHost]
}

func (l *lateHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := l.h.Load()
	if h == nil {
		http.Error(w, "not deployed yet", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

func TestWorkflowsOverHTTPE2E(t *testing.T) {
	t.Parallel()
	late := &lateHost{}
	hs := httptest.NewServer(late)
	t.Cleanup(hs.Close)
	cfgFile := filepath.Join(t.TempDir(), "workflows.yaml")
	yaml := fmt.Sprintf(`workflow_domain: 127.0.0.1
workflows:
  - name: notify_team
    endpoint: %[1]s/ennotify
    description: Post a message to the team channel.
  - name: nightly_report
    endpoint: %[1]s/enreport
    oauth: admin
    external_user_id: %[2]s
`, hs.URL, pdtest.ServiceUser)
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{logLevel: "info", args: []string{"--jwt-audience", e2eAudience, "--jwt-issuer", e2eIssuer, "--config", cfgFile}})
	host := pdtest.NewWorkflowHost(s.fake)
	host.Add(pdtest.Workflow{ID: "ennotify", Apps: []string{"slack"}})
	host.Add(pdtest.Workflow{ID: "enreport", Apps: []string{"hubspot"}})
	late.h.Store(host)

	demo := dial(t, s.url+"/mcp", userToken(t, pdtest.DemoUser), dialOptions{})
	names := toolNames(t, demo)
	for _, want := range []string{"notify_team", "nightly_report", "slack_send_message_to_channel"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list on /mcp lacks %s: %v", want, names)
		}
	}
	if r := callTool(t.Context(), demo, "notify_team", `{"text":"hi"}`); r.status() != "success" {
		t.Fatalf("notify_team as demo-user: %s", r)
	}
	if r := callTool(t.Context(), demo, "nightly_report", `{}`); r.status() != "success" {
		t.Fatalf("nightly_report: %s", r)
	}
	other := dial(t, s.url+"/mcp", userToken(t, pdtest.OtherUser), dialOptions{})
	if r := callTool(t.Context(), other, "notify_team", `{"text":"hi"}`); r.status() != "account_required" || !strings.Contains(r.text, "&app=slack") {
		t.Errorf("notify_team as other-user (no slack account): %s", r)
	}
	calls := host.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls = %+v", calls)
	}
	for i, want := range []string{pdtest.DemoUser, pdtest.ServiceUser, pdtest.OtherUser} {
		if calls[i].ExternalUserID != want || calls[i].Environment != pdtest.SandboxEnvironment {
			t.Errorf("call %d ran as %q in %q, want %s", i, calls[i].ExternalUserID, calls[i].Environment, want)
		}
	}

	// Workflows belong to the all-connections endpoint only.
	scoped := dial(t, s.url+"/mcp/slack", userToken(t, pdtest.DemoUser), dialOptions{})
	if names := toolNames(t, scoped); slices.Contains(names, "notify_team") || !slices.Contains(names, "slack_send_message_to_channel") {
		t.Errorf("tools/list on /mcp/slack = %v, want slack's tools without workflows", names)
	}
	if r := callTool(t.Context(), scoped, "notify_team", `{"text":"hi"}`); r.err == nil && !r.isError {
		t.Errorf("notify_team ran on /mcp/slack: %s", r)
	}
	if n := len(host.Calls()); n != 3 {
		t.Errorf("a workflow ran through /mcp/slack (%d calls)", n)
	}
}

// mustResolve resolves a configuration the way every command does, with
// yamlText (when not empty) as the --config file.
func mustResolve(t *testing.T, args []string, env map[string]string, yamlText string) *config.Config {
	t.Helper()
	if yamlText != "" {
		name := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(name, []byte(yamlText), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", name}, args...)
	}
	cmd := &cmdEnv{ctx: t.Context(), getenv: func(k string) string { return env[k] }, stdout: io.Discard, stderr: io.Discard}
	cfg, _, err := parseCommon(cmd, "test", "", args, nil)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return cfg
}
