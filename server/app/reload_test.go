package app

// Tests of the credentials lifecycle: the check at start, and SIGHUP reloads
// (secret rotation under load, refused reloads, connections added by reload).
// The reload tests drive the built binary over stdio with the mcp-go client
// and send it real SIGHUPs; the fake Connect API runs in the test process.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
)

const (
	rotClientID = "client-rotation"
	rotSecretA  = "secret-A-0123456789"
	rotSecretB  = "secret-B-9876543210"
	rotProject  = "proj_rotation"
	rotUser     = "user-1"
)

// rotationFake is the fake Connect API of these tests: one OAuth client with
// secret A, and a user with github and slack accounts.
func rotationFake(t *testing.T) (*pdtest.Fake, string) {
	t.Helper()
	fake := pdtest.New(pdtest.Config{ClientID: rotClientID, ClientSecret: rotSecretA, ProjectID: rotProject})
	fake.AddAccount(pdtest.Account{ExternalUserID: rotUser, App: "github", Healthy: true})
	fake.AddAccount(pdtest.Account{ExternalUserID: rotUser, App: "slack", Healthy: true})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

// writeFile writes a file only its owner may read, as secrets are mounted.
func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// hupServer is the built binary serving stdio to an mcp-go client.
type hupServer struct {
	c           *client.Client
	cmd         *exec.Cmd
	log         *syncBuffer
	listChanged counter
}

// startHUP starts the binary with exactly env (nothing inherited), initializes
// a client that counts tools/list_changed notifications, and waits until the
// tools are listed.
func startHUP(t *testing.T, env []string, args ...string) *hupServer {
	t.Helper()
	bin := builtBinary(t)
	s := &hupServer{log: &syncBuffer{}}
	c, err := client.NewStdioMCPClientWithOptions(bin, env, args,
		transport.WithCommandFunc(func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, args...)
			cmd.Env = env
			cmd.Stderr = s.log
			s.cmd = cmd
			return cmd, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	t.Cleanup(func() {
		_ = c.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationToolsListChanged) {
			s.listChanged.add()
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil { // wires the notification handler
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "reload-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v\n%s", err, s.log.String())
	}
	// The first catalog load may notify the session. tools/list waits until
	// the catalogs are loaded, and the server publishes the loaded tools
	// (queueing the notification) before it answers; but on stdio mcp-go
	// writes notifications from a goroutine of their own, so one may still
	// follow this response. Tests count notifications relative to a point
	// after some round trips, not from here.
	s.tools(t)
	s.listChanged.store(0)
	return s
}

func (s *hupServer) tools(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	res, err := s.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func (s *hupServer) call(ctx context.Context, name, args string) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = json.RawMessage(args)
	return s.c.CallTool(ctx, req)
}

// reload sends SIGHUP and waits until the server logged the outcome and,
// when want is given, every want string (a refusal logs one line per
// problem); it returns what the server logged meanwhile, with the quotes of
// log values unescaped.
func (s *hupServer) reload(t *testing.T, want ...string) string {
	t.Helper()
	from := s.log.Len()
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	unquote := func(log string) string { return strings.ReplaceAll(log[from:], `\"`, `"`) }
	done := func(log string) bool {
		out := unquote(log)
		if !strings.Contains(out, "configuration reloaded") && !strings.Contains(out, "reload refused") {
			return false
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	}
	if !s.log.awaitLog(20*time.Second, done) {
		t.Fatalf("no reload outcome logged within 20s (or not all of %q):\n%s", want, unquote(s.log.String()))
	}
	return unquote(s.log.String())
}

func isError(res *mcp.CallToolResult, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case res.IsError:
		var b strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return b.String()
	}
	return ""
}

// TestReloadRotatesSecretUnderLoad rotates the client secret of a serving
// server: calls run continuously from 8 goroutines while Pipedream starts
// accepting secret B and stops accepting A, B is written to the secret file
// and the server gets SIGHUP. No call may fail, and A is never sent again.
//
// Assumption, as Pipedream behaves: revoking a client secret stops new token
// requests with it but does not kill the access tokens already issued, so the
// fake's tokens are not expired during the switch. Afterwards they are, to
// show that the server now gets its tokens with B.
func TestReloadRotatesSecretUnderLoad(t *testing.T) {
	fake, api := rotationFake(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "client_secret")
	writeFile(t, secretFile, rotSecretA+"\n")
	s := startHUP(t, cleanEnv(
		"PIPEDREAM_CLIENT_ID="+rotClientID,
		"PIPEDREAM_CLIENT_SECRET_FILE="+secretFile,
		"PIPEDREAM_PROJECT_ID="+rotProject,
		"PIPEDREAM_PROJECT_ENVIRONMENT=development",
		"PIPEDREAM_BASE_URL="+api,
		"PIPEDREAM_APPS=github",
		"PIPEDREAM_EXTERNAL_USER_ID="+rotUser,
	))
	if got := fake.TokenRequests(rotSecretA); got != 1 {
		t.Errorf("token requests with A at start = %d, want 1", got)
	}

	const workers = 8
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	stop := make(chan struct{})
	var reloaded atomic.Bool
	var ok, okAfter counter
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := reloaded.Load()
				if msg := isError(s.call(ctx, "github_get_repository", `{"repoFullname":"octo/hello"}`)); msg != "" {
					mu.Lock()
					failures = append(failures, msg)
					mu.Unlock()
					continue
				}
				ok.add()
				if after {
					okAfter.add()
				}
			}
		})
	}
	if !ok.atLeast(40, 20*time.Second) {
		t.Fatal("timed out waiting for calls before the rotation")
	}

	fake.AcceptSecret(rotClientID, rotSecretB)
	fake.RevokeSecret(rotClientID, rotSecretA)
	writeFile(t, secretFile, rotSecretB+"\n")
	tokensA := fake.TokenRequests(rotSecretA)
	// Counted from here: the first catalog load's list_changed (written by
	// mcp-go's notification goroutine, not ordered with responses) is long
	// out after 40 calls.
	notified := s.listChanged.load()
	out := s.reload(t)
	if !strings.Contains(out, "configuration reloaded") {
		t.Fatalf("the rotation reload was not applied:\n%s", out)
	}
	reloaded.Store(true)
	if !okAfter.atLeast(40, 20*time.Second) {
		t.Fatal("timed out waiting for calls after the rotation")
	}
	close(stop)
	wg.Wait()

	t.Logf("%d calls succeeded, %d of them after the reload", ok.load(), okAfter.load())
	if len(failures) > 0 {
		t.Errorf("%d of %d calls failed across the rotation; first: %s", len(failures), int(ok.load())+len(failures), failures[0])
	}
	if got := fake.TokenRequests(rotSecretA); got != tokensA {
		t.Errorf("token requests with A grew from %d to %d after the reload", tokensA, got)
	}
	if got := fake.TokenRequests(rotSecretB); got != 1 {
		t.Errorf("token requests with B = %d, want 1 (one new token source, checked and then used)", got)
	}
	if n := s.listChanged.load() - notified; n != 0 {
		t.Errorf("a rotation that changes no tool sent %d list_changed notifications, want 0", n)
	}
	if strings.Contains(s.log.String(), rotSecretA) || strings.Contains(s.log.String(), rotSecretB) {
		t.Error("a client secret appears in the log")
	}

	// The old tokens die: the server must get a new one, with B only.
	fake.ExpireTokens()
	if msg := isError(s.call(ctx, "github_get_repository", `{"repoFullname":"octo/hello"}`)); msg != "" {
		t.Errorf("call after the old tokens expired: %s", msg)
	}
	if got := fake.TokenRequests(rotSecretA); got != tokensA {
		t.Errorf("after the tokens expired, the server asked for a token with A (%d requests, was %d)", got, tokensA)
	}
	if got := fake.TokenRequests(rotSecretB); got != 2 {
		t.Errorf("after the tokens expired, token requests with B = %d, want 2", got)
	}
}

