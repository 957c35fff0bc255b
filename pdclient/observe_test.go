package pdclient

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestEndpointName(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/v1/oauth/token":                                   "token",
		"/v1/connect/proj_x/actions":                        "actions",
		"/v1/connect/proj_x/actions/run":                    "actions/run",
		"/v1/connect/proj_x/actions/slack-send-message":     "actions/{id}",
		"/v1/connect/proj_x/actions/configure":              "actions/configure",
		"/v1/connect/proj_x/components/configure":           "components/configure",
		"/v1/connect/proj_x/components/props":               "components/props",
		"/v1/connect/proj_x/accounts":                       "accounts",
		"/v1/connect/proj_x/accounts/apn_123":               "accounts/{id}",
		"/v1/connect/proj_x/tokens":                         "tokens",
		"/v1/connect/apps":                                  "apps",
		"/v1/connect/apps/slack":                            "apps/{id}",
		"/v1/connect/proj_x/accounts/apn_1/credentials/x/y": "accounts/{id}/*",
		"/v1/connect/proj_x/user-42-secret":                 "other",
		"/elsewhere":                                        "other",
	} {
		if got := EndpointName(path); got != want {
			t.Errorf("EndpointName(%q) = %q, want %q", path, got, want)
		}
	}
}

// obsRecorder is an Observer that records everything.
type obsRecorder struct {
	mu       sync.Mutex
	requests []string // "endpoint code"
	retries  []string
	cache    []string // "kind hit|miss"
	tokens   []bool
}

func (r *obsRecorder) Request(endpoint string, code int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, fmt.Sprintf("%s %d", endpoint, code))
}

func (r *obsRecorder) Retry(endpoint string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries = append(r.retries, endpoint)
}

func (r *obsRecorder) Cache(kind string, hit bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache = append(r.cache, fmt.Sprintf("%s %v", kind, map[bool]string{true: "hit", false: "miss"}[hit]))
}

func (r *obsRecorder) TokenRefresh(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, ok)
}

// TestObserver: the observer is told of every request by endpoint and code
// (the token request included), of retries, cache lookups and token
// requests; CountRequests counts a call's API requests.
func TestObserver(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	h, _ := statusSequence([]int{503}, nil, `{"id":"apn_1"}`)
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
	f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "apn_1"}}})
	})
	rec := &obsRecorder{}
	c := f.client(WithObserver(rec))
	ctx, n := CountRequests(t.Context())
	if _, err := c.GetAccount(ctx, "apn_1"); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("counted %d requests, want 2 (503, then 200)", got)
	}
	for range 2 {
		if _, err := c.ListAccounts(t.Context(), "u1", "slack"); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []string{"token 200", "accounts/{id} 503", "accounts/{id} 200", "accounts 200"}; !slices.Equal(rec.requests, want) {
		t.Errorf("requests %q, want %q", rec.requests, want)
	}
	if want := []string{"accounts/{id}"}; !slices.Equal(rec.retries, want) {
		t.Errorf("retries %q, want %q", rec.retries, want)
	}
	if want := []string{"accounts miss", "accounts hit"}; !slices.Equal(rec.cache, want) {
		t.Errorf("cache lookups %q, want %q", rec.cache, want)
	}
	if !slices.Equal(rec.tokens, []bool{true}) {
		t.Errorf("token refreshes %v, want one success", rec.tokens)
	}
}

// TestObserverConnectionFailure: a request that got no answer is reported
// with code 0.
func TestObserverConnectionFailure(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	rec := &obsRecorder{}
	cfg := f.config()
	c, err := New(cfg, WithObserver(rec), WithRetry(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AccessToken(t.Context()); err != nil { // a token first, from the live fake
		t.Fatal(err)
	}
	f.srv.Close()
	if _, err := c.GetAccount(t.Context(), "apn_1"); err == nil {
		t.Fatal("want an error from a closed server")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []string{"token 200", "accounts/{id} 0"}; !slices.Equal(rec.requests, want) {
		t.Errorf("requests %q, want %q", rec.requests, want)
	}
}

// TestRequestSpans: under a traced context every HTTP request is a client
// span, child of the caller's span (the token request included); no trace
// header is sent to Pipedream; untraced work makes no spans.
func TestRequestSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })

	f := newFake(t)
	var mu sync.Mutex
	var traceHeaders []string
	h, _ := statusSequence([]int{502}, nil, `{"id":"apn_1"}`)
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceHeaders = append(traceHeaders, r.Header.Get("traceparent")+r.Header.Get("tracestate"))
		mu.Unlock()
		h(w, r)
	})
	f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "apn_1"}}})
	})
	c := f.client()

	// Untraced: no span.
	if _, err := c.ListAccounts(t.Context(), "u1", ""); err != nil {
		t.Fatal(err)
	}
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Fatalf("untraced calls made %d spans", len(spans))
	}

	c2 := f.client() // a cold client: its token request happens under the call
	ctx, parent := tp.Tracer("test").Start(t.Context(), "tools/call test")
	if _, err := c2.GetAccount(ctx, "apn_1"); err != nil {
		t.Fatal(err)
	}
	parent.End()
	spans := exp.GetSpans()
	var names []string
	for _, s := range spans {
		if s.Name == "tools/call test" {
			continue
		}
		names = append(names, s.Name)
		if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %s is not a child of the call's span", s.Name)
		}
		attrs := map[string]any{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.AsInterface()
		}
		if attrs["http.request.method"] == nil || attrs["pipedream.endpoint"] == nil || attrs["http.response.status_code"] == nil {
			t.Errorf("span %s lacks attributes: %v", s.Name, attrs)
		}
	}
	slices.Sort(names)
	if want := []string{"GET accounts/{id}", "GET accounts/{id}", "POST token"}; !slices.Equal(names, want) {
		t.Errorf("spans %q, want %q", names, want)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range traceHeaders {
		if h != "" {
			t.Errorf("a trace header was sent to Pipedream: %q", h)
		}
	}
}
