package pdtest

// This file owns the fake's routing: the route table, the ServeMuxes built from
// it, and the checks routes share before their handler runs (the access token;
// for project routes, the environment header and the project).

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// route is one row of the route table: an endpoint of the API.
type route struct {
	method   string // the one method the endpoint answers; any other gets 405
	pattern  string // ServeMux path pattern, from /v1/ on
	endpoint string // the Endpoint* name the request is counted and faulted under
	serve    http.HandlerFunc
}

// globalRoutes are the endpoints outside any project.
func (f *Fake) globalRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/oauth/token", EndpointToken, f.handleToken},
		{http.MethodGet, "/v1/connect/apps", EndpointApps, f.authed(f.handleApps)},
		{http.MethodGet, "/v1/connect/apps/{app}", EndpointApp, f.authed(f.handleApp)},
	}
}

// projectPrefix is the path of the project-scoped endpoints, up to the project.
const projectPrefix = "/v1/connect/{project}"

// projectRoutes are the endpoints under /v1/connect/{project}/. The
// components/ and actions/ forms of configure, props, list and retrieve are
// aliases of one endpoint each; run exists only under actions/.
func (f *Fake) projectRoutes() []route {
	const p = projectPrefix
	return []route{
		{http.MethodGet, p + "/actions", EndpointActions, f.scoped(f.handleActions)},
		{http.MethodGet, p + "/components", EndpointActions, f.scoped(f.handleComponents)},
		{http.MethodGet, p + "/actions/{key}", EndpointAction, f.scoped(f.handleAction)},
		{http.MethodGet, p + "/components/{key}", EndpointAction, f.scoped(f.handleAction)},
		{http.MethodPost, p + "/actions/configure", EndpointConfigure, f.scoped(f.handleConfigure)},
		{http.MethodPost, p + "/components/configure", EndpointConfigure, f.scoped(f.handleConfigure)},
		{http.MethodPost, p + "/actions/props", EndpointProps, f.scoped(f.handleReload)},
		{http.MethodPost, p + "/components/props", EndpointProps, f.scoped(f.handleReload)},
		{http.MethodPost, p + "/actions/run", EndpointRun, f.scoped(f.handleRun)},
		{http.MethodGet, p + "/accounts", EndpointAccounts, f.scoped(f.handleAccounts)},
		{http.MethodGet, p + "/accounts/{id}", EndpointAccount, f.scoped(f.handleAccount)},
		{http.MethodPost, p + "/tokens", EndpointConnectTokens, f.scoped(f.handleConnectToken)},
		{http.MethodGet, p + "/file_stash/download", EndpointFileStash, f.scoped(f.handleStashDownload)},
		{anyMethod, p + "/proxy/{url64}", EndpointProxy, f.scoped(f.handleProxy)},
	}
}

// anyMethod in a route serves every method (the proxy's endpoint); the
// handler reads the request's own with requestMethod.
const anyMethod = "*"

// otherMethod is the method the muxes see for every request method but GET
// and POST, the only two the API uses (see muxRequest).
const otherMethod = "OTHER"

// muxMethods are all the methods the muxes see; every route is registered
// under each of them.
var muxMethods = []string{http.MethodGet, http.MethodPost, otherMethod}

// newMux builds the fake's router from the route tables.
//
// Project routes live in a mux of their own, reached through
// /v1/connect/{project}/{rest...}. In one mux, ServeMux would reject
// "GET /v1/connect/apps/{app}" next to "GET /v1/connect/{project}/actions" as
// conflicting (both match /v1/connect/apps/actions, neither is more
// specific). This way the apps routes win every path they match (no project
// id reads "apps"), and every longer path goes to the project routes.
//
// Every route is registered under each of muxMethods, the wrong ones serving
// the route's 405, so a wrong method is counted and faulted under the route's
// endpoint and answered in the API's error shape, never by ServeMux's own text
// 405. Method-less patterns cannot do that here: ServeMux would reject a
// method-less ".../actions/run" next to "GET .../actions/{key}".
func (f *Fake) newMux() http.Handler {
	project := http.NewServeMux()
	project.HandleFunc("/", notFound)
	for _, rt := range f.projectRoutes() {
		f.register(project, rt)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", notFound)
	// Without it, ServeMux would answer /v1/connect/x with a redirect to
	// /v1/connect/x/, which the pattern below matches.
	mux.HandleFunc(projectPrefix, notFound)
	mux.Handle(projectPrefix+"/{rest...}", project)
	for _, rt := range f.globalRoutes() {
		f.register(mux, rt)
	}
	return mux
}

// register adds rt to mux under every one of muxMethods.
func (f *Fake) register(mux *http.ServeMux, rt route) {
	for _, m := range muxMethods {
		h := rt
		if m != rt.method && rt.method != anyMethod {
			h.serve = methodNotAllowed(rt.method)
		}
		mux.Handle(m+" "+rt.pattern, f.counted(h))
	}
}

// ServeHTTP routes on the path from "/v1/" on; the endpoint's handler counts
// the request, applies any injected fault, then handles it.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mr, ok := muxRequest(r)
	if !ok {
		notFound(w, r)
		return
	}
	f.mux.ServeHTTP(w, mr)
}

