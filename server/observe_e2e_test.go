package server_test

// End-to-end tests of what an operator observes: the metrics a scrape shows
// after calls, the trace tree of a call, and the log notifications a client
// gets. They run the real stack (server, tools, pdclient) against the
// sandbox fake of the Connect API over loopback HTTP.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// stack is the whole server over the sandbox fake, served on loopback with
// /metrics, as the composition root wires it.
type stack struct {
	fake    *pdtest.Fake
	metrics *server.Metrics
	srv     *server.Server
	url     string
}

// stackAuth maps "Bearer tok-<user>" to <user>.
type stackAuth struct{}

func (stackAuth) Authenticate(r *http.Request) (string, error) {
	if u, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-"); ok && u != "" {
		return u, nil
	}
	return "", &server.AuthError{Description: "no token"}
}

func newStack(t testing.TB, retry pdclient.RetryPolicy) *stack {
	t.Helper()
	return newStackWith(t, retry, true)
}

// newStackWith is newStack with metrics or without (no observers, no
// /metrics).
func newStackWith(t testing.TB, retry pdclient.RetryPolicy, withMetrics bool) *stack {
	t.Helper()
	fake := pdtest.NewSandbox()
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	var metrics *server.Metrics
	var observer tools.Observer
	var handler http.Handler
	opts := []pdclient.Option{pdclient.WithRetry(retry)}
	if withMetrics {
		metrics = server.NewMetrics()
		observer, handler = metrics, metrics.Handler()
		opts = append(opts, pdclient.WithObserver(metrics))
	}
	log := slog.New(server.NewClientLog(slog.NewTextHandler(io.Discard, nil)))
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret,
		ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment,
		BaseURL: api.URL, Version: "test",
	}, append(opts, pdclient.WithLogger(log))...)
	if err != nil {
		t.Fatal(err)
	}
	set, err := tools.New(tools.Options{
		Connections: []tools.Connection{{Name: "pd_edge", App: "pd_edge", Client: cl}, {Name: "slack", App: "slack", Client: cl}},
		Logger:      log, Observer: observer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := server.New(set, server.Options{Name: "pipedream-mcp", Version: "test", Logger: log, Metrics: metrics})
	h, err := srv.NewHTTPHandler(server.HTTPOptions{
		Transport: "http",
		Auth:      stackAuth{},
		Identity: func(ctx context.Context, user, conn string, _ url.Values) context.Context {
			return tools.WithScope(tools.WithUser(ctx, user), conn)
		},
		HasConnection: set.HasConnection,
		Metrics:       handler,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() { h.CloseSessions(context.Background()); ts.Close() })
	return &stack{fake: fake, metrics: metrics, srv: srv, url: ts.URL}
}

var quickRetry = pdclient.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 2 * time.Second}

// dial connects a Streamable HTTP client as user; legacy pins the
// 2025-11-25 protocol (sessions and logging/setLevel).
func (s *stack) dial(t testing.TB, user string, headers map[string]string, legacy bool) *client.Client {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer tok-" + user}
	for k, v := range headers {
		h[k] = v
	}
	tr, err := transport.NewStreamableHTTP(s.url+"/mcp", transport.WithHTTPHeaders(h))
	if err != nil {
		t.Fatal(err)
	}
	var opts []client.ClientOption
	if legacy {
		opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	}
	c := client.NewClient(tr, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "test", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func call(t testing.TB, c *client.Client, name string, args any, meta map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if meta != nil {
		req.Params.Meta = &mcp.Meta{AdditionalFields: meta}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	return res
}

// scrape reads /metrics into series -> value, a series written as the
// exposition format writes it: name{label="value",...} with sorted labels.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsScrape: after calls, /metrics (no credentials needed) counts
// them by connection, tool and status, and the upstream requests they made
// by endpoint and code, retries, cache lookups, catalog loads, token
// requests and the open sessions.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	s := newStack(t, quickRetry)
	c := s.dial(t, pdtest.DemoUser, nil, true)
	for range 2 {
		if res := call(t, c, "pd_edge_echo", map[string]any{"message": "hi"}, nil); res.IsError {
			t.Fatalf("echo failed: %v", res.Content)
		}
	}
	call(t, c, "pd_edge_always_fails", map[string]any{}, nil)
	call(t, c, "pd_edge_echo", map[string]any{"repeat": "many"}, nil) // invalid: no upstream request
	call(t, c, tools.ToolListOptions, map[string]any{"tool": "slack_send_message_to_channel", "prop": "conversation"}, nil)
	// One 503 on the options read: retried.
	s.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointConfigure, Status: 503, Count: 1})
	call(t, c, tools.ToolListOptions, map[string]any{"tool": "slack_send_message_to_channel", "prop": "conversation"}, nil)

	m := scrape(t, s.url)
	want := map[string]float64{
		`pipedream_mcp_tool_calls_total{connection="pd_edge",status="success",tool="pd_edge_echo"}`:           2,
		`pipedream_mcp_tool_calls_total{connection="pd_edge",status="error",tool="pd_edge_always_fails"}`:     1,
		`pipedream_mcp_tool_calls_total{connection="pd_edge",status="invalid_arguments",tool="pd_edge_echo"}`: 1,
		`pipedream_mcp_tool_calls_total{connection="slack",status="success",tool="pipedream_list_options"}`:   2,
		`pipedream_mcp_tool_call_duration_seconds_count{connection="pd_edge",tool="pd_edge_echo"}`:            3,
		`pipedream_mcp_upstream_requests_total{code="200",endpoint="actions/run"}`:                            3,
		`pipedream_mcp_upstream_requests_total{code="200",endpoint="token"}`:                                  1,
		`pipedream_mcp_upstream_requests_total{code="503",endpoint="components/configure"}`:                   1,
		`pipedream_mcp_upstream_requests_total{code="200",endpoint="components/configure"}`:                   2,
		`pipedream_mcp_upstream_retries_total{endpoint="components/configure"}`:                               1,
		`pipedream_mcp_upstream_request_duration_seconds_count{endpoint="actions/run"}`:                       3,
		`pipedream_mcp_catalog_loads_total{connection="pd_edge",result="success"}`:                            1,
		`pipedream_mcp_catalog_loads_total{connection="slack",result="success"}`:                              1,
		`pipedream_mcp_cache_lookups_total{cache="actions",result="miss"}`:                                    2,
		`pipedream_mcp_token_refreshes_total{result="success"}`:                                               1,
		`pipedream_mcp_active_sessions`: 1,
	}
	for series, v := range want {
		if got, ok := m[series]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, v)
		}
	}
	// The accounts of the caller were read once and then came from the cache.
	if m[`pipedream_mcp_upstream_requests_total{code="200",endpoint="accounts"}`] < 1 || m[`pipedream_mcp_cache_lookups_total{cache="accounts",result="hit"}`] < 1 {
		t.Errorf("accounts requests/cache hits missing:\n%s", grepSeries(m, "accounts"))
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("the Go runtime's series are missing")
	}
	for series := range m {
		if strings.Contains(series, pdtest.DemoUser) {
			t.Errorf("a series names the user: %s", series)
		}
	}
}

