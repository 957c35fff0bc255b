package pdclient

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// maxRedirects is how many same-origin redirects one API request follows
// (as many as net/http's default policy).
const maxRedirects = 10

// ErrRedirectRefused matches a *RedirectError: a redirect pdclient did not
// follow.
var ErrRedirectRefused = errors.New("pdclient: redirect refused")

// RedirectError is a redirect that pdclient refused to follow: one to another
// origin (scheme, host and port), or any redirect of the token request, which
// carries the client secret and follows none. Nothing was sent to the
// redirect's target. It never holds a path or a query, which may carry
// secrets; match it with errors.As, or errors.Is and ErrRedirectRefused.
type RedirectError struct {
	// Status is the redirect's HTTP status (301, 302, 303, 307 or 308).
	Status int
	// From is the origin that answered with the redirect, To the origin it
	// pointed to, both as scheme://host[:port].
	From, To string
}

// Error reads like "302 redirect to another origin https://example.com;
// refusing" or "307 redirect within https://api.pipedream.com; this request
// follows no redirect; refusing".
func (e *RedirectError) Error() string {
	if e.To != e.From {
		return fmt.Sprintf("%d redirect to another origin %s; refusing", e.Status, e.To)
	}
	return fmt.Sprintf("%d redirect within %s; this request follows no redirect; refusing", e.Status, e.To)
}

// Is matches ErrRedirectRefused.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirectRefused }

// SameOriginRedirects is the redirect policy of pdclient's API requests, for
// http.Client.CheckRedirect: a redirect is followed only within the origin of
// the first request, at most 10 times; any other is refused with a
// *RedirectError before anything is sent to its target.
func SameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	from, to := origin(via[0].URL), origin(req.URL)
	if from != to {
		return &RedirectError{Status: redirectStatus(req), From: from, To: to}
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("pdclient: stopped after %d redirects", maxRedirects)
	}
	return nil
}

// NoRedirects is the redirect policy of requests that carry a credential in
// their body (the token request), for http.Client.CheckRedirect: every
// redirect is refused with a *RedirectError before anything is sent to its
// target.
func NoRedirects(req *http.Request, via []*http.Request) error {
	from := origin(req.URL)
	if len(via) > 0 {
		from = origin(via[len(via)-1].URL)
	}
	return &RedirectError{Status: redirectStatus(req), From: from, To: origin(req.URL)}
}

// withPolicy returns a CheckRedirect that applies policy first and then the
// caller's own check, if any (which may only refuse more).
func withPolicy(policy, own func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	if own == nil {
		return policy
	}
	return func(req *http.Request, via []*http.Request) error {
		if err := policy(req, via); err != nil {
			return err
		}
		return own(req, via)
	}
}

// redirectStatus is the status of the response that caused req, or 0.
func redirectStatus(req *http.Request) int {
	if req.Response == nil {
		return 0
	}
	return req.Response.StatusCode
}

// defaultPorts are the ports an origin leaves out.
var defaultPorts = map[string]string{"http": "80", "https": "443"}

// origin is u's origin, scheme://host[:port], lower-cased and without the
// scheme's default port, so that equal origins compare equal.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" || port == defaultPorts[scheme] {
		if strings.Contains(host, ":") {
			host = "[" + host + "]" // IPv6
		}
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// underBase reports whether u is on the API's origin and under the base URL's
// path, dot segments resolved in both the decoded and the escaped path: only
// such requests get the access token, redirected ones included.
func (c *Client) underBase(u *url.URL) bool {
	return origin(u) == origin(c.base) &&
		underPath(u.Path, c.base.Path) && underPath(u.EscapedPath(), c.base.EscapedPath())
}

// underPath reports whether p, cleaned, is dir (ending in "/") or below it.
func underPath(p, dir string) bool {
	p = path.Clean("/" + p)
	if p != "/" {
		p += "/"
	}
	return strings.HasPrefix(p, dir)
}