// configEnv is the environment of the config-file tests: credentials from
// variables, connections from the file.
func configEnv(api, secretFile string) []string {
	return cleanEnv(
		"PIPEDREAM_CLIENT_ID="+rotClientID,
		"PIPEDREAM_CLIENT_SECRET_FILE="+secretFile,
		"PIPEDREAM_PROJECT_ID="+rotProject,
		"PIPEDREAM_PROJECT_ENVIRONMENT=development",
		"PIPEDREAM_BASE_URL="+api,
		"PIPEDREAM_EXTERNAL_USER_ID="+rotUser,
		"GITHUB_NAME=gh",
	)
}

func hasToolPrefix(names []string, prefix string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
}

// TestReloadRefusesBadConfiguration: each bad reload is refused with a log
// line naming the problem, and changes nothing: same tools, no notification,
// calls keep working with the old credentials.
func TestReloadRefusesBadConfiguration(t *testing.T) {
	fake, api := rotationFake(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "client_secret")
	configFile := filepath.Join(dir, "pipedream-mcp.yaml")
	good := "connections:\n  - app: github\n    name: ${GITHUB_NAME}\n"
	writeFile(t, secretFile, rotSecretA+"\n")
	writeFile(t, configFile, good)
	s := startHUP(t, configEnv(api, secretFile), "--config", configFile)
	before := s.tools(t)
	if !hasToolPrefix(before, "gh_") {
		t.Fatalf("tools at start: %v", before)
	}

	steps := []struct {
		name   string
		config string // "" keeps the good one
		secret string // "" keeps A
		want   []string
	}{
		{
			name:   "unset variable",
			config: good + "  - app: slack\n    name: ${SLACK_NAME}\n",
			want:   []string{"environment variable SLACK_NAME is not set (used as ${SLACK_NAME})"},
		},
		{
			name:   "invalid YAML",
			config: "connections:\n  - app: github\n    name: [unclosed\n",
			want:   []string{"is not valid YAML"},
		},
		{
			name:   "two problems at once",
			config: good + "  - app: slack\n    environment: staging\n    read_olny: true\n",
			want:   []string{`invalid environment "staging"`, `unknown key "read_olny"`},
		},
		{
			name:   "secret file gone",
			config: good + "  - app: slack\n    client_secret_file: " + filepath.Join(dir, "missing") + "\n",
			want:   []string{"cannot read the secret file", `connection "slack"`},
		},
		{
			name:   "secret Pipedream rejects",
			secret: "secret-wrong-000000",
			want:   []string{`Pipedream rejected the OAuth client "client-rotation" (connections: gh)`},
		},
	}
	for _, st := range steps {
		configText, secret := st.config, st.secret
		if configText == "" {
			configText = good
		}
		if secret == "" {
			secret = rotSecretA
		}
		writeFile(t, configFile, configText)
		writeFile(t, secretFile, secret+"\n")
		notified := s.listChanged.load()
		out := s.reload(t, st.want...)
		if !strings.Contains(out, "reload refused; the previous configuration keeps serving") {
			t.Errorf("%s: not refused:\n%s", st.name, out)
			continue
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the log does not name %q:\n%s", st.name, w, out)
			}
		}
		if got := s.tools(t); !slices.Equal(got, before) {
			t.Errorf("%s: the tools changed: %v", st.name, got)
		}
		// The tools/list round trip above follows any notification the
		// reload sent on this stream.
		if n := s.listChanged.load() - notified; n != 0 {
			t.Errorf("%s: the refused reload sent %d list_changed notifications, want 0", st.name, n)
		}
		if msg := isError(s.call(t.Context(), "gh_get_repository", `{"repoFullname":"octo/hello"}`)); msg != "" {
			t.Errorf("%s: call after the refused reload failed: %s", st.name, msg)
		}
	}
	if got := fake.TokenRequests("secret-wrong-000000"); got != 1 {
		t.Errorf("token requests with the rejected secret = %d, want 1 (the check)", got)
	}

	// A setting only a restart can change is kept and named; the rest applies.
	writeFile(t, configFile, "transport: http\n"+good+"  - app: slack\n")
	writeFile(t, secretFile, rotSecretA+"\n")
	out := s.reload(t)
	if !strings.Contains(out, "configuration reloaded") || !strings.Contains(out, "restart the server to apply it") || !strings.Contains(out, "setting=--transport") {
		t.Errorf("a transport change should be named as needing a restart, and the rest applied:\n%s", out)
	}
	if !hasToolPrefix(s.tools(t), "slack_") {
		t.Error("the connection added next to the transport change was not applied")
	}
}

