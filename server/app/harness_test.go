package app

// The harness of the whole-binary tests: one way to start the server in
// process against the fake Connect API (startServer), to dial it with the
// mcp-go client (dial), to post a JSON-RPC message by hand (rawPost), to give
// a server its environment (serverEnv), to build and find the binary, and to
// wait.
//
// Waiting: what the tests own tells them when it changes (a log written, a
// request reaching or leaving the fake, a notification counted, a message
// read from a child's stdout), and waits wake on that (wakeup). Only what
// nothing signals (an HTTP endpoint's state, a child process becoming ready,
// goroutines exiting) is polled, in eventually.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
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
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// Secrets planted in every server the harness starts. None may appear in a
// log line, a tool result or an error (checkSecrets).
const (
	plantedClientSecret  = "rel-client-secret-PLANTED-7f3a9c21"
	plantedJWTSecret     = "rel-jwt-secret-PLANTED-0123456789abcdef"
	plantedWebhookSecret = "rel-webhook-secret-PLANTED-4242"
	plantedAPIKeyDemo    = "rel-api-key-PLANTED-demo-0123456789"
	plantedAPIKeyOther   = "rel-api-key-PLANTED-other-0123456789"
)

// --- waiting -------------------------------------------------------------

// wakeup tells waiters that something changed: next returns a channel that
// is closed at the next notify.
type wakeup struct {
	mu sync.Mutex
	ch chan struct{}
}

func (w *wakeup) next() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *wakeup) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// await checks cond now and after every change until it holds or limit
// passes, and reports whether it held.
func (w *wakeup) await(limit time.Duration, cond func() bool) bool {
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for {
		changed := w.next() // before cond: a change during cond is not missed
		if cond() {
			return true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return cond()
		}
	}
}

// eventually polls cond until it holds or limit passes, and reports whether
// it held. It is for conditions nothing signals: an HTTP endpoint's state, a
// child process coming up, goroutines exiting. The polls start 1ms apart and
// back off to 50ms.
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for wait := time.Millisecond; !cond(); wait = min(2*wait, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
	return true
}

// waitFor fails the test unless cond holds within 20s (see eventually).
func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	if !eventually(20*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// counter counts events (notifications a client received, calls that
// succeeded) and wakes waiters at each.
type counter struct {
	wakeup
	n atomic.Int32
}

func (c *counter) add()          { c.n.Add(1); c.notify() }
func (c *counter) load() int32   { return c.n.Load() }
func (c *counter) store(v int32) { c.n.Store(v) }

// atLeast waits up to limit for the count to reach n.
func (c *counter) atLeast(n int32, limit time.Duration) bool {
	return c.await(limit, func() bool { return c.n.Load() >= n })
}

// syncBuffer is a goroutine-safe log sink that wakes waiters at every write.
// With max > 0 it keeps only the first max bytes (the start, where start-up
// problems are).
type syncBuffer struct {
	wakeup
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	defer b.notify()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max > 0 && b.buf.Len() > b.max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// awaitLog waits up to limit, waking at each write, until cond holds for the
// log written so far.
func (b *syncBuffer) awaitLog(limit time.Duration, cond func(log string) bool) bool {
	return b.await(limit, func() bool { return cond(b.String()) })
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// --- processes, ports, environments --------------------------------------

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// moduleRoot is the main package, relative to this one.
const moduleRoot = "../.."

// builtBinary builds the pipedream-mcp binary once per test process.
func builtBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pdmcp-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "pipedream-mcp")
		out, err := exec.Command("go", "build", "-o", binPath, moduleRoot).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

// cleanEnv is a minimal environment for a child process: no Pipedream
// variables leak in from the developer's shell.
func cleanEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "NO_COLOR=1"}, extra...)
}

