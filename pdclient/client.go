package pdclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultBaseURL is the origin of the Pipedream REST API.
const DefaultBaseURL = "https://api.pipedream.com"

// DefaultUserAgent is the product part of the User-Agent header.
const DefaultUserAgent = "pipedream-mcp"

// Defaults for Config's cache lifetimes.
const (
	DefaultCatalogTTL  = 10 * time.Minute
	DefaultAccountsTTL = 30 * time.Second
)

// Defaults for Config's listing bounds.
const (
	// DefaultMaxListItems is the default Config.MaxListItems.
	DefaultMaxListItems = 10_000
	// DefaultMaxListBytes is the default Config.MaxListBytes, 64 MiB.
	DefaultMaxListBytes int64 = 64 << 20
)

const (
	// tokenPath is the client-credentials token endpoint, relative to the base URL.
	tokenPath = "v1/oauth/token"
	// tokenFetchTimeout bounds one token request; it runs on the client's own
	// context, not on any caller's.
	tokenFetchTimeout = 30 * time.Second
	// sharedFetchTimeout bounds a collapsed catalog or accounts fetch, which runs
	// detached from the caller that started it so that other waiters still get
	// its result when that caller goes away.
	sharedFetchTimeout = 2 * time.Minute
	// maxResponseBytes caps a successful response body, a listing's page
	// included (Config.MaxListBytes may cap it lower).
	maxResponseBytes int64 = 32 << 20
	// maxErrorBytes caps how much of an error body is read.
	maxErrorBytes = 64 << 10
	// listLimit is the page size asked for; the API may ignore it.
	listLimit = 100
	// fillConcurrency bounds the single-action reads that fill slim list items.
	fillConcurrency = 4
)

// Config holds the settings of a Client. ClientID, ClientSecret, ProjectID and
// Environment are required; the rest have defaults.
type Config struct {
	// ClientID and ClientSecret are the OAuth client of the Pipedream project
	// (PIPEDREAM_CLIENT_ID, PIPEDREAM_CLIENT_SECRET).
	ClientID, ClientSecret string
	// ProjectID is the Connect project, "proj_..." (PIPEDREAM_PROJECT_ID).
	ProjectID string
	// Environment is "development" or "production" (PIPEDREAM_PROJECT_ENVIRONMENT),
	// sent as x-pd-environment. Accounts exist per environment.
	Environment string

	// BaseURL is the API origin, default "https://api.pipedream.com". It may
	// carry a path prefix; the token URL is {BaseURL}/v1/oauth/token.
	BaseURL string
	// UserAgent is the product name sent in User-Agent, default "pipedream-mcp".
	UserAgent string
	// Version is appended to the user agent: "pipedream-mcp/<Version>".
	Version string
	// CatalogTTL is how long app metadata and action catalogs are cached,
	// default 10m.
	CatalogTTL time.Duration
	// AccountsTTL is how long a user's account list is cached, default 30s.
	AccountsTTL time.Duration

	// MaxListItems bounds the items of one listing: all the pages of an app's
	// actions or of a user's accounts, one page of apps or of a prop's
	// options. Default 10,000 (DefaultMaxListItems); 0 means the default,
	// negative is refused. A listing past it fails with a
	// *ListingTooLargeError (ErrListingTooLarge) and is never cached, so an
	// upstream whose cursors never end cannot fill memory; the last good
	// catalog stays in the cache.
	MaxListItems int
	// MaxListBytes bounds the response bytes of one listing, all its pages
	// together, in the same way. Default 64 MiB (DefaultMaxListBytes); 0 means
	// the default, negative is refused. A single response is never read past
	// 32 MiB, whatever this says.
	MaxListBytes int64
}

// Option customises a Client built by New.
type Option func(*Client)

// WithHTTPClient sets the HTTP client whose transport and timeout are used
// for both API and token calls. The client is copied; its transport is
// wrapped, never modified. pdclient's redirect policy is set on the copies
// whatever the client's own: API requests follow redirects only within the
// API's origin (SameOriginRedirects, then the client's CheckRedirect, which
// may refuse more), the token request follows none (NoRedirects).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.baseHTTP = hc
		}
	}
}

// WithLogger sets the logger. The client writes one debug line per HTTP
// attempt (method, path, status, duration, attempt) and one warn line per
// retry (endpoint, attempt, wait, the failure), under the caller's context,
// and never logs bodies, tokens or secrets. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithRetry sets the retry policy; zero fields keep their defaults.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p }
}