// muxRequest is r as the muxes see it, or false when its path has no "/v1/".
// The path starts at the first "/v1/" (the fake may be mounted under any
// prefix), without leading or trailing slashes after it, and every segment is
// escaped so that ServeMux takes it as it is (see escapeSegment). The method
// is GET, POST or otherMethod: HEAD included, which a GET pattern would
// otherwise accept. Handlers see this request.
func muxRequest(r *http.Request) (*http.Request, bool) {
	i := strings.Index(r.URL.Path, "/v1/")
	if i < 0 {
		return nil, false
	}
	segs := strings.Split(strings.Trim(r.URL.Path[i+len("/v1/"):], "/"), "/")
	for i, s := range segs {
		segs[i] = escapeSegment(s)
	}
	u := *r.URL
	u.RawPath = "/v1/" + strings.Join(segs, "/")
	u.Path, _ = url.PathUnescape(u.RawPath) // cannot fail: escaped just above
	mr := r.WithContext(context.WithValue(r.Context(), methodKey{}, r.Method))
	mr.URL = &u
	if mr.Method != http.MethodGet && mr.Method != http.MethodPost {
		mr.Method = otherMethod
	}
	return mr, true
}

type methodKey struct{}

// requestMethod is the method the client sent (the muxes see otherMethod for
// all but GET and POST).
func requestMethod(r *http.Request) string {
	if m, ok := r.Context().Value(methodKey{}).(string); ok {
		return m
	}
	return r.Method
}

// emptySegment is how an empty path segment reaches the muxes: two escaped
// slashes, as no real segment can hold a slash (see escapeSegment and
// projectOf). One would not do: ServeMux never fills a wildcard with "/".
const emptySegment = "%2F%2F"

// escapeSegment escapes one path segment. ServeMux would clean "", "." and
// ".." away (with a redirect), but to the fake they are segments like any
// other, so "." and ".." go in as %2E and "" as emptySegment.
func escapeSegment(s string) string {
	switch s {
	case "":
		return emptySegment
	case ".", "..":
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// counted wraps a route's handler: it counts the request under the route's
// endpoint and applies the first matching injected fault before serving.
func (f *Fake) counted(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.counts[rt.endpoint]++
		f.mu.Unlock()
		if ft, ok := f.takeFault(rt.endpoint); ok && f.applyFault(w, r, ft, rt) {
			return
		}
		rt.serve(w, r)
	}
}

// methodNotAllowed answers 405 with the endpoint's one method in Allow.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// notFound answers a path that names no endpoint.
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "not found")
}

// authed requires a valid, unexpired access token.
func (f *Fake) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pipedream"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		f.mu.Lock()
		exp, known := f.tokens[strings.TrimSpace(tok)]
		f.mu.Unlock()
		if !known || !time.Now().Before(exp) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pipedream", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid or expired access token")
			return
		}
		h(w, r)
	}
}

// scopedHandler serves a project-scoped endpoint in one environment.
type scopedHandler func(w http.ResponseWriter, r *http.Request, env string)

// scoped checks, in this order, the access token, the x-pd-environment header
// and the project, then serves h in the request's environment.
func (f *Fake) scoped(h scopedHandler) http.HandlerFunc {
	return f.authed(func(w http.ResponseWriter, r *http.Request) {
		env := r.Header.Get("X-Pd-Environment")
		if env != "development" && env != "production" {
			writeError(w, http.StatusBadRequest, `the x-pd-environment header must be "development" or "production"`)
			return
		}
		if projectOf(r) != f.cfg.ProjectID {
			writeError(w, http.StatusNotFound, "project not found")
			return
		}
		h(w, r, env)
	})
}

// projectOf is the {project} segment of a project route's path.
func projectOf(r *http.Request) string {
	p := r.PathValue("project")
	if p == "//" { // emptySegment, unescaped
		return ""
	}
	return p
}
