package pdclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Observer is told what a Client does, for metrics. Its methods are called on
// the request path, from many goroutines: they must be fast and safe for
// concurrent use.
type Observer interface {
	// Request reports one HTTP request sent to endpoint, a low-cardinality
	// name (see EndpointName; "token" for the OAuth token request,
	// "workflow" for a workflow trigger), with the status code of its answer
	// (0 when none came: the connection failed or the context ended) and how
	// long it took until the answer's headers.
	Request(endpoint string, code int, d time.Duration)
	// Retry reports an attempt after a failed one.
	Retry(endpoint string)
	// Cache reports a cache lookup: kind is "actions", "accounts", "apps" or
	// "directory".
	Cache(kind string, hit bool)
	// TokenRefresh reports a request for an access token and whether it
	// brought one.
	TokenRefresh(ok bool)
}

// WithObserver sets the observer told of every request, retry, cache lookup
// and token request; nil means none.
func WithObserver(o Observer) Option {
	return func(c *Client) {
		if o != nil {
			c.obs = o
		}
	}
}

// nopObserver is the observer of clients built without one.
type nopObserver struct{}

func (nopObserver) Request(string, int, time.Duration) {}
func (nopObserver) Retry(string)                       {}
func (nopObserver) Cache(string, bool)                 {}
func (nopObserver) TokenRefresh(bool)                  {}

// cacheLookup counts a cache lookup of kind.
func (c *Client) cacheLookup(kind string, hit bool) {
	if hit {
		c.stats.cacheHits.Add(1)
	} else {
		c.stats.cacheMisses.Add(1)
	}
	c.obs.Cache(kind, hit)
}

// RequestCount counts the HTTP requests sent under a context (see
// CountRequests).
type RequestCount struct{ n atomic.Int64 }

// Load returns the count so far.
func (r *RequestCount) Load() int64 {
	if r == nil {
		return 0
	}
	return r.n.Load()
}

type requestCountKey struct{}

// CountRequests returns ctx with a counter of the HTTP requests that calls
// made with it send: Connect API requests (retries and the resend after a
// refused access token included) and workflow triggers, not token requests.
// A fetch that concurrent calls share (catalogs, account lists) is counted
// by the call that started it.
func CountRequests(ctx context.Context) (context.Context, *RequestCount) {
	rc := &RequestCount{}
	return context.WithValue(ctx, requestCountKey{}, rc), rc
}

func countRequest(ctx context.Context) {
	if rc, ok := ctx.Value(requestCountKey{}).(*RequestCount); ok {
		rc.n.Add(1)
	}
}

// tracerName is the instrumentation scope of pdclient's spans.
const tracerName = "github.com/pipedream-mcp/pipedream-mcp/pdclient"

// tracer is the tracer of the global TracerProvider as it is now
// (otel.SetTracerProvider may set it after start).
func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// sentRequest is one HTTP request being observed: timed, counted, and traced
// as a client span when the context it is sent under is traced.
type sentRequest struct {
	obs      Observer
	endpoint string
	start    time.Time
	span     trace.Span // nil when not traced
}

// beginRequest starts observing a request of method to endpoint on host.
// A span is started only under a context that carries a valid span context
// (a traced tool call): requests of background work (catalog refreshes)
// are not traced on their own. The trace context is never sent upstream.
func beginRequest(ctx context.Context, obs Observer, method, endpoint, host string, attempt int) sentRequest {
	countRequest(ctx)
	r := sentRequest{obs: obs, endpoint: endpoint, start: time.Now()}
	if trace.SpanContextFromContext(ctx).IsValid() {
		_, span := tracer().Start(ctx, method+" "+endpoint, trace.WithSpanKind(trace.SpanKindClient))
		if span.IsRecording() {
			attrs := []attribute.KeyValue{
				attribute.String("http.request.method", method),
				attribute.String("server.address", host),
				attribute.String("pipedream.endpoint", endpoint),
			}
			if attempt > 1 {
				attrs = append(attrs, attribute.Int("http.request.resend_count", attempt-1))
			}
			span.SetAttributes(attrs...)
		}
		r.span = span
	}
	return r
}

// end records the outcome: the status code (0 when no answer came) or the
// error.
func (r sentRequest) end(code int, err error) {
	r.obs.Request(r.endpoint, code, time.Since(r.start))
	if r.span == nil {
		return
	}
	if r.span.IsRecording() {
		switch {
		case err != nil:
			r.span.SetAttributes(attribute.String("error.type", errorType(err)))
			r.span.SetStatus(codes.Error, err.Error())
		default:
			r.span.SetAttributes(attribute.Int("http.response.status_code", code))
			if code >= 400 {
				r.span.SetAttributes(attribute.String("error.type", http.StatusText(code)))
				r.span.SetStatus(codes.Error, "HTTP "+http.StatusText(code))
			}
		}
	}
	r.span.End()
}

// errorType is a short class of a transport error, for error.type.
func errorType(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case dialError(err):
		return "dial"
	}
	return "transport"
}

// observeTransport observes every request sent through it (see
// beginRequest), redirects included. endpoint names the requests; "" names
// each by EndpointName of its path under the client's base URL.
type observeTransport struct {
	base     http.RoundTripper
	client   *Client
	endpoint string // fixed name, or "" to derive it from the path
}

// attemptKey marks the context of a retry with its attempt number (see
// Client.attemptRequest); first attempts carry none.
type attemptKey struct{}

// RoundTrip implements http.RoundTripper.
func (t *observeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ep := t.endpoint
	if ep == "" {
		ep = EndpointName(t.client.apiPath(req))
	}
	attempt, _ := req.Context().Value(attemptKey{}).(int)
	r := beginRequest(req.Context(), t.client.obs, req.Method, ep, req.URL.Host, attempt)
	resp, err := t.base.RoundTrip(req)
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	r.end(code, err)
	return resp, err
}

// EndpointName is the low-cardinality name of a Connect API path (as
// documented, without the base URL's prefix): the path after
// /v1/connect[/{project_id}], with every ID replaced by "{id}", e.g.
// "actions", "actions/run", "actions/{id}", "accounts/{id}",
// "components/configure", "apps", "tokens"; "token" for the OAuth token
// endpoint and "other" for anything else.
func EndpointName(path string) string {
	p := strings.Trim(path, "/")
	if p == tokenPath {
		return "token"
	}
	rest, ok := strings.CutPrefix(p, "v1/connect/")
	if !ok {
		return "other"
	}
	first, rest, _ := strings.Cut(rest, "/")
	if strings.HasPrefix(first, "proj_") {
		first, rest, _ = strings.Cut(rest, "/")
	}
	if !knownResources[first] {
		return "other"
	}
	if rest == "" {
		return first
	}
	second, more, _ := strings.Cut(rest, "/")
	switch {
	case knownOps[second] && more == "":
		return first + "/" + second
	case more == "":
		return first + "/{id}"
	}
	return first + "/{id}/*"
}

// knownResources are the Connect resources EndpointName names; other path
// words become "other", so that no ID ever becomes a name.
var knownResources = map[string]bool{
	"actions": true, "accounts": true, "apps": true, "components": true, "tokens": true,
	"triggers": true, "deployed-triggers": true, "users": true, "proxy": true, "projects": true,
}

// knownOps are the operation words that follow a resource.
var knownOps = map[string]bool{"run": true, "configure": true, "props": true, "deploy": true}
