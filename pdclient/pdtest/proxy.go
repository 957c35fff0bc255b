package pdtest

// This file owns the Connect proxy: {any method} .../proxy/{url_64} checks
// the account and the target as Pipedream does (the account must be the
// user's, healthy, of an app whose proxy is on, and the URL on one of the
// app's allowed domains), then hands the request, headers unprefixed, to the
// simulated API of the app (github.go) with the account's credentials, which
// never leave the fake.

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// ProxyRecord is one request the proxy passed to an app's API.
type ProxyRecord struct {
	Method         string
	URL            string // the decoded target
	ExternalUserID string
	AccountID      string
	// Headers are the forwarded headers (x-pd-proxy- stripped, lower case).
	Headers map[string]string
	// ContentType is the request's own Content-Type, passed on.
	ContentType string
	Body        string
}

// ProxyRequests returns the requests the proxy passed on, oldest first.
func (f *Fake) ProxyRequests() []ProxyRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.proxied)
}

// maxProxyRecords bounds the records the fake keeps (the oldest go first).
const maxProxyRecords = 1000

// AccountCredential is the credential the proxy injects for an account when
// it calls the app's API. It stays in the fake: tests check that it never
// reaches a result or a log.
func AccountCredential(accountID string) string {
	return "gho_fake" + strings.TrimPrefix(accountID, "apn_")
}

// handleProxy serves {GET|POST|PUT|PATCH|DELETE} .../proxy/{url_64}.
func (f *Fake) handleProxy(w http.ResponseWriter, r *http.Request, env string) {
	method := requestMethod(r)
	if !slices.Contains(pdclient.ProxyMethods, method) {
		writeError(w, http.StatusMethodNotAllowed, "the proxy takes GET, POST, PUT, PATCH and DELETE")
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(r.PathValue("url64"), "="))
	if err != nil {
		writeError(w, http.StatusBadRequest, "url_64 is not URL-safe base64")
		return
	}
	target, err := url.Parse(string(raw))
	if err != nil || target.Scheme != "https" || target.Host == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the target %q is not an absolute https URL", raw))
		return
	}
	q := r.URL.Query()
	user, acctID := q.Get("external_user_id"), q.Get("account_id")
	f.mu.Lock()
	a, ok := f.accounts[acctID]
	var acct Account
	if ok {
		acct = a.Account
	}
	f.mu.Unlock()
	switch {
	case user == "" || acctID == "":
		writeError(w, http.StatusBadRequest, "external_user_id and account_id are required")
		return
	case !ok || acct.ExternalUserID != user || acct.Environment != env:
		writeError(w, http.StatusNotFound, fmt.Sprintf("account %s not found for external user %q", acctID, user))
		return
	case !acct.Healthy:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("account %s is unhealthy: reconnect it", acctID))
		return
	}
	app := f.cat.apps[acct.App]
	if app == nil || app.app.Connect == nil || !app.app.Connect.ProxyEnabled {
		writeError(w, http.StatusForbidden, fmt.Sprintf("the proxy is not enabled for app %s", acct.App))
		return
	}
	if !allowedHost(target.Hostname(), app.app.Connect.AllowedDomains) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("domain %s is not allowed for app %s", target.Hostname(), acct.App))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	rec := ProxyRecord{Method: method, URL: target.String(), ExternalUserID: user, AccountID: acctID,
		Headers: map[string]string{}, ContentType: r.Header.Get("Content-Type"), Body: string(body)}
	for name, vs := range r.Header {
		if n, ok := strings.CutPrefix(strings.ToLower(name), pdclient.ProxyHeaderPrefix); ok {
			rec.Headers[n] = strings.Join(vs, ", ")
		}
	}
	f.mu.Lock()
	f.proxied = append(f.proxied, rec)
	if len(f.proxied) > maxProxyRecords {
		f.proxied = slices.Clone(f.proxied[len(f.proxied)-maxProxyRecords:])
	}
	f.mu.Unlock()
	call := appCall{method: method, url: target, headers: rec.Headers, body: body,
		credential: AccountCredential(acctID), login: githubLogin(acct)}
	switch acct.App {
	case "github":
		f.github.serve(w, call)
	default:
		// A proxy-enabled app without a simulated API: Pipedream would reach
		// the app; the fake says it cannot.
		writeError(w, http.StatusBadGateway, fmt.Sprintf("the sandbox simulates no API for app %s", acct.App))
	}
}

// appCall is a request as the app's API receives it from the proxy.
type appCall struct {
	method     string
	url        *url.URL
	headers    map[string]string
	body       []byte
	credential string // what Pipedream injects as the account's credential
	login      string // the account's user name on the app
}

// allowedHost reports whether host is one of domains or a subdomain of one.
func allowedHost(host string, domains []string) bool {
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
