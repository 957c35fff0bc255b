package app

// Reliability suite (issue 8): the whole server (run, in process) against the
// fake Connect API with injected faults. Every server started here logs at
// debug level, and when its test ends everything the test saw (stderr, tool
// results, errors) is scanned for the secrets planted in the run.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

// Secrets planted in every reliability run. None may appear in a log line, a
// tool result or an error.
const (
	relClientSecret  = "rel-client-secret-PLANTED-7f3a9c21"
	relJWTSecret     = "rel-jwt-secret-PLANTED-0123456789abcdef"
	relWebhookSecret = "rel-webhook-secret-PLANTED-4242"
	relAPIKeyDemo    = "rel-api-key-PLANTED-demo-0123456789"
	relAPIKeyOther   = "rel-api-key-PLANTED-other-0123456789"
)

// Tools used throughout: one action that is not idempotent (a retry could post
// twice) and one that is.
const (
	toolSend = "slack_send_message_to_channel"
	toolRepo = "github_get_repository"
)

// sendArgs are arguments of toolSend with a text that identifies the run.
func sendArgs(text string) string {
	return fmt.Sprintf(`{"conversation":"C00001000","text":%q}`, text)
}

// relOptions configure startRel.
type relOptions struct {
	apps        string   // PIPEDREAM_APPS (default slack,github,notion)
	transport   string   // http (default) or sse
	auth        string   // jwt (default) or keys
	callTimeout string   // --call-timeout (default 120s)
	args        []string // more flags
	// baseURL, when set, is the API the server uses instead of the fake (a
	// closed port, for "Pipedream down").
	baseURL string
	// before runs on the fake before the server starts (faults at start-up).
	before func(*pdtest.Fake)
	// noWait returns before the server is ready.
	noWait bool
}

// relServer is one run of `pipedream-mcp serve` in process against its own
// fake, with a transcript of everything its test saw.
type relServer struct {
	fake   *pdtest.Fake
	tap    *tokenTap
	api    *relAPI // nil while the API is "down" (baseURL given)
	url    string
	auth   string
	stderr *e2eLog
	stop   context.CancelFunc
	done   chan error
	exited atomic.Bool

	mu      sync.Mutex
	outputs []relOutput
	jwts    []string
	users   int
}

// relOutput is one thing a client was shown: a tool result or an error.
type relOutput struct {
	user        string
	text        string   // result text, structured content strings, error text
	connectURLs []string // connect_url values in the structured content
}

// startRel starts a server (transport http, --auth jwt, debug logging) with a
// fresh sandbox fake that accepts relClientSecret, and waits until it is ready
// (unless noWait). Its cleanup shuts it down and scans the run for secrets.
func startRel(t *testing.T, o relOptions) *relServer {
	t.Helper()
	if o.apps == "" {
		o.apps = "slack,github,notion"
	}
	if o.transport == "" {
		o.transport = "http"
	}
	if o.auth == "" {
		o.auth = "jwt"
	}
	if o.callTimeout == "" {
		o.callTimeout = "120s"
	}
	fake := pdtest.NewSandbox()
	fake.AcceptSecret(pdtest.SandboxClientID, relClientSecret)
	if o.before != nil {
		o.before(fake)
	}
	rs := &relServer{fake: fake, tap: &tokenTap{next: fake}, auth: o.auth, stderr: &e2eLog{}, done: make(chan error, 1)}
	base := o.baseURL
	if base == "" {
		rs.api = serveAPI(t, rs.tap, "127.0.0.1:0")
		base = rs.api.url
	}
	port := freePort(t)
	rs.url = "http://127.0.0.1:" + port
	env := map[string]string{
		"NO_COLOR":                      "1",
		"PIPEDREAM_CLIENT_ID":           pdtest.SandboxClientID,
		"PIPEDREAM_CLIENT_SECRET":       relClientSecret,
		"PIPEDREAM_PROJECT_ID":          pdtest.SandboxProjectID,
		"PIPEDREAM_PROJECT_ENVIRONMENT": pdtest.SandboxEnvironment,
		"PIPEDREAM_BASE_URL":            base,
		"PIPEDREAM_APPS":                o.apps,
		"PD_MCP_JWT_SECRET":             relJWTSecret,
	}
	args := []string{"serve", "--transport", o.transport, "--addr", "127.0.0.1:" + port, "--public-url", rs.url,
		"--webhook-secret", relWebhookSecret, "--log-level", "debug", "--shutdown-timeout", "5s",
		"--call-timeout", o.callTimeout, "--auth", o.auth}
	if o.auth == "keys" {
		keys := filepath.Join(t.TempDir(), "keys.yaml")
		content := relAPIKeyDemo + ": " + pdtest.DemoUser + "\n" + relAPIKeyOther + ": " + pdtest.OtherUser + "\n"
		if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--api-keys-file", keys)
	}
	args = append(args, o.args...)
	ctx, cancel := context.WithCancel(context.Background())
	rs.stop = cancel
	go func() {
		err := Run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, rs.stderr)
		rs.exited.Store(true)
		rs.done <- err
	}()
	t.Cleanup(func() { rs.checkSecrets(t) }) // runs last: after the shutdown below
	t.Cleanup(func() {
		if err := rs.shutdown(t); err != nil {
			t.Errorf("run = %v", err)
		}
		if rs.api != nil {
			rs.api.Close()
		}
	})
	// The process serves (liveness) before the catalogs load.
	rs.waitStatus(t, "/healthz", http.StatusOK, 20*time.Second)
	if !o.noWait {
		rs.waitStatus(t, "/readyz", http.StatusOK, 20*time.Second)
	}
	return rs
}