// freePort returns a loopback port nothing listens on (yet).
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// everySandboxApp are the arguments that serve every default sandbox app and
// the pd_edge fixture as direct tools, for tests of the tools themselves
// (with no app named the sandbox serves its realistic apps in auto mode).
func everySandboxApp() []string {
	apps := append(pdtest.NewSandbox().SandboxApps(), pdtest.EdgeApp)
	return []string{"--tool-mode", tools.ToolModeDirect, "--app", strings.Join(apps, ",")}
}

// serverEnv is the environment of a server whose Connect API is api: the
// sandbox's OAuth client (with the planted secret, which the harness's fake
// accepts) and project, serving apps. extra adds or replaces variables.
func serverEnv(api, apps string, extra map[string]string) map[string]string {
	env := map[string]string{
		"NO_COLOR":                      "1",
		"PIPEDREAM_CLIENT_ID":           pdtest.SandboxClientID,
		"PIPEDREAM_CLIENT_SECRET":       plantedClientSecret,
		"PIPEDREAM_PROJECT_ID":          pdtest.SandboxProjectID,
		"PIPEDREAM_PROJECT_ENVIRONMENT": pdtest.SandboxEnvironment,
		"PIPEDREAM_BASE_URL":            api,
		"PIPEDREAM_APPS":                apps,
	}
	maps.Copy(env, extra)
	return env
}

// getenvOf is env as Run reads it.
func getenvOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// envList is env as a child process's environment (cleanEnv first).
func envList(env map[string]string) []string {
	out := cleanEnv()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// waitReady waits until GET base/readyz answers 200 (a server in another
// process, or one whose readiness nothing else tells), failing the test with
// log after limit.
func waitReady(t testing.TB, base string, limit time.Duration, log fmt.Stringer) {
	t.Helper()
	if !eventually(limit, func() bool { return httpStatus(base+"/readyz") == http.StatusOK }) {
		t.Fatalf("the server at %s was not ready within %v\n%s", base, limit, tail(log.String(), 40))
	}
}

// httpStatus GETs url and returns the HTTP status (0 when unreachable).
func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// --- the fake Connect API ------------------------------------------------

// apiTap is the handler in front of the fake: it keeps the access tokens the
// fake issues (for the secret scan), counts the actions/run requests that
// reach the fake and those it is done with, and wakes waiters when any
// request starts or ends, so a test waits on the fake's state (its counts,
// its runs) instead of polling it.
type apiTap struct {
	wakeup
	next http.Handler

	mu                    sync.Mutex
	tokens                []string
	runsStarted, runsDone int
}

func (a *apiTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	run := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/actions/run")
	if run {
		a.mu.Lock()
		a.runsStarted++
		a.mu.Unlock()
	}
	a.notify()
	defer func() {
		if run {
			a.mu.Lock()
			a.runsDone++
			a.mu.Unlock()
		}
		a.notify()
	}()
	if !strings.HasSuffix(r.URL.Path, "/oauth/token") {
		a.next.ServeHTTP(w, r)
		return
	}
	cw := &captureWriter{ResponseWriter: w}
	a.next.ServeHTTP(cw, r)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(cw.buf.Bytes(), &body) == nil && body.AccessToken != "" {
		a.mu.Lock()
		a.tokens = append(a.tokens, body.AccessToken)
		a.mu.Unlock()
	}
}

// runs returns how many actions/run requests reached the fake and how many
// it is done with (its handler returned: whether it executed is settled).
func (a *apiTap) runs() (started, done int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runsStarted, a.runsDone
}

// awaitRuns waits up to limit until at least started run requests reached
// the fake and done ones ended there.
func (a *apiTap) awaitRuns(limit time.Duration, started, done int) bool {
	return a.await(limit, func() bool {
		s, d := a.runs()
		return s >= started && d >= done
	})
}

func (a *apiTap) accessTokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.tokens)
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

// apiServer serves a handler (the tapped fake) on a real address.
type apiServer struct {
	url  string
	srv  *http.Server
	done chan struct{}
}

func serveAPI(t testing.TB, h http.Handler, addr string) *apiServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	a := &apiServer{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		_ = a.srv.Serve(ln)
	}()
	return a
}