// TestReloadAddsConnection: a connection added by reload brings its tools with
// exactly one list_changed notification, and so does one removed.
func TestReloadAddsConnection(t *testing.T) {
	fake, api := rotationFake(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "client_secret")
	configFile := filepath.Join(dir, "pipedream-mcp.yaml")
	writeFile(t, secretFile, rotSecretA+"\n")
	writeFile(t, configFile, "connections:\n  - app: github\n")
	s := startHUP(t, configEnv(api, secretFile), "--config", configFile)
	if names := s.tools(t); hasToolPrefix(names, "slack_") || !hasToolPrefix(names, "github_") {
		t.Fatalf("tools at start: %v", names)
	}

	// reloadTo applies config and returns the tools after it and the
	// list_changed notifications it sent. The reload publishes its tools
	// (sending its notifications) before it logs its outcome, which reload
	// waits for: on stdio they go out ahead of the response to the later
	// tools/list, so none is still to come.
	reloadTo := func(config string) (names []string, notes int32) {
		t.Helper()
		before := s.listChanged.load()
		writeFile(t, configFile, config)
		if out := s.reload(t); !strings.Contains(out, "configuration reloaded") {
			t.Fatalf("reload not applied:\n%s", out)
		}
		if !s.listChanged.atLeast(before+1, 20*time.Second) {
			t.Fatal("no tools/list_changed")
		}
		names = s.tools(t)
		return names, s.listChanged.load() - before
	}

	names, n := reloadTo("connections:\n  - app: github\n  - app: slack\n")
	if n != 1 {
		t.Errorf("adding a connection sent %d list_changed notifications, want 1", n)
	}
	if !hasToolPrefix(names, "slack_") || !hasToolPrefix(names, "github_") {
		t.Fatalf("tools after adding slack: %v", names)
	}
	if msg := isError(s.call(t.Context(), "slack_send_message_to_channel", `{"conversation":"C00001000","text":"added by reload"}`)); msg != "" {
		t.Errorf("call of the added connection: %s", msg)
	}
	if got := fake.TokenRequests(rotSecretA); got != 1 {
		t.Errorf("token requests = %d, want 1: the added connection shares the running client", got)
	}

	names, n = reloadTo("connections:\n  - app: slack\n")
	if n != 1 {
		t.Errorf("removing a connection sent %d list_changed notifications, want 1", n)
	}
	if hasToolPrefix(names, "github_") {
		t.Errorf("github tools still listed after removing it: %v", names)
	}
	res, err := s.call(t.Context(), "github_get_repository", `{"repoFullname":"octo/hello"}`)
	if err == nil && !res.IsError {
		t.Error("a removed connection's tool still runs")
	}
}

