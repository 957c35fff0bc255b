package pdclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

const (
	// tokenMargin is how long before its expiry a token stops being used.
	// Tokens with a short lifetime stop at half of it instead.
	tokenMargin = 2 * time.Minute
	// defaultTokenLifetime is assumed when the token endpoint gives no
	// expires_in (Pipedream documents one hour).
	defaultTokenLifetime = time.Hour
)

// tokenCache holds the current access token and fetches a new one, at most one
// fetch at a time, when it nears expiry or was refused.
type tokenCache struct {
	c    *Client
	conf clientcredentials.Config
	// ctx lives as long as the client and carries the token HTTP client; each
	// fetch derives its own timeout from it, so a caller that gives up does not
	// break the fetch other callers wait for.
	ctx context.Context

	mu        sync.Mutex
	token     string
	refreshAt time.Time
	group     singleflight.Group
}

func newTokenCache(c *Client, tokenURL string, hc *http.Client) *tokenCache {
	return &tokenCache{
		c: c,
		conf: clientcredentials.Config{
			ClientID:     c.cfg.ClientID,
			ClientSecret: c.cfg.ClientSecret,
			TokenURL:     tokenURL,
			AuthStyle:    oauth2.AuthStyleInParams,
		},
		ctx: context.WithValue(context.Background(), oauth2.HTTPClient, hc),
	}
}

// current returns the cached token if it is still usable.
func (tc *tokenCache) current() (string, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.token != "" && tc.c.now().Before(tc.refreshAt) {
		return tc.token, true
	}
	return "", false
}