// shutdown stops the server and returns run's error (once).
func (rs *relServer) shutdown(t *testing.T) error {
	t.Helper()
	rs.stop()
	select {
	case err, ok := <-rs.done:
		if ok {
			close(rs.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not shut down")
		return nil
	}
}

// status GETs path and returns the HTTP status (0 when unreachable).
func (rs *relServer) status(path string) int {
	resp, err := http.Get(rs.url + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus waits until GET path answers want.
func (rs *relServer) waitStatus(t *testing.T, path string, want int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := rs.status(path)
		if got == want {
			return
		}
		if rs.exited.Load() {
			t.Fatalf("the server exited:\n%s", rs.stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d after %v, want %d\n%s", path, got, limit, want, tail(rs.stderr.String(), 40))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// credential returns the bearer credential of user: a JWT signed with the
// planted secret (recorded for the scan), or an API key.
func (rs *relServer) credential(t *testing.T, user string) string {
	t.Helper()
	if rs.auth == "keys" {
		switch user {
		case pdtest.DemoUser:
			return relAPIKeyDemo
		case pdtest.OtherUser:
			return relAPIKeyOther
		}
		t.Fatalf("no API key for %s", user)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString([]byte(relJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	rs.mu.Lock()
	rs.jwts = append(rs.jwts, tok)
	rs.mu.Unlock()
	return tok
}

// newUser adds an end user with healthy accounts for apps and returns its
// external user ID. A fresh user has nothing cached, so its first call reads
// the accounts endpoint.
func (rs *relServer) newUser(apps ...string) string {
	rs.mu.Lock()
	rs.users++
	user := fmt.Sprintf("rel-user-%d", rs.users)
	rs.mu.Unlock()
	for _, app := range apps {
		rs.fake.AddAccount(pdtest.Account{ExternalUserID: user, App: app, Name: user + "'s " + app, Healthy: true})
	}
	return user
}

// dial opens a session for user at path (/mcp, /mcp/<conn>, /sse). With
// listChanged it keeps a stream open (Streamable HTTP: the legacy era's GET
// stream) and counts notifications/tools/list_changed.
func (rs *relServer) dial(t *testing.T, user, path string, listChanged *atomic.Int32) *client.Client {
	t.Helper()
	headers := map[string]string{"Authorization": "Bearer " + rs.credential(t, user)}
	var c *client.Client
	var err error
	if strings.HasPrefix(path, "/sse") {
		c, err = client.NewSSEMCPClient(rs.url+path, client.WithHeaders(headers))
	} else {
		opts := []transport.StreamableHTTPCOption{transport.WithHTTPHeaders(headers)}
		var copts []client.ClientOption
		if listChanged != nil {
			//lint:ignore SA1019 the legacy era's GET stream is what this test listens on.
			opts = append(opts, transport.WithContinuousListening())
			copts = append(copts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
		}
		var tr *transport.StreamableHTTP
		tr, err = transport.NewStreamableHTTP(rs.url+path, opts...)
		if err == nil {
			c = client.NewClient(tr, copts...)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if listChanged != nil {
		c.OnNotification(func(n mcp.JSONRPCNotification) {
			if n.Method == string(mcp.MethodNotificationToolsListChanged) {
				listChanged.Add(1)
			}
		})
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "reliability", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize %s: %v", path, err)
	}
	return c
}

// call runs a tool and records what the client saw.
func (rs *relServer) call(ctx context.Context, c *client.Client, user, name, args string) e2eResult {
	r := e2eCall(ctx, c, name, args)
	rs.record(user, r)
	return r
}

// record adds a result to the transcript scanned for secrets.
func (rs *relServer) record(user string, r e2eResult) {
	out := relOutput{user: user, text: r.text}
	if r.err != nil {
		out.text += "\n" + r.err.Error()
	}
	var strs []string
	collectStrings(r.sc, "", &strs, &out.connectURLs)
	out.text += "\n" + strings.Join(strs, "\n")
	rs.mu.Lock()
	rs.outputs = append(rs.outputs, out)
	rs.mu.Unlock()
}

// recordText adds raw text a client was shown (an HTTP response body).
func (rs *relServer) recordText(user, text string) {
	rs.mu.Lock()
	rs.outputs = append(rs.outputs, relOutput{user: user, text: text})
	rs.mu.Unlock()
}

// collectStrings gathers every key and string value of v, and the values of
// connect_url fields.
func collectStrings(v any, key string, out, connectURLs *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
		if key == "connect_url" {
			*connectURLs = append(*connectURLs, x)
		}
	case map[string]any:
		for k, e := range x {
			*out = append(*out, k)
			collectStrings(e, k, out, connectURLs)
		}
	case []any:
		for _, e := range x {
			collectStrings(e, key, out, connectURLs)
		}
	}
}

// checkSecrets scans stderr and every recorded output for the planted
// secrets, the access tokens the fake issued, the JWTs minted, and Connect
// tokens (allowed only inside a connect_url shown to the user the token was
// made for). It also checks that account credentials were never requested.
func (rs *relServer) checkSecrets(t *testing.T) {
	t.Helper()
	secrets := map[string]string{
		"the client secret":  relClientSecret,
		"the JWT secret":     relJWTSecret,
		"the webhook secret": relWebhookSecret,
		"an API key":         relAPIKeyDemo,
		"another API key":    relAPIKeyOther,
		"an access token":    "pdat_", // every access token the fake issues starts so
	}
	for i, tok := range rs.tap.all() {
		secrets[fmt.Sprintf("access token #%d", i+1)] = tok
	}
	rs.mu.Lock()
	for i, tok := range rs.jwts {
		secrets[fmt.Sprintf("JWT #%d", i+1)] = tok
	}
	outputs := slices.Clone(rs.outputs)
	rs.mu.Unlock()
	logs := rs.stderr.String()
	outputs = append(outputs, relOutput{user: "<stderr>", text: logs})
	ctoks := rs.fake.ConnectTokens()
	for i, o := range outputs {
		where := fmt.Sprintf("output #%d (user %s)", i+1, o.user)
		if o.user == "<stderr>" {
			where = "the log"
		}
		for name, s := range secrets {
			if strings.Contains(o.text, s) {
				t.Errorf("%s appears in %s", name, where)
			}
		}
		if o.user == "<stderr>" && strings.Contains(o.text, "ctok_") {
			t.Errorf("a Connect token appears in the log")
		}
		for _, ct := range ctoks {
			if !strings.Contains(o.text, ct.Token) {
				continue
			}
			rest := o.text
			for _, u := range o.connectURLs {
				rest = strings.ReplaceAll(rest, u, "")
			}
			if o.user != ct.ExternalUserID || strings.Contains(rest, ct.Token) {
				t.Errorf("the Connect token of %s appears in %s outside a connect_url for that user", ct.ExternalUserID, where)
			}
		}
	}
	if n := rs.fake.CredentialsRequested(); n != 0 {
		t.Errorf("account credentials were requested %d times", n)
	}
	if strings.Contains(logs, "panic") {
		t.Errorf("the log mentions a panic:\n%s", tail(logs, 60))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// relAPI serves a handler (the fake) on a real address.
type relAPI struct {
	url  string
	srv  *http.Server
	done chan struct{}
}

func serveAPI(t *testing.T, h http.Handler, addr string) *relAPI {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	a := &relAPI{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		_ = a.srv.Serve(ln)
	}()
	return a
}

// Close stops the server at once, closing open connections.
func (a *relAPI) Close() {
	_ = a.srv.Close()
	<-a.done
}

// tokenTap passes requests to the fake and captures the access tokens its
// token endpoint issues.
type tokenTap struct {
	next   http.Handler
	mu     sync.Mutex
	tokens []string
}

func (tt *tokenTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/oauth/token") {
		tt.next.ServeHTTP(w, r)
		return
	}
	cw := &captureWriter{ResponseWriter: w}
	tt.next.ServeHTTP(cw, r)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(cw.buf.Bytes(), &body) == nil && body.AccessToken != "" {
		tt.mu.Lock()
		tt.tokens = append(tt.tokens, body.AccessToken)
		tt.mu.Unlock()
	}
}

func (tt *tokenTap) all() []string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return slices.Clone(tt.tokens)
}

// captureWriter copies a response body; Unwrap keeps hijacking (Fault.Reset,
// Fault.Truncate) working.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.buf.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// executedRuns counts the runs of user that the fake executed, and all runs
// of user that reached the fake's handler.
func executedRuns(f *pdtest.Fake, user string) (executed, reached int) {
	for _, r := range f.Runs() {
		if r.ExternalUserID != user {
			continue
		}
		reached++
		if r.Executed {
			executed++
		}
	}
	return executed, reached
}

// toolNames lists the tools of a session.
func toolNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	names := make([]string, 0, len(list.Tools))
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	sort.Strings(names)
	return names
}

// waitFor polls cond until it holds or limit passes.
func relWaitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestReliabilityStartWhileAPIDown starts the server while Pipedream fails:
// it must serve the handshake and the helper tools within a bounded wait,
// report not ready, then load the catalog once the API recovers and announce
// the new tools with one list_changed.
func TestReliabilityStartWhileAPIDown(t *testing.T) {
	t.Parallel()
	helpersOnly := []string{"pipedream_accounts", "pipedream_describe", "pipedream_list_options"}

	t.Run("503 everywhere", func(t *testing.T) {
		t.Parallel()
		rs := startRel(t, relOptions{apps: "github", noWait: true, before: func(f *pdtest.Fake) {
			f.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAll, Status: http.StatusServiceUnavailable, Body: "<html>upstream unavailable</html>"})
		}})
		if got := rs.status("/readyz"); got != http.StatusServiceUnavailable {
			t.Errorf("/readyz = %d while the API is down, want 503", got)
		}
		var changed atomic.Int32
		began := time.Now()
		c := rs.dial(t, pdtest.DemoUser, "/mcp", &changed)
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("the handshake took %v while the API is down", d)
		}
		began = time.Now()
		if names := toolNames(t, c); !slices.Equal(names, helpersOnly) {
			t.Errorf("tools/list while down = %v, want the helpers %v", names, helpersOnly)
		}
		if d := time.Since(began); d > 15*time.Second {
			t.Errorf("tools/list took %v while the API is down (bounded wait is 10s)", d)
		}
		if got := rs.status("/healthz"); got != http.StatusOK {
			t.Errorf("/healthz = %d while the API is down, want 200", got)
		}
		rs.fake.ClearFaults()
		rs.waitStatus(t, "/readyz", http.StatusOK, 40*time.Second)
		if !relWaitFor(10*time.Second, func() bool { return changed.Load() >= 1 }) {
			t.Fatal("no notifications/tools/list_changed after the catalog loaded")
		}
		names := toolNames(t, c)
		if !slices.Contains(names, toolRepo) || !slices.Contains(names, "pipedream_list_options") {
			t.Errorf("tools/list after recovery = %v", names)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Errorf("call after recovery: %v", r)
		}
		time.Sleep(time.Second) // a second notification would come with the next round
		if n := changed.Load(); n != 1 {
			t.Errorf("%d list_changed notifications, want exactly 1", n)
		}
		if logs := rs.stderr.String(); !strings.Contains(logs, "could not check the Pipedream credentials") {
			t.Errorf("the log does not say the credential check was inconclusive:\n%s", tail(logs, 30))
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens here until the API "comes back"
		rs := startRel(t, relOptions{apps: "slack,github", baseURL: "http://" + addr, noWait: true})
		if got := rs.status("/readyz"); got != http.StatusServiceUnavailable {
			t.Errorf("/readyz = %d while the API is unreachable, want 503", got)
		}
		var changed atomic.Int32
		c := rs.dial(t, pdtest.DemoUser, "/mcp", &changed)
		began := time.Now()
		if names := toolNames(t, c); !slices.Equal(names, helpersOnly) {
			t.Errorf("tools/list while unreachable = %v, want the helpers", names)
		}
		if d := time.Since(began); d > 15*time.Second {
			t.Errorf("tools/list took %v while the API is unreachable", d)
		}
		rs.api = serveAPI(t, rs.tap, addr)
		rs.waitStatus(t, "/readyz", http.StatusOK, 60*time.Second)
		if !relWaitFor(10*time.Second, func() bool { return changed.Load() >= 1 }) {
			t.Fatal("no notifications/tools/list_changed after the catalogs loaded")
		}
		names := toolNames(t, c)
		if !slices.Contains(names, toolRepo) || !slices.Contains(names, toolSend) {
			t.Errorf("tools/list after recovery lacks the actions: %v", names)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs("after recovery")); r.status() != "success" {
			t.Errorf("call after recovery: %v", r)
		}
		if n := changed.Load(); n < 1 || n > 2 {
			t.Errorf("%d list_changed notifications for two connections, want 1 (2 if they loaded in different rounds)", n)
		}
	})
}

// faultCase is one upstream failure and what the caller must see.
type faultCase struct {
	name   string
	faults []pdtest.Fault
	// setup runs before the call (after the user's accounts are cached when
	// warm is set); undo runs after it.
	setup, undo func(rs *relServer)
	warm        bool // make the call once first (successfully), so accounts are cached
	tool, args  string
	status      string
	// runs is how many actions/run requests reach the fake (faulted ones
	// included); executed how many the fake executed.
	runs, executed int
	// endpoint and hits, when set, count requests to another endpoint.
	endpoint string
	hits     int
	text     []string // substrings of the result text
	notText  []string
	minDur   time.Duration
	maxDur   time.Duration
	after    func(t *testing.T, rs *relServer)
}

// runFaultCases runs the cases one after another on one server (faults are
// global to its fake), each with a fresh user.
func runFaultCases(t *testing.T, rs *relServer, cases []faultCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user := rs.newUser("slack", "github")
			c := rs.dial(t, user, "/mcp", nil)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if tc.warm {
				// The same call once, so the accounts it needs are cached and
				// the fault meets the run itself.
				if r := rs.call(ctx, c, user, tc.tool, tc.args); r.status() != "success" {
					t.Fatalf("warm-up call: %v", r)
				}
			}
			execBefore, _ := executedRuns(rs.fake, user)
			runsBefore := rs.fake.Count(pdtest.EndpointRun)
			hitsBefore := 0
			if tc.endpoint != "" {
				hitsBefore = rs.fake.Count(tc.endpoint)
			}
			for _, f := range tc.faults {
				rs.fake.InjectFault(f)
			}
			if tc.setup != nil {
				tc.setup(rs)
			}
			began := time.Now()
			r := rs.call(ctx, c, user, tc.tool, tc.args)
			took := time.Since(began)
			rs.fake.ClearFaults()
			if tc.undo != nil {
				tc.undo(rs)
			}
			if r.err != nil {
				t.Fatalf("protocol error: %v", r.err)
			}
			got := r.status()
			if got == "" && !r.isError {
				got = "success" // helpers answer without a status
			}
			if got != tc.status || r.isError != (tc.status != "success") {
				t.Errorf("status %q isError=%v, want %q\n%s", r.status(), r.isError, tc.status, r.text)
			}
			for _, s := range tc.text {
				if !strings.Contains(r.text, s) {
					t.Errorf("the text lacks %q:\n%s", s, r.text)
				}
			}
			for _, s := range tc.notText {
				if strings.Contains(r.text, s) {
					t.Errorf("the text contains %q:\n%s", s, r.text)
				}
			}
			if got := rs.fake.Count(pdtest.EndpointRun) - runsBefore; got != tc.runs {
				t.Errorf("%d actions/run requests, want %d", got, tc.runs)
			}
			if got, _ := executedRuns(rs.fake, user); got-execBefore != tc.executed {
				t.Errorf("the action was executed %d times, want %d", got-execBefore, tc.executed)
			}
			if tc.endpoint != "" {
				if got := rs.fake.Count(tc.endpoint) - hitsBefore; got != tc.hits {
					t.Errorf("%d %s requests, want %d", got, tc.endpoint, tc.hits)
				}
			}
			if took < tc.minDur || (tc.maxDur > 0 && took > tc.maxDur) {
				t.Errorf("the call took %v, want %v..%v", took, tc.minDur, tc.maxDur)
			}
			if tc.after != nil {
				tc.after(t, rs)
			}
		})
	}
}

// TestReliabilityRunFaults injects failures into actions/run: a run is retried
// only when it certainly did not execute (429) or the action is idempotent,
// and every failure says what to do next.
func TestReliabilityRunFaults(t *testing.T) {
	t.Parallel()
	rs := startRel(t, relOptions{callTimeout: "4s"})
	run := func(f pdtest.Fault) pdtest.Fault { f.Endpoint = pdtest.EndpointRun; return f }
	html := "<html><body>" + strings.Repeat("Bad gateway. ", 8000) + "</body></html>"
	runFaultCases(t, rs, []faultCase{
		{name: "429 twice with Retry-After", faults: []pdtest.Fault{run(pdtest.Fault{Status: 429, RetryAfter: "1", Count: 2})},
			tool: toolSend, args: sendArgs("429 twice"), status: "success", runs: 3, executed: 1,
			minDur: 2 * time.Second, maxDur: 4 * time.Second},
		{name: "429 storm", faults: []pdtest.Fault{run(pdtest.Fault{Status: 429, RetryAfter: "1"})},
			tool: toolSend, args: sendArgs("429 storm"), status: "rate_limited", runs: 4, executed: 0,
			text: []string{"Retry after 1 s", "Nothing was run"}, maxDur: 4 * time.Second},
		{name: "429 asking for more than the retry budget", faults: []pdtest.Fault{run(pdtest.Fault{Status: 429, RetryAfter: "120"})},
			tool: toolSend, args: sendArgs("429 long"), status: "rate_limited", runs: 1, executed: 0,
			text: []string{"Retry after 120 s"}, maxDur: time.Second},
		{name: "503 burst, not idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Status: 503, Count: 2})},
			tool: toolSend, args: sendArgs("503"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"may or may not have run"}, maxDur: time.Second},
		{name: "503 burst, idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Status: 503, Count: 2})},
			tool: toolRepo, args: getRepo, status: "success", runs: 3, executed: 1, maxDur: 4 * time.Second},
		{name: "502 with a large HTML body", faults: []pdtest.Fault{run(pdtest.Fault{Status: 502, Body: html, Count: 1})},
			tool: toolSend, args: sendArgs("502"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"Pipedream answered 502", "may or may not have run"}, maxDur: time.Second},
		{name: "connection reset, not idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Reset: true, Count: 1})},
			tool: toolSend, args: sendArgs("reset"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"may or may not have run"}, maxDur: 2 * time.Second},
		{name: "connection reset, idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Reset: true, Count: 1})},
			tool: toolRepo, args: getRepo, status: "success", runs: 2, executed: 1, maxDur: 3 * time.Second},
		{name: "truncated body, not idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Truncate: true, Count: 1})},
			tool: toolSend, args: sendArgs("truncated"), status: "upstream_error", runs: 1, executed: 1,
			text: []string{"may or may not have run"}, notText: []string{"Retry in a little while"}, maxDur: 2 * time.Second},
		{name: "truncated body, idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Truncate: true, Count: 1})},
			tool: toolRepo, args: getRepo, status: "success", runs: 2, executed: 2, maxDur: 3 * time.Second},
		{name: "non-JSON 200", faults: []pdtest.Fault{run(pdtest.Fault{Status: 200, Body: "<html>maintenance</html>", Count: 1})},
			tool: toolSend, args: sendArgs("non-JSON"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"may or may not have run"}, maxDur: 2 * time.Second},
		{name: "slower than the call deadline", faults: []pdtest.Fault{run(pdtest.Fault{Delay: 20 * time.Second, Count: 1})},
			tool: toolSend, args: sendArgs("slow"), status: "timeout", runs: 1, executed: 0,
			text: []string{"within 4s", "may or may not have run"}, minDur: 3 * time.Second, maxDur: 6 * time.Second},
	})
}

// TestReliabilityReadAndTokenFaults injects failures into the reads a call
// makes (accounts, options, Connect tokens) and into the token endpoint.
func TestReliabilityReadAndTokenFaults(t *testing.T) {
	t.Parallel()
	rs := startRel(t, relOptions{callTimeout: "4s"})
	at := func(endpoint string, f pdtest.Fault) pdtest.Fault { f.Endpoint = endpoint; return f }
	accounts := func(f pdtest.Fault) pdtest.Fault { return at(pdtest.EndpointAccounts, f) }
	// Token requests, faulted ones included (TokenRequests counts only those
	// that reached the token handler).
	var tokensBefore, handledBefore int
	countTokens := func(rs *relServer) {
		tokensBefore = rs.fake.Count(pdtest.EndpointToken)
		handledBefore = rs.fake.TokenRequests(relClientSecret)
	}
	wantTokens := func(n int) func(t *testing.T, rs *relServer) {
		return func(t *testing.T, rs *relServer) {
			if got := rs.fake.Count(pdtest.EndpointToken) - tokensBefore; got != n {
				t.Errorf("%d token requests, want %d", got, n)
			}
		}
	}
	runFaultCases(t, rs, []faultCase{
		{name: "accounts 503 burst", faults: []pdtest.Fault{accounts(pdtest.Fault{Status: 503, Count: 2})},
			tool: toolSend, args: sendArgs("accounts 503"), status: "success", runs: 1, executed: 1,
			endpoint: pdtest.EndpointAccounts, hits: 3, maxDur: 4 * time.Second},
		{name: "accounts connection reset", faults: []pdtest.Fault{accounts(pdtest.Fault{Reset: true, Count: 1})},
			tool: toolSend, args: sendArgs("accounts reset"), status: "success", runs: 1, executed: 1, maxDur: 3 * time.Second},
		{name: "accounts truncated", faults: []pdtest.Fault{accounts(pdtest.Fault{Truncate: true, Count: 1})},
			tool: toolSend, args: sendArgs("accounts truncated"), status: "success", runs: 1, executed: 1,
			endpoint: pdtest.EndpointAccounts, hits: 2, maxDur: 3 * time.Second},
		{name: "accounts non-JSON 200", faults: []pdtest.Fault{accounts(pdtest.Fault{Status: 200, Body: "<html>login</html>", Count: 1})},
			tool: toolSend, args: sendArgs("accounts non-JSON"), status: "upstream_error", runs: 0, executed: 0,
			text: []string{"Retry"}, maxDur: 2 * time.Second},
		{name: "accounts slower than the call deadline", faults: []pdtest.Fault{accounts(pdtest.Fault{Delay: 20 * time.Second, Count: 1})},
			tool: toolSend, args: sendArgs("accounts slow"), status: "timeout", runs: 0, executed: 0,
			text: []string{"Nothing was run"}, minDur: 3 * time.Second, maxDur: 6 * time.Second},
		{name: "options 503 burst", faults: []pdtest.Fault{at(pdtest.EndpointConfigure, pdtest.Fault{Status: 503, Count: 2})},
			tool: "pipedream_list_options", args: `{"tool":"slack_send_message_to_channel","prop":"conversation"}`,
			status: "success", endpoint: pdtest.EndpointConfigure, hits: 3, maxDur: 4 * time.Second},
		{name: "Connect token endpoint failing", faults: []pdtest.Fault{at(pdtest.EndpointConnectTokens, pdtest.Fault{Status: 503})},
			tool: "notion_search", args: `{}`, status: "account_required", text: []string{"could not be created"}, maxDur: 6 * time.Second},
		{name: "token expired before the run", warm: true, setup: func(rs *relServer) { countTokens(rs); rs.fake.ExpireTokens() },
			tool: toolSend, args: sendArgs("expired token"), status: "success", runs: 2, executed: 1,
			maxDur: 2 * time.Second, after: wantTokens(1)},
		{name: "token endpoint 503 burst with an expired token", warm: true,
			faults: []pdtest.Fault{at(pdtest.EndpointToken, pdtest.Fault{Status: 503, Count: 2})},
			setup:  func(rs *relServer) { countTokens(rs); rs.fake.ExpireTokens() },
			tool:   toolSend, args: sendArgs("token 503"), status: "success", runs: 2, executed: 1,
			maxDur: 4 * time.Second, after: wantTokens(3)},
		{name: "client secret revoked", warm: true,
			setup: func(rs *relServer) {
				rs.fake.RevokeSecret(pdtest.SandboxClientID, relClientSecret)
				rs.fake.ExpireTokens()
			},
			undo: func(rs *relServer) { rs.fake.AcceptSecret(pdtest.SandboxClientID, relClientSecret) },
			tool: toolSend, args: sendArgs("revoked"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"credentials were refused", "Tell the operator"}, maxDur: 2 * time.Second},
		{name: "token endpoint slower than the call deadline", warm: true,
			faults: []pdtest.Fault{at(pdtest.EndpointToken, pdtest.Fault{Delay: 6 * time.Second, Count: 1})},
			setup:  func(rs *relServer) { countTokens(rs); rs.fake.ExpireTokens() },
			tool:   toolSend, args: sendArgs("token slow"), status: "timeout", runs: 1, executed: 0,
			minDur: 3 * time.Second, maxDur: 6 * time.Second,
			after: func(t *testing.T, rs *relServer) {
				// The token fetch goes on for the next callers and then serves them.
				if !relWaitFor(10*time.Second, func() bool { return rs.fake.TokenRequests(relClientSecret) > handledBefore }) {
					t.Error("the token fetch never completed")
				}
			}},
	})
}

// TestReliabilityTokensExpireUnderLoad expires every access token while 24
// calls are in flight: each call runs exactly once, and the refused requests
// share one token refresh.
func TestReliabilityTokensExpireUnderLoad(t *testing.T) {
	t.Parallel()
	rs := startRel(t, relOptions{apps: "slack"})
	c := rs.dial(t, pdtest.DemoUser, "/mcp", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if r := rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs("warm-up")); r.status() != "success" {
		t.Fatalf("warm-up: %v", r)
	}
	tokensBefore := rs.fake.TokenRequests(relClientSecret)
	rs.fake.SetRunDelay(300 * time.Millisecond)
	const n = 24
	var wg sync.WaitGroup
	results := make([]e2eResult, n)
	for i := range n {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 25 * time.Millisecond)
			results[i] = rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs(fmt.Sprintf("load-%02d", i)))
		})
	}
	time.Sleep(250 * time.Millisecond)
	rs.fake.ExpireTokens()
	wg.Wait()
	rs.fake.SetRunDelay(0)
	for i, r := range results {
		if r.status() != "success" {
			t.Errorf("call %d: %v", i, r)
		}
	}
	ran := map[string]int{}
	for _, r := range rs.fake.Runs() {
		if r.Executed {
			if text, ok := r.ConfiguredProps["text"].(string); ok {
				ran[text]++
			}
		}
	}
	for i := range n {
		if k := ran[fmt.Sprintf("load-%02d", i)]; k != 1 {
			t.Errorf("load-%02d was executed %d times, want once", i, k)
		}
	}
	if got := rs.fake.TokenRequests(relClientSecret) - tokensBefore; got < 1 || got > 2 {
		t.Errorf("%d token requests after the tokens expired, want 1 (shared by every refused call)", got)
	}
}

// TestReliabilityCatalogRefreshKeepsLastGood makes every catalog refresh fail
// (5xx, truncated, non-JSON) after a successful load: the last good catalog
// keeps serving, with no list_changed and readiness unchanged.
func TestReliabilityCatalogRefreshKeepsLastGood(t *testing.T) {
	t.Parallel()
	rs := startRel(t, relOptions{apps: "github", args: []string{"--catalog-ttl", "1s"}})
	var changed atomic.Int32
	c := rs.dial(t, pdtest.DemoUser, "/mcp", &changed)
	want := toolNames(t, c)
	if !slices.Contains(want, toolRepo) {
		t.Fatalf("tools/list = %v", want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, f := range []pdtest.Fault{
		{Status: http.StatusBadGateway},
		{Truncate: true},
		{Status: http.StatusOK, Body: "<html>captive portal</html>"},
		{Reset: true},
	} {
		f.Endpoint = pdtest.EndpointActions
		before := rs.fake.Count(pdtest.EndpointActions)
		rs.fake.InjectFault(f)
		if !relWaitFor(15*time.Second, func() bool { return rs.fake.Count(pdtest.EndpointActions) >= before+2 }) {
			t.Fatalf("fault %+v: the catalog was not refreshed", f)
		}
		if got := toolNames(t, c); !slices.Equal(got, want) {
			t.Errorf("fault %+v: tools/list = %v, want the last good %v", f, got, want)
		}
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Errorf("fault %+v: call: %v", f, r)
		}
		if got := rs.status("/readyz"); got != http.StatusOK {
			t.Errorf("fault %+v: /readyz = %d", f, got)
		}
		rs.fake.ClearFaults()
	}
	// Refreshes succeed again: the same catalog, still no notification.
	before := rs.fake.Count(pdtest.EndpointActions)
	if !relWaitFor(15*time.Second, func() bool { return rs.fake.Count(pdtest.EndpointActions) > before }) {
		t.Fatal("no refresh after the faults cleared")
	}
	if got := toolNames(t, c); !slices.Equal(got, want) {
		t.Errorf("tools/list after recovery = %v", got)
	}
	if n := changed.Load(); n != 0 {
		t.Errorf("%d list_changed notifications for refreshes that changed nothing", n)
	}
	if logs := rs.stderr.String(); !strings.Contains(logs, "serving the last good catalog") {
		t.Errorf("the failed refreshes were not logged:\n%s", tail(logs, 20))
	}
}

// settledGoroutines waits for the goroutine count to drop to at most limit
// and returns it (the count at the deadline when it does not).
func settledGoroutines(limit int, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	n := goruntime.NumGoroutine()
	for n > limit && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n = goruntime.NumGoroutine()
	}
	return n
}

// workGoroutines waits until the count of goroutines other than those of
// pooled keep-alive connections (HTTP client and server) stops changing, and
// returns it. Connection pools are bounded by their own limits; everything
// else that a call starts must end with it.
func workGoroutines(wait time.Duration) int {
	count := func() int {
		buf := make([]byte, 8<<20)
		n := 0
		for g := range strings.SplitSeq(string(buf[:goruntime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*conn).serve") {
				continue
			}
			n++
		}
		return n
	}
	deadline := time.Now().Add(wait)
	n, same := count(), 0
	for same < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		m := count()
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

// liveHeap is the heap in use by live objects after a collection.
func liveHeap() uint64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestReliabilityFaultStormNoLeak runs three rounds of 40 concurrent calls
// into mixed faults (resets, 5xx, 429, truncated bodies, deadlines): every
// call ends with a result, goroutines and heap do not grow from round to
// round, and nothing outlives the server. Not parallel, so the counts mean
// something.
func TestReliabilityFaultStormNoLeak(t *testing.T) {
	base := goruntime.NumGoroutine()
	var rounds []int
	func() {
		rs := startRel(t, relOptions{apps: "slack,github", callTimeout: "1s"})
		c := rs.dial(t, pdtest.DemoUser, "/mcp", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Fatalf("warm-up: %v", r)
		}
		heapBefore := liveHeap()
		for round := range 3 {
			for _, f := range []pdtest.Fault{
				{Endpoint: pdtest.EndpointRun, Reset: true, Count: 8},
				{Endpoint: pdtest.EndpointRun, Status: 503, Count: 8},
				{Endpoint: pdtest.EndpointRun, Status: 429, RetryAfter: "0.2", Count: 8},
				{Endpoint: pdtest.EndpointRun, Truncate: true, Count: 8},
				{Endpoint: pdtest.EndpointRun, Delay: 3 * time.Second, Count: 8},
			} {
				rs.fake.InjectFault(f)
			}
			var wg sync.WaitGroup
			var protocolErrors atomic.Int32
			for i := range 40 {
				wg.Go(func() {
					tool, args := toolRepo, getRepo
					if i%2 == 0 {
						tool, args = toolSend, sendArgs(fmt.Sprintf("storm %d/%d", round, i))
					}
					if r := rs.call(ctx, c, pdtest.DemoUser, tool, args); r.err != nil || r.status() == "" {
						protocolErrors.Add(1)
					}
				})
			}
			wg.Wait()
			rs.fake.ClearFaults()
			if n := protocolErrors.Load(); n > 0 {
				t.Errorf("round %d: %d calls ended without a result", round, n)
			}
			// Delayed fault handlers end with their (cancelled) requests.
			rounds = append(rounds, workGoroutines(3*time.Second))
		}
		if rounds[2] > rounds[0]+3 {
			t.Errorf("goroutines (other than pooled connections) grew from round to round: %v", rounds)
		}
		if grown := int64(liveHeap()) - int64(heapBefore); grown > 16<<20 {
			t.Errorf("the live heap grew by %d MiB over three storms", grown>>20)
		}
		t.Logf("goroutines after each storm, pooled connections aside: %v (%d in all before the server started)", rounds, base)
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Errorf("call after the storms: %v", r)
		}
		_ = c.Close()
		if err := rs.shutdown(t); err != nil {
			t.Errorf("run = %v", err)
		}
		rs.api.Close()
		rs.api = nil
	}()
	http.DefaultClient.CloseIdleConnections()
	if n := settledGoroutines(base+5, 10*time.Second); n > base+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the server stopped, %d before (rounds: %v):\n%s", n, base, rounds, buf[:goruntime.Stack(buf, true)])
	}
}
