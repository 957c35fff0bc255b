package pdclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Sentinel errors matched by errors.Is against an *APIError.
var (
	// ErrNotFound matches a 404: an unknown app, action, account or project.
	ErrNotFound = errors.New("pdclient: not found")
	// ErrUnauthorized matches a 401, and a token endpoint answer of
	// invalid_client: the credentials were refused.
	ErrUnauthorized = errors.New("pdclient: unauthorized")
	// ErrRateLimited matches a 429; APIError.RetryAfter says when to try again.
	ErrRateLimited = errors.New("pdclient: rate limited")
	// ErrResponseTooLarge is wrapped by the error of a successful response
	// whose body is larger than pdclient reads (32 MiB), which is not decoded.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrListingTooLarge matches a *ListingTooLargeError.
	ErrListingTooLarge = errors.New("pdclient: listing too large")
)

// ListingTooLargeError is a listing stopped at Config.MaxListItems or
// Config.MaxListBytes. Nothing of it is returned or cached. Match it with
// errors.As, or errors.Is and ErrListingTooLarge.
type ListingTooLargeError struct {
	// Listing names what was listed: "actions of app \"slack\"", "apps", ...
	Listing string
	// Method and Path are the listing's request (API path, without query).
	Method, Path string
	// Setting is the Config field that stopped it, "MaxListItems" or
	// "MaxListBytes", and Limit its value.
	Setting string
	Limit   int64
	// Items, Bytes and Pages are what had been read when it stopped.
	Items int
	Bytes int64
	Pages int
}

// Error reads like "pdclient: GET /v1/connect/proj_x/actions: listing too
// large: actions of app "slack": more than 10000 items (read 10100 items,
// 5120000 bytes in 101 pages); raise MaxListItems to allow more".
func (e *ListingTooLargeError) Error() string {
	unit := "items"
	if e.Setting == settingMaxListBytes {
		unit = "bytes"
	}
	return fmt.Sprintf("pdclient: %s %s: listing too large: %s: more than %d %s (read %d items, %d bytes in %d pages); raise %s to allow more",
		e.Method, e.Path, e.Listing, e.Limit, unit, e.Items, e.Bytes, e.Pages, e.Setting)
}

// Is matches ErrListingTooLarge.
func (e *ListingTooLargeError) Is(target error) bool { return target == ErrListingTooLarge }

// maxBodyText caps APIError.Body.
const maxBodyText = 2048

// APIError is an HTTP error answer of the Connect API or of its token
// endpoint. Every error answer becomes one; match it with errors.As, or its
// class with errors.Is and ErrNotFound, ErrUnauthorized or ErrRateLimited.
// Known secrets (the client secret, access tokens, Connect tokens) are
// redacted from every field.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the API's message ("error", "message", "detail" or
	// "error_description" of a JSON body).
	Message string
	// Code is the API's error code when it sent one (for the token endpoint,
	// the OAuth error such as "invalid_client").
	Code string
	// Details is the API's "details" value, as JSON.
	Details json.RawMessage
	// RetryAfter is the wait the API asked for (Retry-After, in seconds or as
	// an HTTP date), or 0.
	RetryAfter time.Duration
	// Body is the raw body, capped, when it was not JSON or carried no message.
	Body string
	// Method and Path are the request's method and API path (without query).
	Method, Path string
}

// Error reads like "pdclient: GET /v1/connect/apps/x: 404 Not Found: app not found".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pdclient: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Body != "":
		b.WriteString(": ")
		b.WriteString(e.Body)
	}
	if e.Code != "" && e.Code != e.Message {
		fmt.Fprintf(&b, " (code %s)", e.Code)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Is matches ErrNotFound (404), ErrUnauthorized (401 or code invalid_client)
// and ErrRateLimited (429).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.Code == "invalid_client"
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// ComponentError is a component-level failure the API reported with HTTP 200:
// errors[] of configure and props calls, and error observations (os[] entries
// with k "error") or errors[] of a run. The method that returns it also returns
// the decoded, non-nil response, so the caller keeps observations, exports and
// any partial result.
type ComponentError struct {
	// Op is "configure", "props" or "run".
	Op string
	// Messages holds one message per error, "Name: message" when the API gave
	// a name.
	Messages []string
}

// Error reads like "pdclient: run: TypeError: x is undefined".
func (e *ComponentError) Error() string {
	if len(e.Messages) == 0 {
		return "pdclient: " + e.Op + ": failed"
	}
	return "pdclient: " + e.Op + ": " + strings.Join(e.Messages, "; ")
}

// ConfigError lists every invalid Config setting found by New.
type ConfigError struct {
	Problems []ConfigProblem
}

// ConfigProblem is one invalid Config field.
type ConfigProblem struct {
	// Field is the Config field name ("ClientID", "Environment", ...).
	Field string
	// Problem says what is wrong; it never holds a secret.
	Problem string
}

// Error names every problem: "pdclient: invalid configuration: ClientID is
// required; Environment "prod" must be ...".
func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + " " + p.Problem
	}
	return "pdclient: invalid configuration: " + strings.Join(parts, "; ")
}