// Client is a Pipedream Connect REST client for one project and environment.
// It is safe for concurrent use. Build it with New.
type Client struct {
	cfg       Config
	base      *url.URL // ends in "/"
	baseURL   string   // base.String()
	basePath  string   // escaped path of base without its final "/"
	userAgent string
	// getHeader and postHeader are the headers of every request (Accept,
	// User-Agent, x-pd-environment; Content-Type with a body).
	getHeader, postHeader http.Header

	baseHTTP *http.Client // as given by WithHTTPClient (or a default)
	budget   *readBudget  // component reads, shared by the project's clients
	fleet    Budget       // the fleet's budget (WithBudget); nil: budget alone
	http     *http.Client // baseHTTP with the auth transport
	tokens   *tokenCache
	retry    RetryPolicy
	logger   *slog.Logger
	obs      Observer // metrics (observe.go); never nil
	redact   *redactor
	now      func() time.Time // clock of token expiry and Retry-After dates

	store   Store // apps, action catalogs and account lists (store.go)
	flights singleflight.Group
	// accGen counts account invalidations: a fetch that started before one
	// is not joined by callers after it.
	accGen atomic.Uint64

	stats struct {
		requests, tokenFetches, retries, cacheHits, cacheMisses atomic.Int64
	}
}

// Stats counts what a Client has done since it was built.
type Stats struct {
	// Requests is the number of HTTP requests sent to the Connect API,
	// including retries (token requests not included).
	Requests int64
	// TokenFetches is the number of token requests.
	TokenFetches int64
	// Retries is the number of attempts after a first one.
	Retries int64
	// CacheHits and CacheMisses count catalog and account cache lookups.
	CacheHits, CacheMisses int64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:     c.stats.requests.Load(),
		TokenFetches: c.stats.tokenFetches.Load(),
		Retries:      c.stats.retries.Load(),
		CacheHits:    c.stats.cacheHits.Load(),
		CacheMisses:  c.stats.cacheMisses.Load(),
	}
}

// New validates cfg, applies the options and returns a Client. Every invalid
// setting is reported at once in a *ConfigError. No request is made; use
// CheckCredentials to verify the credentials.
func New(cfg Config, opts ...Option) (*Client, error) {
	c := &Client{
		baseHTTP: &http.Client{},
		logger:   slog.New(slog.DiscardHandler),
		obs:      nopObserver{},
		now:      time.Now,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.CatalogTTL == 0 {
		cfg.CatalogTTL = DefaultCatalogTTL
	}
	if cfg.AccountsTTL == 0 {
		cfg.AccountsTTL = DefaultAccountsTTL
	}
	if cfg.MaxListItems == 0 {
		cfg.MaxListItems = DefaultMaxListItems
	}
	if cfg.MaxListBytes == 0 {
		cfg.MaxListBytes = DefaultMaxListBytes
	}
	base, err := c.validate(&cfg)
	if err != nil {
		return nil, err
	}
	c.cfg = cfg
	c.base, c.baseURL = base, base.String()
	c.basePath = strings.TrimSuffix(base.EscapedPath(), "/")
	c.userAgent = cfg.UserAgent
	if cfg.Version != "" {
		c.userAgent += "/" + cfg.Version
	}
	c.getHeader = http.Header{"Accept": {"application/json"}, "User-Agent": {c.userAgent}, "X-Pd-Environment": {cfg.Environment}}
	c.postHeader = c.getHeader.Clone()
	c.postHeader.Set("Content-Type", "application/json")
	c.retry = c.retry.withDefaults()
	c.redact = newRedactor(cfg.ClientSecret)
	c.budget = componentBudget(base.Scheme+"://"+base.Host, cfg.ProjectID)

	baseRT := c.baseHTTP.Transport
	if baseRT == nil {
		baseRT = defaultTransport
	}
	tokenHTTP := *c.baseHTTP
	tokenHTTP.Transport = &headerTransport{base: &observeTransport{base: baseRT, client: c, endpoint: "token"}, userAgent: c.userAgent}
	tokenHTTP.CheckRedirect = NoRedirects
	c.tokens = newTokenCache(c, base.JoinPath(tokenPath).String(), &tokenHTTP)

	api := *c.baseHTTP
	api.Transport = &authTransport{base: &observeTransport{base: baseRT, client: c}, tokens: c.tokens, client: c}
	api.CheckRedirect = withPolicy(SameOriginRedirects, c.baseHTTP.CheckRedirect)
	c.http = &api

	if c.store == nil {
		c.store = NewMemoryStore()
	}
	return c, nil
}

// defaultTransport is the transport of clients built without WithHTTPClient
// (or with a client that has none): http.DefaultTransport with a larger idle
// pool. The default keeps 2 idle connections per host, so with more than 2
// calls in flight every extra response closed its connection and the next
// request dialed again (a TCP and a TLS handshake, and a socket left in
// TIME_WAIT): under 16 concurrent calls about 1 in 8 requests re-dialed.
// Shared by every client, like http.DefaultTransport, so clients of the same
// API share connections.
var defaultTransport http.RoundTripper = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}()

