package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPprof: /debug/pprof/ is served on the HTTP listener only with Pprof,
// without credentials, and never the command line.
func TestPprof(t *testing.T) {
	t.Parallel()
	off := newFixture(t, nil)
	if code, _ := get(t, off.url+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("without Pprof: GET /debug/pprof/ = %d, want 404", code)
	}
	on := newFixture(t, func(o *HTTPOptions) { o.Pprof = true })
	for path, want := range map[string]int{
		"/debug/pprof/":                  200,
		"/debug/pprof/heap?debug=1":      200,
		"/debug/pprof/goroutine?debug=1": 200,
		"/debug/pprof/symbol":            200,
		"/debug/pprof/cmdline":           404,
	} {
		if code, _ := get(t, on.url+path); code != want {
			t.Errorf("with Pprof: GET %s = %d, want %d", path, code, want)
		}
	}
}

// TestMetricsRoute: /metrics is served without credentials when
// HTTPOptions.Metrics is set, and counts the open sessions.
func TestMetricsRoute(t *testing.T) {
	t.Parallel()
	if code, _ := get(t, newFixture(t, nil).url+"/metrics"); code != http.StatusNotFound {
		t.Errorf("without Metrics: GET /metrics = %d, want 404", code)
	}
	m := NewMetrics()
	ft := &fakeTools{}
	ft.ready.Store(true)
	h, err := New(ft, Options{Metrics: m}).NewHTTPHandler(HTTPOptions{
		Transport: "http", Auth: testAuth, Identity: testIdentity, Metrics: m.Handler(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() { h.CloseSessions(context.Background()); ts.Close() })
	dialHTTP(t, ts.URL+"/mcp", "tok-alice", true)
	dialHTTP(t, ts.URL+"/mcp", "tok-bob", true)
	code, body := get(t, ts.URL+"/metrics")
	if code != 200 || !strings.Contains(body, "\npipedream_mcp_active_sessions 2\n") {
		t.Errorf("GET /metrics = %d:\n%s", code, body)
	}
}

// TestOpsHandler: the operations listener serves /metrics, /healthz and,
// with Pprof, /debug/pprof/, and stops when its context ends.
func TestOpsHandler(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	m.Call("slack", "slack_send_message", "success", 30*time.Millisecond)
	s := New(&fakeTools{}, Options{Metrics: m})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.ServeOps(ctx, ln, NewOpsHandler(OpsOptions{Metrics: m.Handler(), Pprof: true})) }()
	base := "http://" + ln.Addr().String()
	code, body := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, `pipedream_mcp_tool_calls_total{connection="slack",status="success",tool="slack_send_message"} 1`) {
		t.Errorf("GET /metrics = %d:\n%s", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d", code)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code != 200 {
		t.Errorf("GET /debug/pprof/ = %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeOps: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeOps did not stop")
	}
	plain := httptest.NewServer(NewOpsHandler(OpsOptions{Metrics: m.Handler()}))
	defer plain.Close()
	if code, _ := get(t, plain.URL+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("without Pprof: GET /debug/pprof/ = %d, want 404", code)
	}
}

// TestNilMetrics: a nil *Metrics records nothing and does not panic.
func TestNilMetrics(t *testing.T) {
	t.Parallel()
	var m *Metrics
	m.Call("c", "t", "success", time.Second)
	m.CatalogLoad("c", true)
	m.Request("actions", 200, time.Second)
	m.Retry("actions")
	m.Cache("actions", true)
	m.TokenRefresh(true)
	m.addSessions(func() int { return 1 })()
}

// TestSetupTracing: tracing is on only when an OTLP endpoint is set (and the
// SDK not disabled); spans then reach the endpoint over OTLP/HTTP by
// shutdown at the latest.
func TestSetupTracing(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	for name, vars := range map[string]map[string]string{
		"nothing set":   {},
		"SDK disabled":  {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		"exporter none": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"},
	} {
		shutdown, err := SetupTracing(t.Context(), TracingOptions{Getenv: env(vars)})
		if err != nil || otel.GetTracerProvider() != prev {
			t.Errorf("%s: tracing was set up (err %v)", name, err)
		}
		if shutdown == nil || shutdown(t.Context()) != nil {
			t.Errorf("%s: shutdown must be a no-op", name)
		}
	}
	if _, err := SetupTracing(t.Context(), TracingOptions{Getenv: env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
	})}); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
		t.Errorf("an unsupported protocol must be an error naming the variable, got %v", err)
	}

	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL) // the exporter reads the process environment
	shutdown, err := SetupTracing(t.Context(), TracingOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() == prev {
		t.Fatal("no tracer provider was installed")
	}
	_, span := tracer().Start(t.Context(), "tools/call test")
	span.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Error("no span reached the OTLP endpoint")
	}
}

// BenchmarkMetricsPerCall is what metrics cost a typical call: the call
// itself, one upstream request, one cache lookup.
func BenchmarkMetricsPerCall(b *testing.B) {
	m := NewMetrics()
	b.ReportAllocs()
	for range b.N {
		m.Cache("accounts", true)
		m.Request("actions/run", 200, 80*time.Millisecond)
		m.Call("pd_edge", "pd_edge_echo", "success", 90*time.Millisecond)
	}
}

// BenchmarkTraceCall is what tracing costs a call in the server: the
// tools/call span around a handler that makes one client span, as a call
// with one upstream request does; "off" with the no-op provider, "on" with
// an SDK provider sampling everything into an in-memory batch exporter.
func BenchmarkTraceCall(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			prev := otel.GetTracerProvider()
			defer otel.SetTracerProvider(prev)
			otel.SetTracerProvider(noop.NewTracerProvider())
			exp := tracetest.NewInMemoryExporter()
			if on {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
				defer func() { _ = tp.Shutdown(context.Background()) }()
				otel.SetTracerProvider(tp)
			}
			s := &Server{}
			h := s.traceCall(func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				if trace.SpanContextFromContext(ctx).IsValid() {
					_, span := tracer().Start(ctx, "POST actions/run", trace.WithSpanKind(trace.SpanKindClient))
					if span.IsRecording() {
						span.SetAttributes(attribute.String("http.request.method", "POST"), attribute.String("server.address", "api.pipedream.com"),
							attribute.String("pipedream.endpoint", "actions/run"), attribute.Int("http.response.status_code", 200))
					}
					span.End()
				}
				return &mcp.CallToolResult{}, nil
			})
			req := mcp.CallToolRequest{}
			req.Params.Name = "pd_edge_echo"
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				_, _ = h(ctx, req)
				if i%4096 == 4095 {
					exp.Reset()
				}
			}
		})
	}
}
