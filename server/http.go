package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// HTTP defaults.
const (
	DefaultSessionIdleTTL = 30 * time.Minute
	DefaultMaxBodyBytes   = 4 << 20
	readHeaderTimeout     = 10 * time.Second
	bodyReadTimeout       = 30 * time.Second
	idleTimeout           = 2 * time.Minute
	maxHeaderBytes        = 64 << 10
	realm                 = "pipedream-mcp"
	wellKnownPRM          = "/.well-known/oauth-protected-resource"

	// deliveryWait bounds how long shutdown waits, after cancelling the calls
	// still running at the end of the grace period, for the responses their
	// handlers make of the cancellation to be sent.
	deliveryWait = 2 * time.Second
)

// HTTPOptions configure the HTTP transports (see NewHTTPHandler).
type HTTPOptions struct {
	// Transport is "http" (Streamable HTTP at /mcp and /mcp/<connection>) or
	// "sse" (legacy SSE at /sse + /message and /sse/<connection> +
	// /sse/<connection>/message).
	Transport string
	// PublicURL is the server's external base URL (scheme, host and an
	// optional path prefix). It makes the SSE endpoint event an absolute URL
	// and is the base of the OAuth resource metadata. When empty, SSE
	// endpoints are relative and the metadata uses the request's host.
	PublicURL string
	// Auth authenticates every MCP request (required).
	Auth Authenticator
	// Issuer, when set, is the OAuth authorization server advertised at
	// /.well-known/oauth-protected-resource (RFC 9728); 401 responses then
	// point to that document.
	Issuer string
	// Identity returns ctx carrying the authenticated end user, the
	// connection scope ("" for all connections) and the session parameters
	// for the tool handlers and the tool filter (required).
	Identity func(ctx context.Context, user, connection string, params url.Values) context.Context
	// SessionParams are the query parameters that configure a session (e.g.
	// tool_mode), each with its check: a value the check refuses gets 400 with
	// the check's error. Their values on the request that opens a session hold
	// for all of it and reach Identity; other query parameters are ignored. On
	// requests outside a session (Streamable HTTP's modern era) they are read
	// from each request.
	SessionParams map[string]func(value string) error
	// HasConnection reports whether a per-connection endpoint exists; nil
	// means none does.
	HasConnection func(name string) bool
	// Routes are extra handlers by ServeMux pattern, mounted outside
	// authentication (each guards itself), e.g. the Connect webhook.
	Routes map[string]http.Handler
	// SessionIdleTTL ends sessions idle this long (default 30m).
	SessionIdleTTL time.Duration
	// MaxBodyBytes caps request bodies (default 4 MiB); larger ones get 413.
	MaxBodyBytes int64
	// BodyReadTimeout bounds reading a request body (default 30s): a client
	// that sends it slower is cut off.
	BodyReadTimeout time.Duration
	// DNSRebindingProtection refuses requests that arrive over loopback with
	// a Host header that is not localhost. Keep it on for loopback binds.
	DNSRebindingProtection bool
	// Metrics, when set, is served at GET /metrics, outside authentication
	// like the health endpoints (a scraper has no user's credentials; no
	// series names a user). Leave it nil to serve it on a listener of its
	// own (NewOpsHandler).
	Metrics http.Handler
	// Pprof serves net/http/pprof under /debug/pprof/, outside
	// authentication (see mountPprof).
	Pprof bool
	// ReadyDetails, when set, adds its entries to /readyz's answer (e.g.
	// "redis": "down (...): serving from this replica's memory"). They never
	// change its status.
	ReadyDetails func() map[string]string
}

// HTTPHandler serves MCP over Streamable HTTP or SSE, with authentication,
// session ownership, health endpoints and the extra routes. Build it with
// Server.NewHTTPHandler and serve it with Server.Serve.
type HTTPHandler struct {
	srv        *Server
	opts       HTTPOptions
	log        *slog.Logger
	mux        *http.ServeMux
	sessions   *sessionRegistry
	streamable *mcpserver.StreamableHTTPServer
	sse        *mcpserver.SSEServer
	active     *tracker
	closeOnce  sync.Once
	// stop ends at shutdown to cancel the tool calls still running (see
	// withCallStop); stopCalls ends it.
	stop      context.Context
	stopCalls context.CancelCauseFunc
}