// startEnv is the environment of the in-process start-up tests: the test
// client of pdtest.New's fake.
func startEnv(api string, extra map[string]string) func(string) string {
	env := serverEnv(api, "github,slack", map[string]string{
		"PIPEDREAM_CLIENT_ID":           pdtest.TestClientID,
		"PIPEDREAM_CLIENT_SECRET":       pdtest.TestClientSecret,
		"PIPEDREAM_PROJECT_ID":          pdtest.TestProjectID,
		"PIPEDREAM_PROJECT_ENVIRONMENT": "development",
		"PIPEDREAM_EXTERNAL_USER_ID":    rotUser,
	})
	maps.Copy(env, extra)
	return getenvOf(env)
}

// TestStartRejectsBadCredentials runs the program against the fake with
// credentials Pipedream refuses: exit status 2, every affected connection and
// the fix named at once, nothing served.
func TestStartRejectsBadCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	twoSets := filepath.Join(dir, "two.yaml")
	writeFile(t, twoSets, `connections:
  - app: github
    name: gh
    client_secret: wrong-secret
  - app: slack
    project_id: proj_elsewhere
  - app: notion
    client_secret: wrong-secret
`)
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		fault *pdtest.Fault
		want  []string
	}{
		{
			name: "wrong secret",
			env:  map[string]string{"PIPEDREAM_CLIENT_SECRET": "wrong-secret"},
			want: []string{`Pipedream rejected the OAuth client "test-client-id" (connections: github, slack)`, "PIPEDREAM_CLIENT_SECRET_FILE"},
		},
		{
			name:  "400 invalid_client",
			fault: &pdtest.Fault{Endpoint: pdtest.EndpointToken, Status: 400, Body: `{"error":"invalid_client","error_description":"bad client"}`},
			want:  []string{`Pipedream rejected the OAuth client "test-client-id" (connections: github, slack)`},
		},
		{
			name: "unknown project",
			env:  map[string]string{"PIPEDREAM_PROJECT_ID": "proj_unknown"},
			want: []string{`project "proj_unknown" was not found for this OAuth client (connections: github, slack): check PIPEDREAM_PROJECT_ID`},
		},
		{
			name: "two credential sets wrong, reported together",
			env:  map[string]string{"PIPEDREAM_APPS": ""},
			args: []string{"--config", twoSets},
			want: []string{
				`Pipedream rejected the OAuth client "test-client-id" (connections: gh, notion)`,
				`project "proj_elsewhere" was not found for this OAuth client (connections: slack)`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := pdtest.New(pdtest.Config{})
			if tc.fault != nil {
				fake.InjectFault(*tc.fault)
			}
			api := httptest.NewServer(fake)
			defer api.Close()
			var stdout, stderr syncBuffer
			err := Run(t.Context(), append([]string{"serve"}, tc.args...), startEnv(api.URL, tc.env), strings.NewReader(""), &stdout, &stderr)
			var msg bytes.Buffer
			if code := ExitCode(err, &msg); code != 2 {
				t.Fatalf("exit status %d, want 2 (err %v)\n%s", code, err, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(msg.String(), w) {
					t.Errorf("the error does not say %q:\n%s", w, msg.String())
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is for protocol frames only, got %q", stdout.String())
			}
			if strings.Contains(msg.String()+stderr.String(), "wrong-secret") {
				t.Error("the secret appears in the output")
			}
			if n := fake.Count(pdtest.EndpointRun); n != 0 {
				t.Errorf("%d actions ran with credentials Pipedream refused", n)
			}
		})
	}
}

// serveInProcess runs serve over stdio in process, with the environment of
// startEnv and extra, against fake served on loopback. stop ends it (its
// input closes) and fails the test if serve failed.
func serveInProcess(t *testing.T, fake *pdtest.Fake, extra map[string]string, args ...string) (logs *syncBuffer, stop func()) {
	t.Helper()
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	in, w := io.Pipe()
	logs = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), append([]string{"serve"}, args...), startEnv(api.URL, extra), in, io.Discard, logs)
	}()
	t.Cleanup(func() { _ = w.Close() })
	return logs, func() {
		t.Helper()
		_ = w.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

// TestStartChecksEachCredentialSetOnce: before serving, each distinct
// credential set gets one token request and one project-scoped read; the
// catalogs then use the same token.
func TestStartChecksEachCredentialSetOnce(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	fake.AcceptSecret("second-client", "second-secret")
	configPath := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, configPath, "connections:\n  - app: github\n  - app: slack\n  - app: notion\n    client_id: second-client\n    client_secret: second-secret\n")
	logs, stop := serveInProcess(t, fake, map[string]string{"PIPEDREAM_APPS": ""}, "--config", configPath)
	awaitLog(t, logs, "three catalogs", func(log string) bool { return strings.Count(log, "catalog loaded") == 3 })
	if a, b := fake.TokenRequests(pdtest.TestClientSecret), fake.TokenRequests("second-secret"); a != 1 || b != 1 {
		t.Errorf("token requests per credential set = %d and %d, want 1 and 1", a, b)
	}
	if n := fake.Count(pdtest.EndpointAccounts); n != 2 {
		t.Errorf("project-scoped reads = %d, want 2 (one per credential set)", n)
	}
	stop()
}