// validate checks cfg (defaults already applied) and the options, and returns
// the parsed base URL with a trailing slash.
func (c *Client) validate(cfg *Config) (*url.URL, error) {
	var ce ConfigError
	ce.checkCredentials(cfg)
	ce.checkEnvironment(cfg.Environment)
	base := ce.checkBaseURL(cfg.BaseURL)
	ce.checkTuning(cfg, c.retry)
	if len(ce.Problems) > 0 {
		return nil, &ce
	}
	if !strings.HasSuffix(base.Path, "/") {
		base = base.JoinPath("/")
	}
	return base, nil
}

// add records a problem with field.
func (ce *ConfigError) add(field, format string, args ...any) {
	ce.Problems = append(ce.Problems, ConfigProblem{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// checkCredentials checks ClientID, ClientSecret and ProjectID.
func (ce *ConfigError) checkCredentials(cfg *Config) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		ce.add("ClientID", "is required")
	}
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		ce.add("ClientSecret", "is required")
	}
	switch p := cfg.ProjectID; {
	case strings.TrimSpace(p) == "":
		ce.add("ProjectID", "is required")
	case !validProjectID(p):
		ce.add("ProjectID", "%q is not a project ID (proj_...)", p)
	}
}

// checkEnvironment checks Environment.
func (ce *ConfigError) checkEnvironment(env string) {
	switch env {
	case "development", "production":
	case "":
		ce.add("Environment", `is required ("development" or "production")`)
	default:
		ce.add("Environment", `%q must be "development" or "production"`, env)
	}
}

// checkBaseURL checks BaseURL and returns it parsed (nil when it does not
// parse).
func (ce *ConfigError) checkBaseURL(raw string) *url.URL {
	base, err := url.Parse(raw)
	switch {
	case err != nil:
		ce.add("BaseURL", "is not a URL")
	case base.Scheme != "http" && base.Scheme != "https":
		ce.add("BaseURL", "%q must be an http or https URL", base.Redacted())
	case base.Host == "":
		ce.add("BaseURL", "%q has no host", base.Redacted())
	case base.User != nil:
		ce.add("BaseURL", "must not carry credentials")
	case base.RawQuery != "" || base.Fragment != "":
		ce.add("BaseURL", "%q must not have a query or fragment", base.Redacted())
	}
	return base
}

// checkTuning checks the user agent, the cache and list limits and the retry
// policy r.
func (ce *ConfigError) checkTuning(cfg *Config, r RetryPolicy) {
	if strings.ContainsFunc(cfg.UserAgent+cfg.Version, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		ce.add("UserAgent", "contains control characters")
	}
	if cfg.CatalogTTL < 0 {
		ce.add("CatalogTTL", "must not be negative")
	}
	if cfg.AccountsTTL < 0 {
		ce.add("AccountsTTL", "must not be negative")
	}
	if cfg.MaxListItems < 0 {
		ce.add("MaxListItems", "must not be negative")
	}
	if cfg.MaxListBytes < 0 {
		ce.add("MaxListBytes", "must not be negative")
	}
	if r.MaxAttempts < 0 || r.BaseDelay < 0 || r.MaxDelay < 0 || r.MaxElapsed < 0 {
		ce.add("RetryPolicy", "must not have negative fields")
	}
}

func validProjectID(p string) bool {
	rest, ok := strings.CutPrefix(p, "proj_")
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// ProjectID returns the configured project ID.
func (c *Client) ProjectID() string { return c.cfg.ProjectID }

// Environment returns the configured environment ("development" or "production").
func (c *Client) Environment() string { return c.cfg.Environment }

// connectPath builds the escaped relative path v1/connect/{segs...}.
func connectPath(segs ...string) (string, error) {
	var b strings.Builder
	b.WriteString("v1/connect")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("pdclient: invalid path segment %q", s)
		}
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String(), nil
}

// projectPath builds v1/connect/{project_id}/{segs...}.
func (c *Client) projectPath(segs ...string) (string, error) {
	return connectPath(append([]string{c.cfg.ProjectID}, segs...)...)
}