// principal is who a request acts for and which endpoint it reached.
type principal struct {
	user     string
	endpoint string // "/mcp", "/mcp/<conn>", "/sse" or "/sse/<conn>"
	conn     string
	params   url.Values // the session parameters (HTTPOptions.SessionParams)
	slot     *sseSlot   // SSE GET only: receives the generated session id
}

type principalKey struct{}

func principalFrom(ctx context.Context) (*principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*principal)
	return p, ok
}

// sseSlot records the session id generated for one SSE stream.
type sseSlot struct{ id string }

// NewHTTPHandler builds the HTTP handler for opts.Transport.
func (s *Server) NewHTTPHandler(opts HTTPOptions) (*HTTPHandler, error) {
	if opts.Auth == nil {
		return nil, errors.New("server: HTTPOptions.Auth is required")
	}
	if opts.Identity == nil {
		return nil, errors.New("server: HTTPOptions.Identity is required")
	}
	if opts.SessionIdleTTL <= 0 {
		opts.SessionIdleTTL = DefaultSessionIdleTTL
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.BodyReadTimeout <= 0 {
		opts.BodyReadTimeout = bodyReadTimeout
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	h := &HTTPHandler{
		srv:      s,
		opts:     opts,
		log:      s.log,
		mux:      http.NewServeMux(),
		sessions: newSessionRegistry(),
		active:   newTracker(),
	}
	h.stop, h.stopCalls = context.WithCancelCause(context.Background())
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	if opts.Metrics != nil {
		h.mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.Pprof {
		mountPprof(h.mux)
	}
	s.metrics.addSessions(h.sessions.len) // for as long as the handler lives
	if opts.Issuer != "" {
		h.mux.HandleFunc("GET "+wellKnownPRM, h.resourceMetadata)
		h.mux.HandleFunc("GET "+wellKnownPRM+"/{path...}", h.resourceMetadata)
	}
	switch opts.Transport {
	case "http":
		h.streamable = mcpserver.NewStreamableHTTPServer(s.mcp,
			mcpserver.WithSessionIdManagerResolver(sessionResolver{h.sessions}),
			mcpserver.WithSessionIdleTTL(opts.SessionIdleTTL),
			mcpserver.WithDisableLocalhostProtection(!opts.DNSRebindingProtection),
			mcpserver.WithStreamableHTTPLogger(s.log.With("component", "mcp-http")),
		)
		h.mux.Handle("/mcp", h.guard(h.streamable, kindStreamable))
		h.mux.Handle("/mcp/{conn}", h.guard(h.streamable, kindStreamable))
	case "sse":
		sseOpts := []mcpserver.SSEOption{
			mcpserver.WithDynamicBasePath(func(r *http.Request, _ string) string {
				if p, ok := principalFrom(r.Context()); ok && p.conn != "" {
					return p.endpoint
				}
				return "/"
			}),
			mcpserver.WithSessionIDGenerator(h.newSSESession),
			mcpserver.WithSSEDisableLocalhostProtection(!opts.DNSRebindingProtection),
		}
		if opts.PublicURL != "" {
			sseOpts = append(sseOpts, mcpserver.WithBaseURL(opts.PublicURL))
		}
		h.sse = mcpserver.NewSSEServer(s.mcp, sseOpts...)
		h.mux.Handle("GET /sse", h.guard(h.sse.SSEHandler(), kindSSEStream))
		h.mux.Handle("POST /message", h.guard(h.sse.MessageHandler(), kindSSEMessage))
		h.mux.Handle("GET /sse/{conn}", h.guard(h.sse.SSEHandler(), kindSSEStream))
		h.mux.Handle("POST /sse/{conn}/message", h.guard(h.sse.MessageHandler(), kindSSEMessage))
	default:
		return nil, fmt.Errorf("server: unknown HTTP transport %q (want http or sse)", opts.Transport)
	}
	for pattern, handler := range opts.Routes {
		h.mux.Handle(pattern, handler)
	}
	return h, nil
}

// ServeHTTP dispatches to the MCP endpoints, health checks and extra routes.
// Every request starts with a read deadline, so a client that never sends the
// body it announced cannot hold a connection: not while a handler reads it,
// nor while net/http drains what a refusal left unread. MCP requests that are
// let through clear it (see guard), since their streams are long-lived.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.opts.BodyReadTimeout))
	h.mux.ServeHTTP(w, r)
}

// closeUnread marks a response to a request whose body was not read as the
// last on its connection, so net/http answers at once instead of first
// draining a body that may never come.
func closeUnread(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}

// Sessions reports how many sessions are open (bound to a user).
func (h *HTTPHandler) Sessions() int { return h.sessions.len() }

// CloseSessions ends every session and stream (SSE streams, Streamable HTTP
// GET streams) so the HTTP server can shut down; calls still running keep
// their connection until they finish.
func (h *HTTPHandler) CloseSessions(ctx context.Context) {
	h.closeOnce.Do(func() {
		if h.sse != nil {
			h.sse.CloseSessions()
		}
		if h.streamable != nil {
			_ = h.streamable.Shutdown(ctx) // no http.Server of its own: closes sessions, stops the sweeper
		}
	})
}

func (h *HTTPHandler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *HTTPHandler) readyz(w http.ResponseWriter, _ *http.Request) {
	if !h.srv.tools.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading", "detail": "the tool catalogs have not all loaded yet"})
		return
	}
	ready := map[string]string{"status": "ready"}
	if h.opts.ReadyDetails != nil {
		for k, v := range h.opts.ReadyDetails() {
			ready[k] = v
		}
	}
	writeJSON(w, http.StatusOK, ready)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// endpointKind is what an MCP route serves.
type endpointKind int

const (
	kindStreamable endpointKind = iota
	kindSSEStream
	kindSSEMessage
)

// guard authenticates the request, resolves the connection scope, limits the
// body, checks session ownership and puts the identity in the request context
// before next (mcp-go) sees anything. Values set on r.Context() reach hooks,
// filters and handlers on both transports, the SSE GET included. It also
// counts the requests in flight, so shutdown can wait for their responses.
func (h *HTTPHandler) guard(next http.Handler, kind endpointKind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, msg, ok := h.admit(w, r, kind)
		if !ok {
			return
		}
		// Let through: the body (if any) is read, and streams may last.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		ctx := context.WithValue(withHeaderTrace(r.Context(), r), principalKey{}, p)
		ctx = withCallStop(ctx, h.stop)
		if kind == kindStreamable && r.Method == http.MethodPost {
			dw := &deliveryWriter{ResponseWriter: w} // see ClientLog
			defer dw.finish()
			ctx, w = context.WithValue(ctx, deliveryKey{}, dw), dw
		}
		ctx = h.opts.Identity(ctx, p.user, p.conn, p.params)
		if tm, ok := peekTaskMessage(msg.raw); ok && kind != kindSSEStream {
			h.serveTask(next, w, r.WithContext(ctx), kind, p, msg, tm)
			return
		}
		h.serveTracked(next, w, r.WithContext(ctx), kind, p, msg)
	})
}