// TestStartWhenAPIFails: a 5xx at start is not a configuration error. The
// server starts, warns, and checks again in the background; the catalogs
// (and so readiness) follow once the API answers.
func TestStartWhenAPIFails(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAll, Status: 503})
	logs, stop := serveInProcess(t, fake, nil)
	awaitLog(t, logs, "the server to start and warn about the unchecked credentials", func(log string) bool {
		return strings.Contains(log, "serving") && strings.Contains(log, "could not check the Pipedream credentials")
	})
	fake.ClearFaults()
	awaitLog(t, logs, "the background check and the catalogs", func(log string) bool {
		return strings.Contains(log, "Pipedream credentials checked") && strings.Count(log, "catalog loaded") == 2
	})
	stop()
}

// TestStartRejectedLater: when the API was down at start and then rejects
// the credentials, the background check says so, with the fix.
func TestStartRejectedLater(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointToken, Status: 502})
	logs, stop := serveInProcess(t, fake, map[string]string{"PIPEDREAM_CLIENT_SECRET": "stale-secret"})
	awaitLog(t, logs, "the server to start without a verdict on the credentials", func(log string) bool {
		return strings.Contains(log, "serving") && strings.Contains(log, "could not check the Pipedream credentials")
	})
	fake.ClearFaults()
	awaitLog(t, logs, "the rejection", func(log string) bool { return strings.Contains(log, "Pipedream rejected the OAuth client") })
	stop()
}