// get returns a usable access token, fetching one if needed. Concurrent
// callers share one fetch; a caller whose ctx ends stops waiting, the fetch
// goes on for the others.
func (tc *tokenCache) get(ctx context.Context) (string, error) {
	if tok, ok := tc.current(); ok {
		return tok, nil
	}
	ch := tc.group.DoChan("token", func() (any, error) {
		if tok, ok := tc.current(); ok {
			return tok, nil
		}
		return tc.fetch(trace.SpanFromContext(ctx))
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("pdclient: waiting for an access token: %w", ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

// invalidate drops the cached token if it is still stale, so that the next get
// fetches a new one. Several callers refused with the same token cause one
// fetch.
func (tc *tokenCache) invalidate(stale string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.token == stale {
		tc.token = ""
	}
}

// fetch requests a token on the client's own context; the request is traced
// as a child of parent, the span of the caller that started the fetch.
func (tc *tokenCache) fetch(parent trace.Span) (string, error) {
	c := tc.c
	ctx, cancel := context.WithTimeout(trace.ContextWithSpan(tc.ctx, parent), tokenFetchTimeout)
	defer cancel()
	c.stats.tokenFetches.Add(1)
	t0 := time.Now()
	tok, err := tc.conf.Token(ctx)
	c.obs.TokenRefresh(err == nil)
	if err != nil {
		err = c.tokenError(err)
		c.logger.LogAttrs(ctx, slog.LevelDebug, "pipedream token request",
			slog.Duration("duration", time.Since(t0)), slog.String("error", c.redact.redact(err.Error())))
		return "", err
	}
	lifetime := defaultTokenLifetime
	if !tok.Expiry.IsZero() {
		lifetime = time.Until(tok.Expiry)
	}
	margin := min(tokenMargin, lifetime/2)
	c.redact.add(tok.AccessToken)
	tc.mu.Lock()
	tc.token = tok.AccessToken
	tc.refreshAt = c.now().Add(lifetime - margin)
	tc.mu.Unlock()
	c.logger.LogAttrs(ctx, slog.LevelDebug, "pipedream token request",
		slog.Duration("duration", time.Since(t0)), slog.Duration("lifetime", lifetime.Round(time.Second)))
	return tok.AccessToken, nil
}

// tokenError converts a token fetch failure: an error answer of the token
// endpoint becomes an *APIError, a transport failure names the endpoint.
func (c *Client) tokenError(err error) error {
	const path = "/" + tokenPath
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		e := &APIError{
			StatusCode: re.Response.StatusCode,
			Method:     http.MethodPost,
			Path:       path,
			RetryAfter: retryAfter(re.Response.Header, c.now()),
		}
		c.fillError(e, re.Body)
		if re.ErrorCode != "" {
			e.Code = capText(c.redact.redact(re.ErrorCode), 200)
			if e.Message == e.Code {
				e.Message = ""
			}
		}
		if re.ErrorDescription != "" {
			e.Message = capText(c.redact.redact(re.ErrorDescription), maxBodyText)
		}
		if e.Message == "" && e.Code != "" {
			e.Body = ""
		}
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("pdclient: POST %s: %w", path, err)
}

// tokenError marks a request that failed before it was sent because no
// access token could be had.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// authTransport adds the access token to requests under the base URL (its
// origin and path), and on a 401 refreshes the token once and sends the
// request once more (a 401 means the request was not acted on, so this holds
// for actions/run too). Requests elsewhere, such as a same-origin redirect out
// of the base path, go without the token.
type authTransport struct {
	base   http.RoundTripper
	tokens *tokenCache
	client *Client
	// bearer is the Authorization value of the last token seen ({token,
	// "Bearer "+token}), built once per token instead of once per request.
	bearer atomic.Pointer[[2]string]
}

// authorization is the Authorization header value for tok.
func (t *authTransport) authorization(tok string) string {
	if b := t.bearer.Load(); b != nil && b[0] == tok {
		return b[1]
	}
	b := &[2]string{tok, "Bearer " + tok}
	t.bearer.Store(b)
	return b[1]
}

// RoundTrip implements http.RoundTripper. It never modifies req.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.client.underBase(req.URL) {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	tok, err := t.tokens.get(ctx)
	if err != nil {
		closeBody(req)
		return nil, &tokenError{err}
	}
	r1 := req.Clone(ctx)
	r1.Header["Authorization"] = []string{t.authorization(tok)}
	t.client.stats.requests.Add(1)
	resp, err := t.base.RoundTrip(r1)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // cannot replay the body
	}
	t.client.logger.LogAttrs(ctx, slog.LevelDebug, "pipedream access token refused; refreshing",
		slog.String("path", t.client.apiPath(req)))
	t.tokens.invalidate(tok)
	fresh, err := t.tokens.get(ctx)
	if err != nil {
		drain(resp)
		return nil, &tokenError{err}
	}
	r2 := req.Clone(ctx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			drain(resp)
			return nil, err
		}
		r2.Body = body
	}
	drain(resp)
	r2.Header["Authorization"] = []string{t.authorization(fresh)}
	t.client.stats.requests.Add(1)
	return t.base.RoundTrip(r2)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
	_ = resp.Body.Close()
}

// headerTransport sets the User-Agent of token requests.
type headerTransport struct {
	base      http.RoundTripper
	userAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.userAgent)
	return t.base.RoundTrip(r)
}

// AccessToken returns a valid access token of the client's credentials, from
// the cache when it is not about to expire. It is meant for calling
// HTTP-triggered workflows protected by OAuth; treat it as a secret.
//
// Endpoint: POST /v1/oauth/token
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	tok, err := c.tokens.get(ctx)
	if err != nil {
		return "", err
	}
	return tok, nil
}

// InvalidateAccessToken drops the cached access token when it is still stale,
// so that the next AccessToken fetches a new one; for a token that another
// server (an HTTP-triggered workflow) refused. Concurrent callers refused with
// the same token cause one fetch.
func (c *Client) InvalidateAccessToken(stale string) {
	c.tokens.invalidate(stale)
}

// CheckCredentials verifies the credentials, project and environment with one
// token request and one project-scoped read (one account). A refused client is
// ErrUnauthorized, an unknown project ErrNotFound; other errors (network, 5xx)
// say nothing about the credentials.
//
// Endpoints: POST /v1/oauth/token, GET /v1/connect/{project_id}/accounts?limit=1
func (c *Client) CheckCredentials(ctx context.Context) error {
	if _, err := c.tokens.get(ctx); err != nil {
		return err
	}
	rel, err := c.projectPath("accounts")
	if err != nil {
		return err
	}
	return c.get(ctx, rel, url.Values{"limit": {"1"}}, nil)
}