// admit authenticates r, checks its connection, reads and peeks at its body
// (POST) and checks its session; when it answers false the response is
// written and nothing runs.
func (h *HTTPHandler) admit(w http.ResponseWriter, r *http.Request, kind endpointKind) (*principal, rpcPeek, bool) {
	var msg rpcPeek
	conn := r.PathValue("conn")
	user, err := h.opts.Auth.Authenticate(r)
	if err != nil {
		closeUnread(w, r)
		h.unauthorized(w, r, conn, err)
		return nil, msg, false
	}
	if conn != "" && (h.opts.HasConnection == nil || !h.opts.HasConnection(conn)) {
		closeUnread(w, r)
		httpError(w, http.StatusNotFound, fmt.Sprintf("no connection named %q on this server", conn))
		return nil, msg, false
	}
	if kind == kindStreamable && r.Method == http.MethodGet && r.Header.Get(mcpserver.HeaderKeySessionID) == "" {
		// A browser or a probe opening the endpoint: the GET stream belongs
		// to an initialized session (legacy era) and does not exist in the
		// modern one, so answer at once instead of holding a stream open.
		w.Header().Set("Allow", "GET, POST, DELETE")
		httpError(w, http.StatusMethodNotAllowed, "this is an MCP Streamable HTTP endpoint: POST JSON-RPC messages to it; a GET stream needs the Mcp-Session-Id of an initialized session")
		return nil, msg, false
	}
	params, err := h.sessionParams(r)
	if err != nil {
		closeUnread(w, r)
		httpError(w, http.StatusBadRequest, err.Error())
		return nil, msg, false
	}
	p := &principal{user: user, conn: conn, endpoint: endpointPath(h.opts.Transport, conn), params: params}
	if r.Method == http.MethodPost {
		body, ok := h.readBody(w, r)
		if !ok {
			return nil, msg, false
		}
		msg.raw = body
		if json.Unmarshal(body, &msg) == nil && msg.invalid() {
			// mcp-go would take it for a response and answer nothing.
			writeJSON(w, http.StatusBadRequest, mcp.NewJSONRPCError(mcp.NewRequestId(msg.id()), mcp.INVALID_REQUEST,
				`invalid request: a message with an "id" needs a "method" (a request) or a "result" or "error" (a response)`, nil))
			return nil, msg, false
		}
	}
	if sid := sessionIDOf(r, kind); sid != "" {
		check, params := h.sessions.check(sid, p)
		p.params = params
		switch check {
		case sessionUnknown:
			httpError(w, http.StatusNotFound, "unknown or expired session; initialize a new one")
			return nil, msg, false
		case sessionForeign:
			h.log.Warn("refused a request on another user's session", "user", user, "endpoint", p.endpoint, "remote", r.RemoteAddr)
			httpError(w, http.StatusForbidden, "this session belongs to another user")
			return nil, msg, false
		}
	}
	return p, msg, true
}