func grepSeries(m map[string]float64, sub string) string {
	var lines []string
	for k, v := range m {
		if strings.Contains(k, sub) {
			lines = append(lines, fmt.Sprintf("%s %v", k, v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestTraceTree: a tool call is one server span "tools/call <tool>" whose
// parent is the trace context the client sent (the HTTP traceparent header,
// or _meta.traceparent, which wins), with one client span per upstream
// request as its children.
func TestTraceTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })

	s := newStack(t, quickRetry)
	const (
		headerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		headerSpan  = "00f067aa0ba902b7"
		metaTrace   = "0af7651916cd43dd8448eb211c80319c"
		metaSpan    = "b7ad6b7169203331"
	)
	tracesOf := func(traceID string) (call sdktrace.ReadOnlySpan, children []tracetest.SpanStub) {
		t.Helper()
		var calls []tracetest.SpanStub
		var rest []tracetest.SpanStub
		for _, sp := range exp.GetSpans() {
			if sp.SpanContext.TraceID().String() != traceID {
				continue
			}
			if strings.HasPrefix(sp.Name, "tools/call ") {
				calls = append(calls, sp)
			} else {
				rest = append(rest, sp)
			}
		}
		if len(calls) != 1 {
			t.Fatalf("trace %s: want one tools/call span, got %d", traceID, len(calls))
		}
		for _, sp := range rest {
			if sp.Parent.SpanID() != calls[0].SpanContext.SpanID() {
				t.Errorf("span %s is not a child of %s", sp.Name, calls[0].Name)
			}
		}
		return calls[0].Snapshot(), rest
	}
	names := func(spans []tracetest.SpanStub) []string {
		var out []string
		for _, sp := range spans {
			out = append(out, sp.Name)
		}
		slices.Sort(out)
		return out
	}

	t.Run("HTTP header", func(t *testing.T) {
		c := s.dial(t, pdtest.DemoUser, map[string]string{"traceparent": "00-" + headerTrace + "-" + headerSpan + "-01"}, false)
		call(t, c, "pd_edge_echo", map[string]any{"message": "traced"}, nil)
		sp, children := tracesOf(headerTrace)
		if sp.Name() != "tools/call pd_edge_echo" || sp.Parent().SpanID().String() != headerSpan || sp.SpanKind() != trace.SpanKindServer {
			t.Errorf("call span %s (kind %v) has parent %s, want %s", sp.Name(), sp.SpanKind(), sp.Parent().SpanID(), headerSpan)
		}
		attrs := map[string]string{}
		for _, a := range sp.Attributes() {
			attrs[string(a.Key)] = a.Value.String()
		}
		if attrs["gen_ai.tool.name"] != "pd_edge_echo" || attrs["mcp.method.name"] != "tools/call" || attrs["pipedream.status"] != "success" || attrs["pipedream.connection"] != "pd_edge" {
			t.Errorf("call span attributes %v", attrs)
		}
		// The caller's accounts, the run (the access token came with the
		// catalogs).
		if got, want := names(children), []string{"GET accounts", "POST actions/run"}; !slices.Equal(got, want) {
			t.Errorf("children %q, want %q", got, want)
		}
	})
	t.Run("_meta.traceparent", func(t *testing.T) {
		c := s.dial(t, pdtest.DemoUser, map[string]string{"traceparent": "00-" + headerTrace + "-" + headerSpan + "-01"}, false)
		s.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointRun, Status: 429, Count: 1, RetryAfter: "0"})
		call(t, c, "pd_edge_echo", map[string]any{"message": "traced"}, map[string]any{"traceparent": "00-" + metaTrace + "-" + metaSpan + "-01"})
		sp, children := tracesOf(metaTrace)
		if sp.Parent().SpanID().String() != metaSpan {
			t.Errorf("call span has parent %s, want %s from _meta", sp.Parent().SpanID(), metaSpan)
		}
		// Accounts are cached now; the run is retried after a 429.
		if got, want := names(children), []string{"POST actions/run", "POST actions/run"}; !slices.Equal(got, want) {
			t.Errorf("children %q, want %q", got, want)
		}
		codes := []int64{}
		for _, ch := range children {
			for _, a := range ch.Attributes {
				if a.Key == "http.response.status_code" {
					codes = append(codes, a.Value.AsInt64())
				}
			}
		}
		slices.Sort(codes)
		if !slices.Equal(codes, []int64{200, 429}) {
			t.Errorf("run spans' status codes %v, want 200 and 429", codes)
		}
	})
}