// newRequest builds a Connect API request. rel is an escaped path relative to
// the base URL (it never starts with "/", so a base path prefix is kept); body,
// when not nil, is sent as JSON and can be replayed for retries.
func (c *Client) newRequest(ctx context.Context, method, rel string, query url.Values, body any) (*http.Request, error) {
	if strings.HasPrefix(rel, "/") {
		return nil, fmt.Errorf("pdclient: relative path %q must not start with /", rel)
	}
	u := c.baseURL + rel
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		// Sized for the usual request (a run's props): written once.
		buf := bytes.NewBuffer(make([]byte, 0, 1024))
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return nil, fmt.Errorf("pdclient: encoding %s /%s: %w", method, rel, err)
		}
		rd = bytes.NewReader(buf.Bytes())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("pdclient: %s /%s: %w", method, rel, err)
	}
	// The same headers on every request: a copy of a prepared set is one
	// map and one slice instead of a slice per header (and a canonical key
	// made per request for x-pd-environment).
	if body != nil {
		req.Header = c.postHeader.Clone()
	} else {
		req.Header = c.getHeader.Clone()
	}
	return req, nil
}

// apiPath is the request's path as the API documents it (without the base
// URL's prefix and without the query), used in errors and logs.
func (c *Client) apiPath(req *http.Request) string {
	p := strings.TrimPrefix(req.URL.EscapedPath(), c.basePath)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// doLimit sends req, retrying as kind allows, checks the response and
// decodes a successful body into v (when v is not nil), reading at most limit
// bytes of it: a larger one is an error that wraps ErrResponseTooLarge. It is, with newRequest, the only
// code that touches HTTP.
func (c *Client) doLimit(req *http.Request, kind retryKind, v any, limit int64) error {
	ctx := req.Context()
	path := c.apiPath(req)
	start := time.Now()
	for attempt := 1; ; attempt++ {
		retry, wait, err := c.attempt(req, path, kind, v, limit, attempt)
		if !retry {
			return err
		}
		if !c.sleep(ctx, attempt, wait, start, path, err) {
			return c.gaveUp(ctx, req.Method, path, err)
		}
	}
}

// attempt sends req once, as attempt number n of doLimit, and checks and
// decodes the answer. When retry is false, err is the result of the call;
// when it is true, err is the failure to retry after and wait the delay the
// API asked for (0 when none).
func (c *Client) attempt(req *http.Request, path string, kind retryKind, v any, limit int64, n int) (retry bool, wait time.Duration, err error) {
	ctx := req.Context()
	r, err := c.attemptRequest(req, path, n)
	if err != nil {
		return false, 0, err
	}
	answered, err := c.spend(ctx, req.Method, path)
	if err != nil {
		return false, 0, err
	}
	t0 := time.Now()
	resp, err := c.http.Do(r)
	answered()
	if err != nil {
		retry, err = c.noResponse(req, path, kind, err, n, t0)
		return retry, 0, err
	}
	c.logAttempt(ctx, req.Method, path, resp.StatusCode, time.Since(t0), n, nil)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		err := c.decode(resp, req.Method, path, v, limit)
		// A body cut off mid-way (connection reset, early EOF) is a
		// transient failure like any other for requests that may be
		// repeated; a body that is complete but not JSON is not.
		retry := err != nil && kind == retryRead && ctx.Err() == nil && transient(err) && n < c.retry.MaxAttempts
		return retry, 0, err
	}
	apiErr := c.checkResponse(resp, req.Method, path)
	if !kind.retryStatus(resp.StatusCode) || n >= c.retry.MaxAttempts {
		return false, 0, apiErr
	}
	return true, apiErr.RetryAfter, apiErr
}

// spend waits for the request budget one attempt of method on path counts
// against (Pipedream counts every attempt): component reads, and with a
// shared budget runs too. It returns the function to call when the
// attempt's answer is in.
func (c *Client) spend(ctx context.Context, method, path string) (func(), error) {
	switch {
	case method == http.MethodGet && isComponentRead(path) && c.fleet != nil:
		return c.waitShared(ctx, BudgetComponentReads)
	case method == http.MethodGet && isComponentRead(path):
		return func() {}, c.waitComponentRead(ctx)
	case method == http.MethodPost && isExecution(path) && c.fleet != nil:
		return c.waitShared(ctx, BudgetRuns)
	}
	return func() {}, nil
}