// serveTracked runs next, counting the requests whose responses a graceful
// shutdown waits for: Streamable HTTP posts, SSE messages answered on the
// stream, and the SSE streams themselves.
func (h *HTTPHandler) serveTracked(next http.Handler, w http.ResponseWriter, r *http.Request, kind endpointKind, p *principal, msg rpcPeek) {
	switch {
	case kind == kindStreamable && r.Method == http.MethodPost && msg.Method != string(mcp.MethodSubscriptionsListen):
		// The response is written before the handler returns.
		h.active.begin("")
		defer h.active.end("", 1)
		next.ServeHTTP(w, r)
	case kind == kindSSEMessage && msg.expectsResponse():
		// The response travels on the session's stream; sseWriter ends it.
		sid := sessionIDOf(r, kind)
		h.active.begin(sid)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status != http.StatusAccepted {
			h.active.end(sid, 1)
		}
	case kind == kindSSEStream:
		p.slot = &sseSlot{}
		next.ServeHTTP(&sseWriter{ResponseWriter: w, active: h.active, slot: p.slot}, r)
		if p.slot.id != "" {
			h.sessions.forget(p.slot.id)
			h.active.endSession(p.slot.id)
		}
	default:
		next.ServeHTTP(w, r)
	}
}

// serveTask answers a task message (tasks.go) on a Streamable HTTP POST; the
// legacy SSE transport refuses them, and a message the task layer leaves to
// mcp-go after all goes on to it.
func (h *HTTPHandler) serveTask(next http.Handler, w http.ResponseWriter, r *http.Request, kind endpointKind, p *principal, msg rpcPeek, tm *taskMessage) {
	id := mcp.NewRequestId(msg.id())
	if kind == kindSSEMessage {
		writeJSON(w, http.StatusBadRequest, mcp.NewJSONRPCError(id, mcp.INVALID_REQUEST,
			"tasks are served over Streamable HTTP (/mcp) and stdio, not the legacy SSE transport: call the tool without params.task", nil))
		return
	}
	if err := checkTaskHeaders(r.Header, tm, msg.raw); err != nil {
		writeJSON(w, http.StatusBadRequest, mcp.NewJSONRPCError(id, mcp.HEADER_MISMATCH, err.Error(), nil))
		return
	}
	h.active.begin("")
	defer h.active.end("", 1)
	if resp := h.srv.tasks.serve(r.Context(), tm, msg.raw, taskOwner(r.Context())); resp != nil {
		if id := createdTask(resp); id != "" {
			// For a balancer in front of replicas: later requests naming
			// this task (Mcp-Name) go where it runs (README "Scale-out").
			w.Header().Set(HeaderTaskID, id)
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	next.ServeHTTP(w, r)
}

// checkTaskHeaders checks a modern request's standard headers against its
// body as mcp-go does for the requests it serves (Mcp-Method; Mcp-Name, the
// tool's name, for tools/call), and for the task methods that a Mcp-Name
// names the body's task (SEP-2663).
func checkTaskHeaders(hdr http.Header, tm *taskMessage, raw []byte) error {
	if !tm.modern() || hdr.Get(mcp.HeaderProtocolVersion) == "" {
		return nil
	}
	var body struct {
		Params json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(raw, &body) // peekTaskMessage decoded it already
	if err := mcp.ValidateStandardHeaders(hdr.Get, tm.Params.Meta.ProtocolVersion, mcp.MCPMethod(tm.Method), body.Params); err != nil {
		return err
	}
	if name := hdr.Get(mcp.HeaderName); tm.Method != string(mcp.MethodToolsCall) && name != "" {
		if n, ok := mcp.DecodeHeaderValue(name); !ok || n != tm.Params.TaskID {
			return fmt.Errorf("header %s is %q but the body names task %q", mcp.HeaderName, name, tm.Params.TaskID)
		}
	}
	return nil
}

// rpcPeek is what guard reads of a JSON-RPC message.
type rpcPeek struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	raw    []byte          // the whole message (a POST's body)
}

// invalid reports a message with an id that is neither a request (no method)
// nor a response (no result or error).
func (m rpcPeek) invalid() bool {
	return len(m.ID) > 0 && string(m.ID) != "null" && m.Method == "" && len(m.Result) == 0 && len(m.Error) == 0
}

// id is the message's id as a string or number (nil when it is neither).
func (m rpcPeek) id() any {
	var v any
	dec := json.NewDecoder(bytes.NewReader(m.ID))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
	}
	return nil
}

// expectsResponse reports whether the message is a request (not a
// notification or a response to the server).
func (m rpcPeek) expectsResponse() bool {
	return m.Method != "" && len(m.ID) > 0 && string(m.ID) != "null"
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sseWriter watches an SSE stream for JSON-RPC responses, which end the
// requests in flight on that session.
type sseWriter struct {
	http.ResponseWriter
	active *tracker
	slot   *sseSlot
}

func (w *sseWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if k := countResponses(p); k > 0 && w.slot.id != "" {
		w.active.end(w.slot.id, k)
	}
	return n, err
}

func (w *sseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *sseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countResponses counts the JSON-RPC responses among the SSE events in p.
func countResponses(p []byte) int {
	n := 0
	for line := range bytes.Lines(p) {
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		var m rpcPeek
		if json.Unmarshal(bytes.TrimSpace(data), &m) == nil && m.Method == "" && len(m.ID) > 0 {
			n++
		}
	}
	return n
}

// tracker counts MCP requests whose response has not been sent yet.
type tracker struct {
	mu      sync.Mutex
	n       int
	session map[string]int // SSE requests pending per session
	idle    chan struct{}  // closed while n == 0
}

func newTracker() *tracker {
	t := &tracker{session: map[string]int{}, idle: make(chan struct{})}
	close(t.idle)
	return t
}

// begin counts one request; session names the SSE session whose stream will
// carry the response ("" when the HTTP response carries it).
func (t *tracker) begin(session string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
	if session != "" {
		t.session[session]++
	}
}

// end marks k responses sent.
func (t *tracker) end(session string, k int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if session != "" {
		k = min(k, t.session[session])
		if t.session[session] -= k; t.session[session] <= 0 {
			delete(t.session, session)
		}
	}
	t.release(k)
}

// endSession forgets the requests of an SSE session whose stream ended.
func (t *tracker) endSession(session string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.session[session]
	delete(t.session, session)
	t.release(k)
}

func (t *tracker) release(k int) {
	if k <= 0 || t.n == 0 {
		return
	}
	t.n -= min(k, t.n)
	if t.n == 0 {
		close(t.idle)
	}
}

// wait blocks until no request is in flight or ctx ends.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sessionIDOf returns the session a request claims to belong to. Requests of
// the 2026-07-28 era carry no session (mcp-go ignores the header), so their
// header is not checked.
func sessionIDOf(r *http.Request, kind endpointKind) string {
	switch kind {
	case kindStreamable:
		if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
			return ""
		}
		return r.Header.Get(mcpserver.HeaderKeySessionID)
	case kindSSEMessage:
		return r.URL.Query().Get("sessionId")
	}
	return ""
}

// readBody reads a POST body up to the limit (413 beyond it) within the body
// read timeout, and replaces r.Body with the buffered bytes. A body that could
// not be read whole is refused and costs the client its connection (see
// refuseBody).
func (h *HTTPHandler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := h.opts.MaxBodyBytes
	if r.ContentLength > limit {
		closeUnread(w, r)
		httpError(w, http.StatusRequestEntityTooLarge, tooLarge(limit))
		return nil, false
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.opts.BodyReadTimeout))
	// Sized for the announced length: one allocation (ReadFrom wants MinRead
	// spare bytes to see the end without growing).
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		refuseBody(w, limit, err)
		return nil, false
	}
	body := buf.Bytes()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return body, true
}