// checkResponse turns a non-2xx response into an *APIError, reading (a capped
// part of) its body and closing it. It is the only place that builds an
// APIError from a Connect API answer.
func (c *Client) checkResponse(resp *http.Response, method, path string) *APIError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     method,
		Path:       path,
		RetryAfter: retryAfter(resp.Header, c.now()),
	}
	c.fillError(e, body)
	return e
}

// fillError sets Message, Code, Details and Body from an error body, redacted.
func (c *Client) fillError(e *APIError, body []byte) {
	body = bytes.TrimSpace(body)
	var m map[string]json.RawMessage
	if len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &m) == nil {
		e.Message = firstText(m, "error_description", "message", "detail", "title")
		if er, ok := m["error"]; ok {
			e.fillFromErrorField(er)
		}
		if code := firstText(m, "code"); code != "" {
			e.Code = code
		}
		if d, ok := m["details"]; ok && !isNull(d) {
			e.Details = c.redactJSON(d)
		}
		if e.Message == "" {
			// A failed run may answer {"data": {"os": [...]}} or {"os": [...]}.
			e.Message = strings.Join(errorObservations(m), "; ")
		}
		if e.Message == "" {
			e.Body = capText(c.redact.redact(string(body)), maxBodyText)
		}
	} else if len(body) > 0 {
		e.Body = capText(c.redact.redact(string(body)), maxBodyText)
	}
	e.Message = capText(c.redact.redact(e.Message), maxBodyText)
	e.Code = capText(c.redact.redact(e.Code), 200)
}

// fillFromErrorField sets Message or Code from the "error" field of an error
// body, er: a message, an OAuth code (with error_description), or an object
// {message, code}. It does not redact.
func (e *APIError) fillFromErrorField(er json.RawMessage) {
	var inner map[string]json.RawMessage
	switch {
	case json.Unmarshal(er, &inner) == nil && inner != nil:
		if e.Message == "" {
			e.Message = firstText(inner, "message", "detail", "title")
		}
		if e.Code == "" {
			e.Code = firstText(inner, "code", "name")
		}
	case e.Message == "":
		e.Message = text(er)
	default:
		e.Code = text(er)
	}
}

// firstText returns the first key of m whose value is non-empty text.
func firstText(m map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if s := text(v); s != "" {
				return s
			}
		}
	}
	return ""
}

// text is a JSON string's value, or a scalar's JSON text; "" for null,
// objects and arrays.
func text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) || raw[0] == '{' || raw[0] == '[' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return string(raw)
}

// capText cuts s to at most n bytes on a rune boundary, marking the cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncated)"
}

// retryAfter reads Retry-After (delay-seconds or HTTP date) and the
// non-standard Retry-After-Ms; 0 when absent, malformed or in the past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			if n <= 0 || n > 1e6 {
				return 0
			}
			return time.Duration(n * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < 1e9 {
			return time.Duration(n) * time.Millisecond
		}
	}
	return 0
}

// redactor removes secrets from text bound for errors and logs: the client
// secret, access tokens and Connect tokens this client has seen, and anything
// shaped like a bearer token, a Connect token or a secret-bearing field.
type redactor struct {
	mu      sync.RWMutex
	fixed   string   // the client secret
	recent  []string // access and Connect tokens, newest last
	maxKeep int
}

const redacted = "[REDACTED]"

// secretKeys are JSON keys and form fields whose values are always redacted.
const secretKeys = `access_token|refresh_token|id_token|client_secret|connect_token|token|secret|password|authorization`

var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*`), "${1}" + redacted},
	{regexp.MustCompile(`ctok_[A-Za-z0-9_\-]+`), redacted},
	{regexp.MustCompile(`(?i)("(?:` + secretKeys + `)"\s*:\s*"?|\b(?:` + secretKeys + `)=)([^"&\s,;}]+)`), "${1}" + redacted},
}

func newRedactor(clientSecret string) *redactor {
	return &redactor{fixed: clientSecret, maxKeep: 64}
}

// add remembers a secret (an access or Connect token) to redact.
func (r *redactor) add(secret string) {
	if secret == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recent = append(r.recent, secret)
	if len(r.recent) > r.maxKeep {
		r.recent = append(r.recent[:0:0], r.recent[len(r.recent)-r.maxKeep:]...)
	}
}

// redact returns s with every known or recognisable secret replaced.
func (r *redactor) redact(s string) string {
	if s == "" {
		return s
	}
	r.mu.RLock()
	if r.fixed != "" {
		s = strings.ReplaceAll(s, r.fixed, redacted)
	}
	for _, t := range r.recent {
		s = strings.ReplaceAll(s, t, redacted)
	}
	r.mu.RUnlock()
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// redactJSON redacts a JSON value, keeping it valid JSON (a redaction that
// broke it turns the value into a JSON string of the redacted text).
func (c *Client) redactJSON(raw json.RawMessage) json.RawMessage {
	s := c.redact.redact(string(raw))
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// errorObservations returns the messages of error observations found in an
// error body, at its top level or under "data".
func errorObservations(m map[string]json.RawMessage) []string {
	var msgs []string
	for _, obj := range []map[string]json.RawMessage{m, object(m["data"])} {
		for _, k := range []string{"os", "observations"} {
			for _, o := range observations(obj[k]) {
				if o.K == "error" {
					msgs = append(msgs, observationMessage(o))
				}
			}
		}
	}
	return msgs
}