// Close stops the server at once, closing open connections. It may be called
// again.
func (a *apiServer) Close() {
	_ = a.srv.Close()
	<-a.done
}

// listingsPerApp is how many action listings loading one app's catalog takes:
// the public and the private registry (registry: all, the default).
const listingsPerApp = 2

// --- the server ----------------------------------------------------------

// serverOptions configure startServer.
type serverOptions struct {
	apps        string   // PIPEDREAM_APPS (default slack,github,notion)
	transport   string   // http (default) or sse
	auth        string   // jwt (default), keys or none
	callTimeout string   // --call-timeout (default the server's)
	logLevel    string   // --log-level (default debug, so the secret scan sees the most)
	args        []string // more flags
	env         map[string]string
	// apiDown is an address the API is not served on yet: the server starts
	// while Pipedream is unreachable, and the test serves the fake there
	// later (serveAPI(t, s.tap, addr)).
	apiDown string
	// baseURL is an API elsewhere (another process): no fake is made.
	baseURL string
	// before runs on the fake before the server starts (faults at start-up).
	before func(*pdtest.Fake)
	// noWait returns once the server is live, before it is ready.
	noWait bool
}

// testServer is one run of `pipedream-mcp serve` in process against its own
// fake, with a transcript of everything its test saw.
type testServer struct {
	fake   *pdtest.Fake // nil with baseURL
	tap    *apiTap
	api    *apiServer // nil while the API is down
	url    string
	auth   string
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
	exited atomic.Bool

	mu      sync.Mutex
	outputs []shownOutput
	jwts    []string
	users   int
}

// shownOutput is one thing a client was shown: a tool result or an error.
type shownOutput struct {
	user        string
	text        string   // result text, structured content strings, error text
	connectURLs []string // connect_url values in the structured content
}

// startServer starts `pipedream-mcp serve` in process with a fresh sandbox
// fake that accepts the planted client secret, and waits until it is ready
// (live only, with noWait). When the test ends it shuts the server down and
// scans the run for secrets (checkSecrets).
func startServer(t testing.TB, o serverOptions) *testServer {
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
	if o.logLevel == "" {
		o.logLevel = "debug"
	}
	s := &testServer{auth: o.auth, stderr: &syncBuffer{}, done: make(chan error, 1)}
	base := o.baseURL
	if base == "" {
		s.fake = pdtest.NewSandbox()
		s.fake.AcceptSecret(pdtest.SandboxClientID, plantedClientSecret)
		if o.before != nil {
			o.before(s.fake)
		}
		s.tap = &apiTap{next: s.fake}
		if o.apiDown != "" {
			base = "http://" + o.apiDown
		} else {
			s.api = serveAPI(t, s.tap, "127.0.0.1:0")
			base = s.api.url
		}
	}
	port := freePort(t)
	s.url = "http://127.0.0.1:" + port
	env := serverEnv(base, o.apps, map[string]string{"PD_MCP_JWT_SECRET": plantedJWTSecret})
	maps.Copy(env, o.env)
	args := []string{"serve", "--transport", o.transport, "--addr", "127.0.0.1:" + port, "--public-url", s.url,
		"--webhook-secret", plantedWebhookSecret, "--log-level", o.logLevel, "--shutdown-timeout", "10s", "--auth", o.auth}
	if o.callTimeout != "" {
		args = append(args, "--call-timeout", o.callTimeout)
	}
	if o.auth == "keys" {
		keys := filepath.Join(t.TempDir(), "keys.yaml")
		content := plantedAPIKeyDemo + ": " + pdtest.DemoUser + "\n" + plantedAPIKeyOther + ": " + pdtest.OtherUser + "\n"
		if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--api-keys-file", keys)
	}
	args = append(args, o.args...)
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() {
		err := Run(ctx, args, getenvOf(env), strings.NewReader(""), io.Discard, s.stderr)
		s.exited.Store(true)
		s.done <- err
	}()
	t.Cleanup(func() { s.checkSecrets(t) }) // runs last: after the shutdown below
	t.Cleanup(func() { s.close(t) })
	// The process serves (liveness) before the catalogs load.
	s.waitStatus(t, "/healthz", http.StatusOK, 20*time.Second)
	if !o.noWait {
		s.waitStatus(t, "/readyz", http.StatusOK, 20*time.Second)
	}
	return s
}