// refuseBody answers a request whose body could not be read whole (it stalled,
// broke off, or ran past the limit). The answer is the connection's last, and
// the read deadline that cut the body short stays in force: net/http, which
// would otherwise drain the rest of the body with no deadline before closing,
// gives up at that deadline, so the connection closes within the body read
// timeout however slowly the client sends.
func refuseBody(w http.ResponseWriter, limit int64, err error) {
	w.Header().Set("Connection", "close")
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		httpError(w, http.StatusRequestEntityTooLarge, tooLarge(limit))
		return
	}
	httpError(w, http.StatusBadRequest, "could not read the request body")
}

// tooLarge is the refusal of a body over limit bytes.
func tooLarge(limit int64) string {
	return fmt.Sprintf("request body larger than %d bytes", limit)
}

// sessionParams picks the session parameters from r's query string and
// checks each; the error names the first refused one.
func (h *HTTPHandler) sessionParams(r *http.Request) (url.Values, error) {
	var out url.Values
	q := r.URL.Query()
	for name, check := range h.opts.SessionParams {
		v, ok := q[name]
		if !ok {
			continue
		}
		if len(v) != 1 {
			return nil, fmt.Errorf("query parameter %s is given %d times; give it once", name, len(v))
		}
		if err := check(v[0]); err != nil {
			return nil, fmt.Errorf("query parameter %s: %w", name, err)
		}
		if out == nil {
			out = url.Values{}
		}
		out[name] = v
	}
	return out, nil
}

