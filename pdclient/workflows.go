package pdclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const (
	// maxWorkflowBody bounds how much of a workflow's answer is read; the rest
	// is cut off.
	maxWorkflowBody = 8 << 20
	// minRedactedLen is the length below which a credential is not searched for
	// in a workflow's answer: a short one would blank out ordinary text.
	minRedactedLen = 8
	// bodyRedacted replaces, in a workflow's answer, the credential sent to it.
	bodyRedacted = "[redacted]"
)

// workflowHTTP sends workflow requests: pdclient's pooled transport, and
// redirects followed only within the workflow's origin (its headers carry
// the credential and the end user).
var workflowHTTP = &http.Client{Transport: defaultTransport, CheckRedirect: SameOriginRedirects}

// WorkflowRequest is one call of a deployed HTTP-triggered workflow.
type WorkflowRequest struct {
	// URL is the workflow's endpoint, an http or https URL without
	// credentials. pdclient does not check its host; the caller must.
	URL string
	// Body is the JSON body, sent as it is.
	Body []byte
	// ExternalUserID is sent as X-PD-External-User-ID: the end user the
	// workflow runs for.
	ExternalUserID string
	// Environment is sent as X-PD-Environment, unless "".
	Environment string
	// Token, when set, gives the access token sent as "Authorization: Bearer"
	// (a trigger protected by OAuth); (*Client).AccessToken is one.
	Token func(ctx context.Context) (string, error)
	// InvalidateToken, when set with Token, drops a token the trigger refused
	// with a 401 (which means the workflow did not run): the request is then
	// sent once more with a fresh token. (*Client).InvalidateAccessToken is one.
	InvalidateToken func(stale string)
	// BearerToken, when Token is nil, is sent as "Authorization: Bearer" (a
	// trigger protected by a static token); "" sends no Authorization.
	BearerToken string
	// Observer, when set, is told of each request as endpoint "workflow".
	// Requests are also counted (CountRequests) and traced like the Connect
	// API's, whether it is set or not.
	Observer Observer
}

// WorkflowResponse is a workflow's HTTP answer, whatever its status: a
// workflow's own 4xx or 5xx is its result, for the caller to read.
type WorkflowResponse struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Body is the body, cut at 8 MiB, with the credential the request sent
	// replaced by "[redacted]" (a workflow that echoes its request must not
	// hand it on).
	Body []byte
	// RetryAfter is the wait the answer asked for (Retry-After, in seconds or
	// as an HTTP date, or Retry-After-Ms), or 0.
	RetryAfter time.Duration
}

// WorkflowError is a workflow call that got no HTTP answer: no access token
// could be had (NoToken; nothing was sent), a redirect was refused (Err
// matches ErrRedirectRefused and is a *RedirectError), the context ended, or
// the connection failed. It never holds the credential, the body or the
// URL's query.
type WorkflowError struct {
	// Endpoint is the workflow's URL without its query: scheme://host/path.
	Endpoint string
	// NoToken is true when Token failed: Err is its error (an *APIError of the
	// token endpoint, a network or a context error).
	NoToken bool
	// Err is the cause.
	Err error
}

// Error reads like "pdclient: POST https://en1.m.pipedream.net/: dial tcp ...:
// connection refused" or "pdclient: POST https://en1.m.pipedream.net/: no
// access token: ...".
func (e *WorkflowError) Error() string {
	if e.NoToken {
		return "pdclient: POST " + e.Endpoint + ": no access token: " + e.Err.Error()
	}
	return "pdclient: POST " + e.Endpoint + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *WorkflowError) Unwrap() error { return e.Err }

// InvokeWorkflow POSTs req.Body to the workflow at req.URL with the headers of
// a Connect call for an end user, and returns its answer, whatever the status.
// It follows redirects within the URL's origin only (SameOriginRedirects:
// nothing is sent to another), does not retry (a workflow may not be
// idempotent) except once after a 401 refusing a refreshable token, and
// returns a *WorkflowError when no answer came. Bound its time with ctx.
func InvokeWorkflow(ctx context.Context, req WorkflowRequest) (*WorkflowResponse, error) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, errors.New("pdclient: a workflow URL must be an http or https URL without credentials")
	}
	endpoint := u.Scheme + "://" + u.Host + u.EscapedPath()
	secret := req.BearerToken
	if req.Token != nil {
		if secret, err = req.Token(ctx); err != nil {
			return nil, &WorkflowError{Endpoint: endpoint, NoToken: true, Err: err}
		}
	}
	resp, secret, err := sendWorkflow(ctx, u, req, secret)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &WorkflowError{Endpoint: endpoint, Err: err}
	}
	if len(secret) >= minRedactedLen {
		resp.Body = bytes.ReplaceAll(resp.Body, []byte(secret), []byte(bodyRedacted))
	}
	return resp, nil
}

// sendWorkflow sends the request with secret and, when the trigger refuses
// with a 401 a token that can be refreshed (so the workflow did not run),
// once more with a fresh token. It returns the answer and the secret sent for
// it.
func sendWorkflow(ctx context.Context, u *url.URL, req WorkflowRequest, secret string) (*WorkflowResponse, string, error) {
	resp, err := postWorkflow(ctx, u, req, secret)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || req.Token == nil || req.InvalidateToken == nil {
		return resp, secret, err
	}
	req.InvalidateToken(secret)
	fresh, err := req.Token(ctx)
	if err != nil || fresh == secret {
		return resp, secret, nil // the refusal stands
	}
	resp, err = postWorkflow(ctx, u, req, fresh)
	return resp, fresh, err
}

// postWorkflow sends one request and reads its answer, at most maxWorkflowBody
// of it. An error is the cause, a *url.Error taken off.
func postWorkflow(ctx context.Context, u *url.URL, req WorkflowRequest, secret string) (*WorkflowResponse, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json, text/plain;q=0.9, */*;q=0.8")
	hreq.Header.Set("X-PD-External-User-ID", req.ExternalUserID)
	if req.Environment != "" {
		hreq.Header.Set("X-PD-Environment", req.Environment)
	}
	if secret != "" {
		hreq.Header.Set("Authorization", "Bearer "+secret)
	}
	obs := req.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	sent := beginRequest(ctx, obs, http.MethodPost, "workflow", u.Host, 1)
	resp, err := workflowHTTP.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		sent.end(0, err)
		return nil, err
	}
	sent.end(resp.StatusCode, nil)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWorkflowBody))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return &WorkflowResponse{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Body:       body,
		RetryAfter: retryAfter(resp.Header, time.Now()),
	}, nil
}