// awaitLog fails the test unless cond holds for the log within 20s.
func awaitLog(t *testing.T, logs *syncBuffer, what string, cond func(log string) bool) {
	t.Helper()
	if !logs.awaitLog(20*time.Second, cond) {
		t.Fatalf("timed out waiting for %s:\n%s", what, logs)
	}
}

// newTestReloader builds, in process, the backend and reloader cmdServe would
// for args, with the catalogs loaded.
func newTestReloader(t *testing.T, getenv func(string) string, args ...string) *reloader {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cf := config.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Resolve(cf, getenv, config.SandboxApps{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := newRuntime(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	if err := rt.checkCredentials(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := rt.set.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return newReloader(args, getenv, rt, cfg)
}

// TestReloadKeepsUnchangedClients: a reload gives changed credential sets a
// new client and keeps the client (token, caches) of the unchanged ones.
func TestReloadKeepsUnchangedClients(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	fake.AcceptSecret("second-client", "second-secret-1")
	fake.AcceptSecret("second-client", "second-secret-2")
	api := httptest.NewServer(fake)
	defer api.Close()
	dir := t.TempDir()
	secondSecret := filepath.Join(dir, "second.secret")
	writeFile(t, secondSecret, "second-secret-1\n")
	configPath := filepath.Join(dir, "c.yaml")
	writeFile(t, configPath, fmt.Sprintf("connections:\n  - app: github\n  - app: slack\n    client_id: second-client\n    client_secret_file: %s\n", secondSecret))
	getenv := startEnv(api.URL, map[string]string{"PIPEDREAM_APPS": ""})
	r := newTestReloader(t, getenv, "--config", configPath)
	clients := func() (first, second any) {
		for creds, cl := range r.clients {
			if creds.ClientID == "second-client" {
				second = cl
			} else {
				first = cl
			}
		}
		return first, second
	}
	first, second := clients()
	catalogReads := fake.Count(pdtest.EndpointActions)

	writeFile(t, secondSecret, "second-secret-2\n")
	if err := r.reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	first2, second2 := clients()
	if len(r.clients) != 2 || first2 != first {
		t.Errorf("the unchanged credential set got a new client (%d clients)", len(r.clients))
	}
	if second2 == second || second2 == nil {
		t.Error("the rotated credential set kept its old client")
	}
	if got := fake.Count(pdtest.EndpointActions) - catalogReads; got != listingsPerApp {
		t.Errorf("catalog reads during the reload = %d, want %d (slack, through its new client)", got, listingsPerApp)
	}
	if a, b1, b2 := fake.TokenRequests(pdtest.TestClientSecret), fake.TokenRequests("second-secret-1"), fake.TokenRequests("second-secret-2"); a != 1 || b1 != 1 || b2 != 1 {
		t.Errorf("token requests: unchanged %d, old %d, new %d; want 1 each", a, b1, b2)
	}

	// Nothing changed: the same clients, no catalog read.
	catalogReads = fake.Count(pdtest.EndpointActions)
	if err := r.reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f3, s3 := clients(); f3 != first2 || s3 != second2 || fake.Count(pdtest.EndpointActions) != catalogReads {
		t.Error("a reload without changes replaced a client or read a catalog")
	}

	// A refused reload keeps everything.
	writeFile(t, configPath, "connections: [")
	err := r.reload(t.Context())
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("invalid YAML: err = %v, want a configuration error", err)
	}
	if f4, s4 := clients(); f4 != first2 || s4 != second2 || !r.rt.set.HasConnection("slack") {
		t.Error("a refused reload changed the clients or connections")
	}
}

func TestKeepRestartSettings(t *testing.T) {
	t.Parallel()
	old := &config.Config{Transport: "http", Addr: "127.0.0.1:8080", Auth: "jwt", JWTSecret: "old-jwt-secret", CallTimeout: time.Minute,
		Connections: []config.Connection{{Name: "github", App: "github"}}}
	cfg := &config.Config{Transport: "stdio", Addr: "127.0.0.1:8080", Auth: "jwt", JWTSecret: "new-jwt-secret", CallTimeout: time.Minute,
		Connections: []config.Connection{{Name: "slack", App: "slack"}}, WorkflowDomain: "example.com"}
	got := keepRestartSettings(old, cfg)
	want := []string{"--transport"}
	if !slices.Equal(got, want) {
		t.Errorf("changed settings = %q, want %q", got, want)
	}
	if cfg.Transport != "http" {
		t.Errorf("restart-only settings not kept: transport %q", cfg.Transport)
	}
	if cfg.JWTSecret != "new-jwt-secret" {
		t.Error("the JWT secret was not applied: SIGHUP reloads every secret file")
	}
	if len(cfg.Connections) != 1 || cfg.Connections[0].Name != "slack" || cfg.WorkflowDomain != "example.com" {
		t.Errorf("reloadable settings not applied: %+v", cfg.Connections)
	}
	if strings.Contains(strings.Join(got, " "), "jwt-secret") {
		t.Error("a secret value is in the names")
	}

	// A webhook secret generated at start is not configured, so a reload that
	// configures none changes nothing; one that configures a secret does.
	gen := &config.Config{Transport: "http"}
	ensureWebhookSecret(gen)
	if got := keepRestartSettings(gen, &config.Config{Transport: "http"}); len(got) != 0 {
		t.Errorf("the generated webhook secret counted as changed: %q", got)
	}
	if got := keepRestartSettings(gen, &config.Config{Transport: "http", WebhookSecret: "configured-secret-123456"}); !slices.Equal(got, []string{"--webhook-secret / PD_MCP_WEBHOOK_SECRET"}) {
		t.Errorf("a configured webhook secret: changed = %q", got)
	}
}

// TestReloadRunsHooks: what the HTTP transport registers (the API keys file)
// reloads with every applied configuration, and not with a refused one.
func TestReloadRunsHooks(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	api := httptest.NewServer(fake)
	defer api.Close()
	configPath := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, configPath, "connections:\n  - app: github\n")
	r := newTestReloader(t, startEnv(api.URL, map[string]string{"PIPEDREAM_APPS": ""}), "--config", configPath)
	var calls atomic.Int32
	r.rt.OnReload("api keys file", func(context.Context, *config.Config) error { calls.Add(1); return errors.New("bad keys file") })
	if err := r.reload(t.Context()); err != nil {
		t.Fatalf("a failing hook must not fail the reload: %v", err)
	}
	writeFile(t, configPath, "connections: [")
	if err := r.reload(t.Context()); err == nil {
		t.Fatal("invalid YAML was accepted")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the hook ran %d times, want 1 (the applied reload only)", n)
	}
}