// endpointPath is the MCP endpoint a connection scope is served at.
func endpointPath(transport, conn string) string {
	base := "/mcp"
	if transport == "sse" {
		base = "/sse"
	}
	if conn == "" {
		return base
	}
	return base + "/" + conn
}

// unauthorized answers 401 with a WWW-Authenticate challenge (RFC 6750, and
// RFC 9728 resource_metadata when an issuer is configured).
func (h *HTTPHandler) unauthorized(w http.ResponseWriter, r *http.Request, conn string, err error) {
	var ae *AuthError
	if !errors.As(err, &ae) {
		ae = &AuthError{Code: authInvalidToken, Description: "the credentials were refused"}
	}
	challenge := []string{`Bearer realm="` + realm + `"`}
	if ae.Code != "" {
		challenge = append(challenge, `error="`+quoteSafe(ae.Code)+`"`, `error_description="`+quoteSafe(ae.Description)+`"`)
	}
	if h.opts.Issuer != "" {
		challenge = append(challenge, `resource_metadata="`+quoteSafe(h.baseURL(r)+wellKnownPRM+endpointPath(h.opts.Transport, conn))+`"`)
	}
	w.Header().Set("WWW-Authenticate", strings.Join(challenge, ", "))
	code := ae.Code
	if code == "" {
		code = "unauthorized"
	}
	h.log.Info("authentication failed", "reason", ae.Description, "path", r.URL.Path, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code, "error_description": ae.Description})
}

