package pdclient

// This file owns the Connect proxy: an authenticated request to an app's own
// API as one end user's connected account, with the credentials injected by
// Pipedream (docs-v2/pages/connect/api-proxy.mdx).

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ProxyHeaderPrefix prefixes every header the proxy forwards to the app; the
// proxy strips it.
const ProxyHeaderPrefix = "x-pd-proxy-"

// ProxyMethods are the methods the Connect proxy accepts.
var ProxyMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// ProxyRequest is one request to an app's API through the Connect proxy.
type ProxyRequest struct {
	ExternalUserID string
	AccountID      string // apn_...: the account whose credentials Pipedream injects
	Method         string // one of ProxyMethods
	// URL is the target, query string included: an absolute URL on one of the
	// app's allowed domains, or a path the proxy resolves against the
	// account's own domain.
	URL string
	// Headers are sent to the app (as x-pd-proxy-<name>).
	Headers map[string]string
	// Body is sent as is, with ContentType (default application/json) as
	// the request's own Content-Type, which the proxy passes on.
	Body        []byte
	ContentType string
	// MaxResponseBytes bounds the body read (0: 32 MiB); a longer one is cut
	// and Truncated set.
	MaxResponseBytes int64
}

// ProxyResponse is the app's answer as the proxy passed it on: any status,
// the app's 4xx and 5xx included, is a response and not an error.
type ProxyResponse struct {
	StatusCode int
	Header     http.Header
	// Body is at most MaxResponseBytes of the body; text bodies have the
	// secrets this client knows or recognises redacted.
	Body      []byte
	Truncated bool
}

// ProxyPath is the proxy's path for target: the URL, query string included,
// in URL-safe base64 without padding.
func (c *Client) ProxyPath(target string) (string, error) {
	return c.projectPath("proxy", base64.RawURLEncoding.EncodeToString([]byte(target)))
}

// Proxy sends req through the Connect proxy. It is sent once: a proxied write
// is never repeated (a 401 refusing the access token is the exception, as for
// every request: the proxy did not act on it). An error means no answer came
// from the proxy.
//
// Endpoint: {GET|POST|PUT|PATCH|DELETE} /v1/connect/{project_id}/proxy/{url_64}?external_user_id=&account_id=
func (c *Client) Proxy(ctx context.Context, req ProxyRequest) (*ProxyResponse, error) {
	if req.ExternalUserID == "" || req.AccountID == "" || req.URL == "" {
		return nil, errors.New("pdclient: proxy: external user ID, account ID and URL are required")
	}
	if !slices.Contains(ProxyMethods, req.Method) {
		return nil, fmt.Errorf("pdclient: proxy: method %q is not one of %s", req.Method, strings.Join(ProxyMethods, ", "))
	}
	rel, err := c.ProxyPath(req.URL)
	if err != nil {
		return nil, err
	}
	q := url.Values{"external_user_id": {req.ExternalUserID}, "account_id": {req.AccountID}}
	hr, err := c.newRequest(ctx, req.Method, rel, q, nil)
	if err != nil {
		return nil, err
	}
	hr.Header.Del("Accept")
	for name, v := range req.Headers {
		hr.Header.Set(ProxyHeaderPrefix+strings.ToLower(name), v)
	}
	if req.Body != nil {
		body := req.Body
		hr.Body = io.NopCloser(bytes.NewReader(body))
		hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		hr.ContentLength = int64(len(body))
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	limit := req.MaxResponseBytes
	if limit <= 0 {
		limit = maxResponseBytes
	}
	path := c.apiPath(hr)
	resp, err := c.sendOnce(hr, path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("pdclient: %s %s: reading response: %w", req.Method, path, err)
	}
	out := &ProxyResponse{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: data}
	if int64(len(data)) > limit {
		out.Body, out.Truncated = data[:limit], true
	}
	if isText(resp.Header.Get("Content-Type")) {
		out.Body = []byte(c.redact.redact(string(out.Body)))
	}
	return out, nil
}

// sendOnce sends req without retries and logs the attempt; an error means no
// response came.
func (c *Client) sendOnce(req *http.Request, path string) (*http.Response, error) {
	t0 := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		_, err = c.noResponse(req, path, retryRun, err, 1, t0)
		return nil, err
	}
	c.logAttempt(req.Context(), req.Method, path, resp.StatusCode, time.Since(t0), 1, nil)
	return resp, nil
}

// isText reports whether a Content-Type names text or JSON (or is absent).
func isText(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
		strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}