// shutdown stops the server and returns run's error (the first time; nil
// after).
func (s *testServer) shutdown(t testing.TB) error {
	t.Helper()
	s.stop()
	select {
	case err, ok := <-s.done:
		if ok {
			close(s.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not shut down")
		return nil
	}
}

// close shuts the server down, failing the test if run failed, and stops
// its API. It may be called again.
func (s *testServer) close(t testing.TB) {
	t.Helper()
	if err := s.shutdown(t); err != nil {
		t.Errorf("run = %v", err)
	}
	if s.api != nil {
		s.api.Close()
	}
}

// status GETs path and returns the HTTP status (0 when unreachable).
func (s *testServer) status(path string) int { return httpStatus(s.url + path) }

// waitStatus waits until GET path answers want (polled: the server says
// nothing else when its readiness changes).
func (s *testServer) waitStatus(t testing.TB, path string, want int, limit time.Duration) {
	t.Helper()
	got := 0
	if !eventually(limit, func() bool { got = s.status(path); return got == want || s.exited.Load() }) || s.exited.Load() {
		if s.exited.Load() {
			t.Fatalf("the server exited:\n%s", tail(s.stderr.String(), 40))
		}
		t.Fatalf("%s = %d after %v, want %d\n%s", path, got, limit, want, tail(s.stderr.String(), 40))
	}
}

// credential returns the bearer credential of user: a JWT signed with the
// planted secret (recorded for the scan), or an API key.
func (s *testServer) credential(t testing.TB, user string) string {
	t.Helper()
	if s.auth == "keys" {
		switch user {
		case pdtest.DemoUser:
			return plantedAPIKeyDemo
		case pdtest.OtherUser:
			return plantedAPIKeyOther
		}
		t.Fatalf("no API key for %s", user)
	}
	tok := mintJWT(t, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	s.mu.Lock()
	s.jwts = append(s.jwts, tok)
	s.mu.Unlock()
	return tok
}

// newUser adds an end user with healthy accounts for apps and returns its
// external user ID. A fresh user has nothing cached, so its first call reads
// the accounts endpoint.
func (s *testServer) newUser(apps ...string) string {
	s.mu.Lock()
	s.users++
	user := fmt.Sprintf("rel-user-%d", s.users)
	s.mu.Unlock()
	for _, app := range apps {
		s.fake.AddAccount(pdtest.Account{ExternalUserID: user, App: app, Name: user + "'s " + app, Healthy: true})
	}
	return user
}

// dial opens a session for user at path (/mcp, /mcp/<conn>, /sse...).
func (s *testServer) dial(t testing.TB, user, path string, o dialOptions) *client.Client {
	t.Helper()
	return dial(t, s.url+path, s.credential(t, user), o)
}

// call runs a tool and records what the client saw.
func (s *testServer) call(ctx context.Context, c *client.Client, user, name, args string) toolResult {
	r := callTool(ctx, c, name, args)
	s.record(user, r)
	return r
}

// record adds a result to the transcript scanned for secrets.
func (s *testServer) record(user string, r toolResult) {
	out := shownOutput{user: user, text: r.text}
	if r.err != nil {
		out.text += "\n" + r.err.Error()
	}
	var strs []string
	collectStrings(r.sc, "", &strs, &out.connectURLs)
	for _, ct := range r.more {
		b, _ := json.Marshal(ct) // embedded resources' text and images' data
		strs = append(strs, string(b))
	}
	out.text += "\n" + strings.Join(strs, "\n")
	s.mu.Lock()
	s.outputs = append(s.outputs, out)
	s.mu.Unlock()
}

// recordText adds raw text a client was shown (an HTTP response body).
func (s *testServer) recordText(user, text string) {
	s.mu.Lock()
	s.outputs = append(s.outputs, shownOutput{user: user, text: text})
	s.mu.Unlock()
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
// made for). It also checks that account credentials were never requested
// and that nothing panicked.
func (s *testServer) checkSecrets(t testing.TB) {
	t.Helper()
	secrets := map[string]string{
		"the client secret":  plantedClientSecret,
		"the JWT secret":     plantedJWTSecret,
		"the webhook secret": plantedWebhookSecret,
		"an API key":         plantedAPIKeyDemo,
		"another API key":    plantedAPIKeyOther,
		"an access token":    "pdat_", // every access token the fake issues starts so
		// What the Connect proxy adds on the app's side: the account's
		// credential it injects, and the session cookie the simulated
		// GitHub API sets.
		"an account credential the proxy injected": pdtest.AccountCredential(""),
		"the app's session cookie":                 "_gh_sess",
	}
	var ctoks []pdtest.ConnectTokenRecord
	if s.fake != nil {
		for i, tok := range s.tap.accessTokens() {
			secrets[fmt.Sprintf("access token #%d", i+1)] = tok
		}
		for i, pr := range s.fake.ProxyRequests() {
			secrets[fmt.Sprintf("the credential of proxy request #%d", i+1)] = pdtest.AccountCredential(pr.AccountID)
		}
		ctoks = s.fake.ConnectTokens()
	}
	s.mu.Lock()
	for i, tok := range s.jwts {
		secrets[fmt.Sprintf("JWT #%d", i+1)] = tok
	}
	outputs := slices.Clone(s.outputs)
	s.mu.Unlock()
	logs := s.stderr.String()
	outputs = append(outputs, shownOutput{user: "<stderr>", text: logs})
	for i, o := range outputs {
		where := fmt.Sprintf("output #%d (user %s)", i+1, o.user)
		if o.user == "<stderr>" {
			where = "the log"
		}
		for name, secret := range secrets {
			if strings.Contains(o.text, secret) {
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
	if s.fake != nil {
		if n := s.fake.CredentialsRequested(); n != 0 {
			t.Errorf("account credentials were requested %d times", n)
		}
	}
	if strings.Contains(logs, "panic") {
		t.Errorf("the log mentions a panic:\n%s", tail(logs, 60))
	}
}

// mintJWT signs claims with the planted JWT secret.
func mintJWT(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(plantedJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// --- clients ---------------------------------------------------------------

// dialOptions configure dial.
type dialOptions struct {
	// legacy pins protocol 2025-11-25 (sessions); otherwise the client
	// negotiates 2026-07-28 over Streamable HTTP.
	legacy bool
	// headers are sent with every request, next to the credential.
	headers map[string]string
	// listChanged counts the notifications/tools/list_changed the client
	// receives.
	listChanged *counter
	// stream keeps the legacy era's GET stream open (Streamable HTTP; it
	// implies legacy), on which the server pushes notifications.
	stream bool
}

// listen is the dial of a legacy session that keeps its GET stream open and
// counts the list_changed notifications pushed on it.
func listen(n *counter) dialOptions {
	return dialOptions{legacy: true, stream: true, listChanged: n}
}

// dial opens an mcp-go session at url with the bearer credential, over SSE
// when the path starts /sse, else Streamable HTTP, and initializes it.
func dial(t testing.TB, url, credential string, o dialOptions) *client.Client {
	t.Helper()
	headers := map[string]string{"Authorization": "Bearer " + credential}
	maps.Copy(headers, o.headers)
	var c *client.Client
	var err error
	if strings.Contains(url, "/sse") {
		c, err = client.NewSSEMCPClient(url, client.WithHeaders(headers))
	} else {
		topts := []transport.StreamableHTTPCOption{transport.WithHTTPHeaders(headers)}
		var copts []client.ClientOption
		if o.stream {
			//lint:ignore SA1019 the legacy era's GET stream (deprecated in mcp-go for the modern era) is what these tests listen on.
			topts = append(topts, transport.WithContinuousListening())
		}
		if o.legacy || o.stream {
			copts = append(copts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
		}
		var tr *transport.StreamableHTTP
		tr, err = transport.NewStreamableHTTP(url, topts...)
		if err == nil {
			c = client.NewClient(tr, copts...)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if o.listChanged != nil {
		c.OnNotification(func(n mcp.JSONRPCNotification) {
			if n.Method == string(mcp.MethodNotificationToolsListChanged) {
				o.listChanged.add()
			}
		})
	}
	// The SSE transport keeps its stream on Start's context, which must
	// outlive the subtest that dialed when a session serves several.
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "harness", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize %s: %v", url, err)
	}
	return c
}

// toolResult is a tool result with its structured content decoded.
type toolResult struct {
	isError bool
	sc      map[string]any
	text    string // the text contents, joined
	// more are the other contents (images, embedded resources), in order.
	more []mcp.Content
	err  error
}

func callTool(ctx context.Context, c *client.Client, name, args string) toolResult {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = json.RawMessage(args)
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return toolResult{err: err}
	}
	out := toolResult{isError: res.IsError}
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &out.sc)
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			out.text += tc.Text
		} else {
			out.more = append(out.more, ct)
		}
	}
	return out
}

func (r toolResult) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("isError=%v status=%v text=%.300q", r.isError, r.sc["status"], r.text)
}

func (r toolResult) status() string {
	s, _ := r.sc["status"].(string)
	return s
}

// toolNames lists the tools of a session, sorted.
func toolNames(t testing.TB, c *client.Client) []string {
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

// reply is an HTTP answer, read whole.
type reply struct {
	status int // 0 when the request failed (body says why)
	header http.Header
	body   string
}

// rawPost sends one JSON-RPC message by hand, as a legacy-era client would:
// with the protocol version header, the credential (unless "") and the
// session (unless ""). body is a string, or an io.Reader sent chunked (its
// size not announced).
func rawPost(t testing.TB, url, credential, session string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := body.(io.Reader); ok {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	if session != "" {
		req.Header.Set(mcpserver.HeaderKeySessionID, session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// --- goroutines ------------------------------------------------------------

// settledGoroutines waits for the goroutine count to drop to at most limit
// and returns it (the count at the deadline when it does not). Goroutines
// signal nothing when they exit: this polls.
func settledGoroutines(limit int, wait time.Duration) int {
	n := goruntime.NumGoroutine()
	eventually(wait, func() bool { n = goruntime.NumGoroutine(); return n <= limit })
	return n
}

// checkGoroutinesSettle fails the test unless, once the default client's
// idle connections are closed, the goroutine count drops to within 5 of base
// (the count before the server started) in 10s. note adds to the failure.
func checkGoroutinesSettle(t testing.TB, base int, note string) {
	t.Helper()
	http.DefaultClient.CloseIdleConnections()
	if n := settledGoroutines(base+5, 10*time.Second); n > base+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the server stopped, %d before%s:\n%s", n, base, note, buf[:goruntime.Stack(buf, true)])
	}
}

// workGoroutines waits until the count of goroutines other than those of
// pooled keep-alive connections (HTTP client and server) stops changing, and
// returns it. Connection pools are bounded by their own limits; everything
// else that a call starts must end with it.
func workGoroutines(wait time.Duration) int {
	return stableCount(wait, func() int {
		buf := make([]byte, 8<<20)
		n := 0
		for g := range strings.SplitSeq(string(buf[:goruntime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*conn).serve") {
				continue
			}
			n++
		}
		return n
	})
}

// stableCount polls count until it has not changed for 200ms or wait passes,
// and returns its last value.
func stableCount(wait time.Duration, count func() int) int {
	n, since := count(), time.Now()
	eventually(wait, func() bool {
		if m := count(); m != n {
			n, since = m, time.Now()
		}
		return time.Since(since) >= 200*time.Millisecond
	})
	return n
}