// quoteSafe drops characters that cannot appear in a quoted-string.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// baseURL is the external base URL: --public-url, else this request's origin.
func (h *HTTPHandler) baseURL(r *http.Request) string {
	if h.opts.PublicURL != "" {
		return h.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// resourceMetadata serves RFC 9728 OAuth protected resource metadata for the
// MCP endpoints: /.well-known/oauth-protected-resource (the main endpoint) and
// /.well-known/oauth-protected-resource/<endpoint path>.
func (h *HTTPHandler) resourceMetadata(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	endpoint := endpointPath(h.opts.Transport, "")
	if path != "" {
		base, conn, _ := strings.Cut(path, "/")
		switch {
		case "/"+base != endpoint:
			http.NotFound(w, r)
			return
		case conn != "" && (h.opts.HasConnection == nil || strings.Contains(conn, "/") || !h.opts.HasConnection(conn)):
			http.NotFound(w, r)
			return
		}
		endpoint = endpointPath(h.opts.Transport, conn)
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, map[string]any{
		"resource":                 h.baseURL(r) + endpoint,
		"authorization_servers":    []string{h.opts.Issuer},
		"bearer_methods_supported": []string{"header"},
		"resource_name":            realm,
	})
}

// newSSESession generates an SSE session id and binds it to the user opening
// the stream, before the endpoint event tells the client the id.
func (h *HTTPHandler) newSSESession(ctx context.Context, _ *http.Request) (string, error) {
	p, ok := principalFrom(ctx)
	if !ok {
		return "", errors.New("unauthenticated SSE stream")
	}
	id := newSessionID()
	h.sessions.bind(id, p)
	if p.slot != nil {
		p.slot.id = id
	}
	return id, nil
}

func newSessionID() string { return "mcp-session-" + strings.ToLower(rand.Text()) }

// ServeOptions configure Serve.
type ServeOptions struct {
	// TLS, when set, serves HTTPS with its certificate, which its Reload
	// replaces for the handshakes that follow. It takes precedence over
	// TLSCert and TLSKey.
	TLS *CertReloader
	// TLSCert and TLSKey, when set (and TLS is not), serve HTTPS with the
	// certificate read from them at start.
	TLSCert, TLSKey string
	// ShutdownTimeout bounds how long calls in flight may finish after ctx
	// ends (default 30s).
	ShutdownTimeout time.Duration
}

// certificates returns the certificate holder Serve presents, nil for plain
// HTTP.
func (o ServeOptions) certificates() (*CertReloader, error) {
	if o.TLS != nil || (o.TLSCert == "" && o.TLSKey == "") {
		return o.TLS, nil
	}
	return NewCertReloader(o.TLSCert, o.TLSKey)
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections, lets requests in flight finish and send their
// responses within ShutdownTimeout, cancels the tool calls still running and
// sends the results their handlers make of it (see cancelCalls), closes the
// sessions and streams, then the HTTP server, and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener, h *HTTPHandler, opts ServeOptions) error {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	defer s.tasks.cancelAll()
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// No ReadTimeout or WriteTimeout: SSE and Streamable HTTP streams are
		// long-lived. Bodies are read under their own deadline (readBody).
		BaseContext: func(net.Listener) context.Context { return baseCtx },
		ErrorLog:    log.New(slogDebugWriter{s.log}, "", 0),
	}
	certs, err := opts.certificates()
	if err != nil {
		_ = ln.Close()
		return err
	}
	if certs != nil {
		hs.TLSConfig = certs.tlsConfig()
	}
	errc := make(chan error, 1)
	go func() {
		if hs.TLSConfig != nil {
			errc <- hs.ServeTLS(ln, "", "")
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		h.CloseSessions(context.Background())
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}

	start := time.Now()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout+deliveryWait+5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- hs.Shutdown(shutdownCtx) }() // stop accepting; idle connections close now
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	if err := h.active.wait(graceCtx); err != nil {
		s.log.Warn("shutdown: requests still in flight after the grace period; cancelling them", "grace", opts.ShutdownTimeout)
	}
	cancelGrace()
	h.cancelCalls(shutdownCtx)
	h.CloseSessions(shutdownCtx)
	cancelBase() // ends the streams that remain (subscriptions) and what still runs
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("shutdown: closing the HTTP server", "err", err)
		}
	case <-shutdownCtx.Done():
	}
	_ = hs.Close()
	<-errc
	s.log.Info("HTTP server stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// cancelCalls cancels the tool calls in flight with ErrShuttingDown and waits
// (at most deliveryWait) until their responses are sent. Only the calls are
// cancelled, not their requests: mcp-go sends nothing for a request whose
// context has ended, so the result a handler makes of the cancellation
// reaches the client only while the request (and an SSE session's stream)
// lives on.
func (h *HTTPHandler) cancelCalls(ctx context.Context) {
	h.stopCalls(ErrShuttingDown)
	ctx, cancel := context.WithTimeout(ctx, deliveryWait)
	defer cancel()
	if err := h.active.wait(ctx); err != nil {
		h.log.Warn("shutdown: requests still unanswered after their calls were cancelled; closing them", "waited", deliveryWait)
	}
}

// slogDebugWriter sends net/http's own error log (TLS handshake noise,
// malformed requests) to slog at debug level.
type slogDebugWriter struct{ l *slog.Logger }

func (w slogDebugWriter) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimRight(string(p), "\n"), "component", "http")
	return len(p), nil
}