// attemptRequest is the request to send as attempt number n: req itself
// first, then a clone with a fresh body.
func (c *Client) attemptRequest(req *http.Request, path string, n int) (*http.Request, error) {
	if n <= 1 {
		return req, nil
	}
	c.stats.retries.Add(1)
	c.obs.Retry(EndpointName(path))
	r := req.Clone(context.WithValue(req.Context(), attemptKey{}, n))
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("pdclient: %s %s: %w", req.Method, path, err)
		}
		r.Body = body
	}
	return r, nil
}

// noResponse handles attempt n of req, sent at t0, that got no response but
// err: it returns the error the caller sees and whether to try again.
func (c *Client) noResponse(req *http.Request, path string, kind retryKind, err error, n int, t0 time.Time) (bool, error) {
	ctx := req.Context()
	if ctx.Err() != nil {
		return false, fmt.Errorf("pdclient: %s %s: %w", req.Method, path, ctx.Err())
	}
	err, sent := c.transportError(req.Method, path, err)
	c.logAttempt(ctx, req.Method, path, 0, time.Since(t0), n, err)
	return kind.retryError(err, sent) && n < c.retry.MaxAttempts, err
}

// gaveUp is the error of a call that stopped retrying: the last error, or,
// when ctx ended during the wait, the context's error naming the last one.
func (c *Client) gaveUp(ctx context.Context, method, path string, last error) error {
	if ctx.Err() == nil {
		return last
	}
	prefix := "pdclient: " + method + " " + path + ": "
	return fmt.Errorf("%s%w (while waiting to retry after: %s)", prefix, ctx.Err(), strings.TrimPrefix(last.Error(), prefix))
}

// transportError turns an http.Client error into the error the caller sees,
// and reports whether the request may have reached the API.
func (c *Client) transportError(method, path string, err error) (error, bool) {
	var te *tokenError
	if errors.As(err, &te) {
		// The access token could not be had: nothing was sent.
		var ae *APIError
		if errors.As(te.err, &ae) {
			return ae, false
		}
		return te.err, false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("pdclient: %s %s: %w", method, path, err), !dialError(err)
}

func (c *Client) logAttempt(ctx context.Context, method, path string, status int, d time.Duration, attempt int, err error) {
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int("attempt", attempt),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", c.redact.redact(err.Error())))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "pipedream request", attrs...)
}

// decode reads a 2xx body of at most limit bytes into v; a larger body is an
// error wrapping ErrResponseTooLarge, and no more than limit+1 bytes of it are
// read. An empty body leaves v unchanged.
func (c *Client) decode(resp *http.Response, method, path string, v any, limit int64) error {
	defer resp.Body.Close()
	if v == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
		return nil
	}
	// Sized for the announced length: one allocation (ReadFrom wants MinRead
	// spare bytes to see the end without growing).
	var buf bytes.Buffer
	if n := resp.ContentLength; n >= 0 && n <= limit {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	data := buf.Bytes()
	if err != nil {
		if ctx := resp.Request.Context(); ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("pdclient: %s %s: reading response: %w", method, path, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("pdclient: %s %s: %w: more than %d bytes", method, path, ErrResponseTooLarge, limit)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if rm, ok := v.(*json.RawMessage); ok && json.Valid(data) {
		// One validating pass and no copy: json.Unmarshal would scan twice
		// and copy, and callers parse the raw body again anyway.
		*rm = data
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("pdclient: %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// get is do for a GET whose body is decoded into v.
func (c *Client) get(ctx context.Context, rel string, query url.Values, v any) error {
	return c.getLimit(ctx, rel, query, v, maxResponseBytes)
}

// getLimit is get reading at most limit bytes of the body (see doLimit).
func (c *Client) getLimit(ctx context.Context, rel string, query url.Values, v any, limit int64) error {
	req, err := c.newRequest(ctx, http.MethodGet, rel, query, nil)
	if err != nil {
		return err
	}
	return c.doLimit(req, retryRead, v, limit)
}

// post is do for a POST with a JSON body.
func (c *Client) post(ctx context.Context, rel string, body any, kind retryKind, v any) error {
	return c.postLimit(ctx, rel, body, kind, v, maxResponseBytes)
}

// postLimit is post reading at most limit bytes of the body (see doLimit).
func (c *Client) postLimit(ctx context.Context, rel string, body any, kind retryKind, v any, limit int64) error {
	req, err := c.newRequest(ctx, http.MethodPost, rel, nil, body)
	if err != nil {
		return err
	}
	return c.doLimit(req, kind, v, limit)
}