// notifications collects a client's notifications/message.
type notifications struct {
	mu   sync.Mutex
	msgs []mcp.JSONRPCNotification
}

func (n *notifications) add(m mcp.JSONRPCNotification) {
	if m.Method != "notifications/message" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
}

func (n *notifications) take() []map[string]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []map[string]any
	for _, m := range n.msgs {
		b, _ := json.Marshal(m.Params)
		var p map[string]any
		_ = json.Unmarshal(b, &p)
		out = append(out, p)
	}
	n.msgs = nil
	return out
}

// TestLogNotifications: logging/setLevel is honoured: at "error" a failing
// call reaches the client as a notifications/message at level error (its
// audit line), a successful one does not; at "warning" a retry does; at
// "emergency" nothing does.
func TestLogNotifications(t *testing.T) {
	t.Parallel()
	s := newStack(t, quickRetry)
	c := s.dial(t, pdtest.DemoUser, nil, true)
	got := &notifications{}
	c.OnNotification(got.add)
	setLevel := func(level mcp.LoggingLevel) {
		t.Helper()
		req := mcp.SetLevelRequest{}
		req.Params.Level = level
		//lint:ignore SA1019 logging/setLevel is what 2025-11-25 clients send; the test checks the server honours it
		if err := c.SetLevel(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	// wait gives notifications sent on another stream a moment.
	wait := func() []map[string]any { time.Sleep(100 * time.Millisecond); return got.take() }

	setLevel(mcp.LoggingLevelError)
	call(t, c, "pd_edge_echo", map[string]any{"message": "fine"}, nil)
	if msgs := wait(); len(msgs) != 0 {
		t.Errorf("a successful call sent %v at level error", msgs)
	}
	call(t, c, "pd_edge_always_fails", map[string]any{}, nil)
	msgs := wait()
	if len(msgs) != 1 {
		t.Fatalf("want one notification for the failed call, got %v", msgs)
	}
	data, _ := msgs[0]["data"].(map[string]any)
	if msgs[0]["level"] != "error" || msgs[0]["logger"] != server.ClientLogger || data["message"] != "tool call" ||
		data["tool"] != "pd_edge_always_fails" || data["status"] != "error" || data["external_user_id"] != pdtest.DemoUser {
		t.Errorf("notification %v", msgs[0])
	}

	setLevel(mcp.LoggingLevelWarning)
	s.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointConfigure, Status: 503, Count: 1})
	call(t, c, tools.ToolListOptions, map[string]any{"tool": "slack_send_message_to_channel", "prop": "conversation"}, nil)
	msgs = wait()
	if len(msgs) != 1 || msgs[0]["level"] != "warning" || !strings.Contains(fmt.Sprint(msgs[0]["data"]), "retrying") {
		t.Errorf("want one warning about the retry, got %v", msgs)
	}

	setLevel(mcp.LoggingLevelEmergency)
	s.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointConfigure, Status: 503, Count: 1})
	call(t, c, tools.ToolListOptions, map[string]any{"tool": "slack_send_message_to_channel", "prop": "conversation"}, nil)
	call(t, c, "pd_edge_always_fails", map[string]any{}, nil)
	if msgs := wait(); len(msgs) != 0 {
		t.Errorf("at level emergency the client got %v", msgs)
	}
}