// sessionRegistry binds each session id to the user and endpoint that opened
// it. mcp-go checks only the format of session ids, so this is what makes a
// session unusable by anyone else.
type sessionRegistry struct {
	mu sync.Mutex
	m  map[string]binding
}

type binding struct {
	user, endpoint string
	params         url.Values
}

type sessionCheck int

const (
	sessionOK sessionCheck = iota
	sessionUnknown
	sessionForeign
)

func newSessionRegistry() *sessionRegistry {
	return &sessionRegistry{m: map[string]binding{}}
}

// bind records that p opened session id. Bindings end when mcp-go terminates
// the session (DELETE, idle expiry, shutdown) or the SSE stream closes.
func (s *sessionRegistry) bind(id string, p *principal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = binding{user: p.user, endpoint: p.endpoint, params: p.params}
}

// check reports whether p may use session id; a session used from another
// endpoint is unknown there.
func (s *sessionRegistry) check(id string, p *principal) (sessionCheck, url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[id]
	switch {
	case !ok:
		return sessionUnknown, nil
	case b.user != p.user:
		return sessionForeign, nil
	case b.endpoint != p.endpoint:
		return sessionUnknown, nil
	}
	return sessionOK, b.params
}

func (s *sessionRegistry) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

func (s *sessionRegistry) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[id]
	return ok
}

func (s *sessionRegistry) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// sessionResolver gives mcp-go's Streamable HTTP transport a session id
// manager bound to the request's user: ids are generated into the registry,
// validated against it and removed from it when terminated (DELETE, idle
// expiry, shutdown).
type sessionResolver struct{ reg *sessionRegistry }

// ResolveSessionIdManager implements mcpserver.SessionIdManagerResolver.
func (r sessionResolver) ResolveSessionIdManager(req *http.Request) mcpserver.SessionIdManager {
	m := sessionManager{reg: r.reg}
	if req != nil {
		m.p, _ = principalFrom(req.Context())
	}
	return m
}

type sessionManager struct {
	reg *sessionRegistry
	p   *principal
}

func (m sessionManager) Generate() string {
	id := newSessionID()
	if m.p != nil {
		m.reg.bind(id, m.p)
	}
	return id
}

func (m sessionManager) Validate(id string) (bool, error) {
	if id == "" || !m.reg.has(id) {
		return false, errors.New("unknown session")
	}
	return false, nil
}

func (m sessionManager) Terminate(id string) (bool, error) {
	m.reg.forget(id)
	return false, nil
}
