package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// The golden files of the commands live in testdata/cmd; `go test -run
// 'Golden' . -update` (or UPDATE_GOLDEN=1) rewrites them.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files")
	}
}

func updatingGolden() bool {
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		return true
	}
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// cliResult is what one run of the program printed and its exit status.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the program in process with only the given environment.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := Run(t.Context(), args, getenv, strings.NewReader(stdin), &out, &errb)
	code := ExitCode(err, &errb)
	return cliResult{out.String(), errb.String(), code}
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

var (
	ctokRE       = regexp.MustCompile(`ctok_[A-Za-z0-9_-]+`)
	executedAtRE = regexp.MustCompile(`"executed_at": "[^"]*"`)
	durationRE   = regexp.MustCompile(`"duration_ms": \d+`)
)

// normalize replaces what changes from run to run: Connect tokens and the
// time and duration of a run.
func normalize(s string) string {
	s = ctokRE.ReplaceAllString(s, "ctok_TOKEN")
	s = executedAtRE.ReplaceAllString(s, `"executed_at": "2025-01-01T00:00:00Z"`)
	return durationRE.ReplaceAllString(s, `"duration_ms": 0`)
}

// golden compares got with testdata/cmd/<name>.golden, or rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cmd", name+".golden")
	got = normalize(got)
	if updatingGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("missing golden %s: run `go test . -run %s -update`", path, t.Name())
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("created %s", path)
		return
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first differing lines of want and got.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 10; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			shown++
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g + "\n")
		}
	}
	return b.String()
}

var sandboxEnv = map[string]string{"NO_COLOR": "1"}

func expectCode(t *testing.T, r cliResult, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit status %d, want %d\n%s", r.code, want, r)
	}
}

func expectContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func TestPeopleCommandsGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"tools_sandbox", []string{"tools", "--sandbox"}, 0},
		{"tools_connection_github", []string{"tools", "--sandbox", "--connection", "github"}, 0},
		{"tools_search_issue", []string{"tools", "--sandbox", "--tool-mode", "direct", "--search", "issue"}, 0},
		{"apps_sandbox", []string{"apps", "--sandbox"}, 0},
		{"apps_actions_google", []string{"apps", "--sandbox", "--actions", "google"}, 0},
		{"apps_no_match", []string{"apps", "--sandbox", "no-such-app-anywhere"}, 0},
		{"accounts_sandbox", []string{"accounts", "--sandbox"}, 0},
		{"accounts_notion", []string{"accounts", "--sandbox", "notion"}, 0},
		{"doctor_sandbox", []string{"doctor", "--sandbox"}, 0},
		{"call_list_channels", []string{"call", "--sandbox", "slack_list_channels"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, sandboxEnv, "", tc.args...)
			expectCode(t, r, tc.code)
			if strings.Contains(r.stdout, "\x1b[") {
				t.Errorf("colour codes in output that is not a terminal:\n%q", r.stdout)
			}
			golden(t, tc.name, r.stdout)
		})
	}
}

func TestHelpOfEveryCommand(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"tools", "call", "apps", "accounts", "doctor"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, "", cmd, "--help")
			expectCode(t, r, 0)
			expectContains(t, cmd+" --help", r.stdout, "Usage: pipedream-mcp "+cmd, "Examples:", "pipedream-mcp "+cmd+" --sandbox", "-sandbox")
			// Only doctor, which checks the server's settings, lists them.
			if shows := strings.Contains(r.stdout, "-transport"); shows != (cmd == "doctor") {
				t.Errorf("%s --help lists the server's flags: %v", cmd, shows)
			}
		})
	}
	r := runCLI(t, nil, "", "help")
	expectCode(t, r, 0)
	for _, cmd := range []string{"tools", "call", "apps", "accounts", "doctor"} {
		if !regexp.MustCompile(`(?m)^  ` + cmd + ` +\S`).MatchString(r.stdout) {
			t.Errorf("help does not list %s:\n%s", cmd, r.stdout)
		}
	}
}

// TestToolsJSONIsToolsList checks that `tools --json` prints what an MCP
// client receives from tools/list: the same tools as mcp-go's own in-process
// client lists (both read through mcp.Tool, since that client re-encodes what
// it reads), and, byte for byte as JSON values, the definitions the server
// sends.
func TestToolsJSONIsToolsList(t *testing.T) {
	t.Parallel()
	for _, conn := range []string{"", "github"} {
		t.Run("connection="+conn, func(t *testing.T) {
			t.Parallel()
			args := []string{"tools", "--sandbox", "--tool-mode", "direct", "--json"}
			if conn != "" {
				args = append(args, "--connection", conn)
			}
			r := runCLI(t, sandboxEnv, "", args...)
			expectCode(t, r, 0)
			var got map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
			}
			if len(got) != 1 || got["tools"] == nil {
				t.Fatalf("want exactly {\"tools\": [...]}, got %d keys", len(got))
			}
			var gotRaw []any
			if err := json.Unmarshal(got["tools"], &gotRaw); err != nil {
				t.Fatal(err)
			}
			var gotTyped []mcp.Tool
			if err := json.Unmarshal(got["tools"], &gotTyped); err != nil {
				t.Fatal(err)
			}

			clientTools, serverTools := listSandboxTools(t, conn)
			if g := generic(t, gotTyped); !reflect.DeepEqual(g, generic(t, clientTools)) {
				t.Errorf("tools --json differs from the in-process client's tools/list: %d tools vs %d\n%s", len(gotTyped), len(clientTools), firstToolDiff(g, generic(t, clientTools)))
			}
			if want := generic(t, serverTools); !reflect.DeepEqual(gotRaw, want) {
				t.Errorf("tools --json differs from the definitions the server sends: %d tools vs %d\n%s", len(gotRaw), len(want), firstToolDiff(gotRaw, want))
			}
			expectContains(t, "stderr", r.stderr, "SANDBOX")
		})
	}
}

// listSandboxTools lists the sandbox's tools with mcp-go's own in-process
// client, and returns them with the server's definitions of the same tools.
func listSandboxTools(t *testing.T, conn string) (client, server []mcp.Tool) {
	t.Helper()
	env := &cmdEnv{ctx: t.Context(), getenv: func(k string) string { return sandboxEnv[k] }, stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cfg, fs, err := parseCommon(env, "test", "", []string{"--sandbox", "--tool-mode", "direct"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSession(env, cfg, fs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	c, err := mcpclient.NewInProcessClient(s.server().MCP())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	if conn != "" {
		ctx = tools.WithScope(ctx, conn)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		t.Fatal(err)
	}
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tools) < 10 {
		t.Fatalf("the client listed only %d tools", len(res.Tools))
	}
	// What the server registered with mcp-go: the tool set's tools, marked
	// for tasks.
	for _, st := range s.server().MCP().ListTools() {
		server = append(server, st.Tool)
	}
	slices.SortFunc(server, func(a, b mcp.Tool) int { return strings.Compare(a.Name, b.Name) })
	return res.Tools, s.rt.set.Filter(ctx, server)
}

// generic is v as JSON decoded into plain Go values.
func generic(t *testing.T, v any) []any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func firstToolDiff(got, want []any) string {
	for i := 0; i < min(len(got), len(want)); i++ {
		if !reflect.DeepEqual(got[i], want[i]) {
			g, _ := json.MarshalIndent(got[i], "", " ")
			w, _ := json.MarshalIndent(want[i], "", " ")
			return "first difference at tool " + strconv.Itoa(i) + ":\ngot:\n" + string(g) + "\nwant:\n" + string(w)
		}
	}
	return ""
}

func TestToolsFilters(t *testing.T) {
	t.Parallel()
	t.Run("search json keeps matches only", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "tools", "--sandbox", "--tool-mode", "direct", "--json", "--search", "ISSUE")
		expectCode(t, r, 0)
		var got struct {
			Tools []struct {
				Name, Description string
				Annotations       struct{ Title string }
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Tools) == 0 {
			t.Fatal("no tool matches \"issue\"")
		}
		for _, tl := range got.Tools {
			if !strings.Contains(strings.ToLower(tl.Name+tl.Description+tl.Annotations.Title), "issue") {
				t.Errorf("%s does not mention issue", tl.Name)
			}
		}
	})
	t.Run("connection shows one connection and the helpers", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "tools", "--sandbox", "--connection", "slack")
		expectCode(t, r, 0)
		expectContains(t, "stdout", r.stdout, "slack_", "pipedream_list_options", "tools/list at /mcp/slack")
		if strings.Contains(r.stdout, "github_") {
			t.Errorf("--connection slack lists github tools:\n%s", r.stdout)
		}
	})
	t.Run("unknown connection is bad usage", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "tools", "--sandbox", "--connection", "nope")
		expectCode(t, r, 2)
		expectContains(t, "stderr", r.stderr, `no connection named "nope"`, "slack")
	})
	t.Run("size and limits", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "tools", "--sandbox", "--tool-mode", "direct")
		expectCode(t, r, 0)
		m := regexp.MustCompile(`Size: ([\d,]+) bytes of tools/list, about ([\d,]+) tokens \(estimated as bytes / 4\)`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no size line:\n%s", r.stdout)
		}
		j := runCLI(t, sandboxEnv, "", "tools", "--sandbox", "--tool-mode", "direct", "--json")
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(j.stdout)); err != nil {
			t.Fatal(err)
		}
		if got := strings.ReplaceAll(m[1], ",", ""); got != strconv.Itoa(compact.Len()) {
			t.Errorf("size %s bytes, but the tools/list answer has %d", got, compact.Len())
		}
		// hubspot has more than 100 actions: more than Cursor takes.
		expectContains(t, "stdout", r.stdout, "WARNING: hubspot exposes", "Cursor", "include: or exclude:")
	})
}

func TestToolsFailsWhenACatalogDoesNotLoad(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointActions, Status: 400, Body: `{"error":"bad request"}`})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	r := runCLI(t, realEnv(srv.URL), "", "tools", "--app", "slack")
	expectCode(t, r, 1)
	expectContains(t, "stdout", r.stdout, "catalog not loaded")
	expectContains(t, "stderr", r.stderr, "some catalogs did not load")
}

// realEnv is a configuration for a fake started with pdtest.New's defaults.
func realEnv(baseURL string) map[string]string {
	return map[string]string{
		"NO_COLOR":                      "1",
		"PIPEDREAM_CLIENT_ID":           pdtest.TestClientID,
		"PIPEDREAM_CLIENT_SECRET":       pdtest.TestClientSecret,
		"PIPEDREAM_PROJECT_ID":          pdtest.TestProjectID,
		"PIPEDREAM_PROJECT_ENVIRONMENT": "development",
		"PIPEDREAM_BASE_URL":            baseURL,
		"PIPEDREAM_EXTERNAL_USER_ID":    "user-1",
	}
}

func TestCall(t *testing.T) {
	t.Parallel()
	argsFile := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(argsFile, []byte(`{"tool": "slack_send_message_to_channel", "prop": "conversation"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		stdout    []string
		stderr    []string
		structure string // a status the structured result must have
	}{
		{name: "success", args: []string{"call", "--sandbox", "slack_list_channels"}, code: 0, structure: "success"},
		{name: "flags after the arguments", args: []string{"call", "slack_list_channels", "{}", "--sandbox"}, code: 0, structure: "success"},
		{name: "arguments from stdin", args: []string{"call", "--sandbox", "pipedream_list_options", "-"}, stdin: `{"tool": "slack_send_message_to_channel", "prop": "conversation"}`, code: 0, stdout: []string{`"options"`}},
		{name: "arguments from a file", args: []string{"call", "--sandbox", "--args-file", argsFile, "pipedream_list_options"}, code: 0, stdout: []string{`"options"`}},
		{name: "no account is an error result", args: []string{"call", "--sandbox", "notion_search", "{}"}, code: 1, stdout: []string{"connect_url", "&app=notion"}, stderr: []string{"error result (status account_required)"}, structure: "account_required"},
		{name: "invalid arguments are an error result", args: []string{"call", "--sandbox", "slack_send_message_to_channel", `{"nope": 1}`}, code: 1, structure: "invalid_arguments"},
		{name: "unknown tool", args: []string{"call", "--sandbox", "slack_send_mesage_to_channel", "{}"}, code: 2, stderr: []string{`no tool named "slack_send_mesage_to_channel"`, "did you mean slack_send_message_to_channel"}},
		{name: "invalid JSON", args: []string{"call", "--sandbox", "slack_list_channels", "{nope"}, code: 2, stderr: []string{"must be one JSON object"}},
		{name: "JSON that is not an object", args: []string{"call", "--sandbox", "slack_list_channels", "[1]"}, code: 2, stderr: []string{"must be one JSON object"}},
		{name: "no tool", args: []string{"call", "--sandbox"}, code: 2, stderr: []string{"call needs a tool name"}},
		{name: "both JSON and file", args: []string{"call", "--sandbox", "--args-file", argsFile, "x", "{}"}, code: 2, stderr: []string{"not both"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, sandboxEnv, tc.stdin, tc.args...)
			expectCode(t, r, tc.code)
			expectContains(t, "stdout", r.stdout, tc.stdout...)
			expectContains(t, "stderr", r.stderr, tc.stderr...)
			if tc.structure != "" {
				// The structured result is the JSON object that ends the output.
				i := strings.LastIndex(r.stdout, "\n{\n")
				if i < 0 {
					t.Fatalf("no structured result in:\n%s", r.stdout)
				}
				var res struct{ Status string }
				if err := json.Unmarshal([]byte(r.stdout[i:]), &res); err != nil {
					t.Fatalf("structured result is not JSON: %v\n%s", err, r.stdout[i:])
				}
				if res.Status != tc.structure {
					t.Errorf("status %q, want %q", res.Status, tc.structure)
				}
				if strings.Index(r.stdout, "\n{\n") == 0 {
					t.Errorf("no text before the structured result:\n%s", r.stdout)
				}
			}
		})
	}
}

// TestCallRunsAsTheConfiguredUser checks that a call runs for
// --external-user-id: other-user has a github account, demo-user's is
// someone else's.
func TestCallRunsAsTheConfiguredUser(t *testing.T) {
	t.Parallel()
	r := runCLI(t, sandboxEnv, "", "call", "--sandbox", "--external-user-id", pdtest.OtherUser, "pipedream_accounts", `{"app": "github"}`)
	expectCode(t, r, 0)
	var out struct {
		Apps []struct {
			Accounts []struct{ ID string }
		}
	}
	i := strings.LastIndex(r.stdout, "\n{\n")
	if i < 0 {
		t.Fatalf("no structured result:\n%s", r.stdout)
	}
	if err := json.Unmarshal([]byte(r.stdout[i:]), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Apps) != 1 || len(out.Apps[0].Accounts) != 1 {
		t.Fatalf("want other-user's one github account, got %+v", out)
	}
	demo := runCLI(t, sandboxEnv, "", "call", "--sandbox", "pipedream_accounts", `{"app": "github"}`)
	if strings.Contains(demo.stdout, out.Apps[0].Accounts[0].ID) {
		t.Errorf("demo-user sees other-user's account %s", out.Apps[0].Accounts[0].ID)
	}
}

func TestCallNeedsAnEndUser(t *testing.T) {
	t.Parallel()
	fake := pdtest.New(pdtest.Config{})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	env := realEnv(srv.URL)
	delete(env, "PIPEDREAM_EXTERNAL_USER_ID")
	// With an HTTP transport the configuration needs no end user; call does.
	r := runCLI(t, env, "", "call", "--transport", "http", "--auth", "jwt", "--jwks-url", "https://issuer.example/jwks.json", "--app", "slack", "slack_list_channels")
	expectCode(t, r, 2)
	expectContains(t, "stderr", r.stderr, "slack_list_channels runs as the end user, and none is set", "--external-user-id")
	if n := len(fake.Runs()); n != 0 {
		t.Errorf("%d actions ran", n)
	}
}

func TestApps(t *testing.T) {
	t.Parallel()
	t.Run("query filters", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "apps", "--sandbox", "git")
		expectCode(t, r, 0)
		expectContains(t, "stdout", r.stdout, "github", "GitHub", "oauth", `matching "git"`)
		if strings.Contains(r.stdout, "slack") {
			t.Errorf("slack matches \"git\":\n%s", r.stdout)
		}
	})
	t.Run("limit", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "apps", "--sandbox", "--limit", "2")
		expectCode(t, r, 0)
		expectContains(t, "stdout", r.stdout, "Showing 2 of")
	})
	t.Run("bad limit", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "apps", "--sandbox", "--limit", "0")
		expectCode(t, r, 2)
	})
	t.Run("needs credentials but no app", func(t *testing.T) {
		t.Parallel()
		fake := pdtest.New(pdtest.Config{})
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		r := runCLI(t, realEnv(srv.URL), "", "apps", "--actions", "slack")
		expectCode(t, r, 0)
		expectContains(t, "stdout", r.stdout, "slack", "ACTIONS")
		if strings.Contains(r.stdout, "SANDBOX") {
			t.Errorf("a real configuration is labelled sandbox:\n%s", r.stdout)
		}
	})
	t.Run("missing credentials are a configuration error", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, map[string]string{}, "", "apps", "slack")
		expectCode(t, r, 2)
		expectContains(t, "stderr", r.stderr, "PIPEDREAM_CLIENT_ID")
	})
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	t.Run("every app, a Connect Link for each user connection", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "accounts", "--sandbox")
		expectCode(t, r, 0)
		// demo-user has two slack accounts: the newer is used by default.
		expectContains(t, "stdout", r.stdout, "slack: 2 accounts", "(used by default)", "&app=slack", "&app=notion", "notion: no accounts")
	})
	t.Run("unknown app is bad usage", func(t *testing.T) {
		t.Parallel()
		r := runCLI(t, sandboxEnv, "", "accounts", "--sandbox", "nope")
		expectCode(t, r, 2)
	})
	t.Run("admin connection gives no link", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cfgFile := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(cfgFile, []byte("sandbox: true\nconnections:\n  - app: hubspot\n    oauth: admin\n    external_user_id: "+pdtest.ServiceUser+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, sandboxEnv, "", "accounts", "--config", cfgFile)
		expectCode(t, r, 0)
		expectContains(t, "stdout", r.stdout, "service identity", "An administrator connects")
		if strings.Contains(r.stdout, "ctok_") {
			t.Errorf("an admin connection printed a Connect Link:\n%s", r.stdout)
		}
	})
	t.Run("none is still exit 0", func(t *testing.T) {
		t.Parallel()
		fake := pdtest.New(pdtest.Config{})
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		r := runCLI(t, realEnv(srv.URL), "", "accounts", "--app", "github")
		expectCode(t, r, 0)
		expectContains(t, "stdout", r.stdout, `github: no accounts of end user "user-1"`, "&app=github")
		if n := len(fake.ConnectTokens()); n != 1 {
			t.Errorf("%d Connect tokens created, want 1", n)
		} else if u := fake.ConnectTokens()[0].ExternalUserID; u != "user-1" {
			t.Errorf("Connect token made for %q, want user-1", u)
		}
	})
}

// TestDoctorFaults runs doctor against a fake with one class of fault each.
func TestDoctorFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		setup  func(f *pdtest.Fake, env map[string]string) []string // returns the extra args
		code   int
		stdout []string
	}{
		{
			name: "healthy",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				f.AddAccount(pdtest.Account{ExternalUserID: "user-1", App: "slack", Healthy: true, Name: "Acme"})
				return []string{"--app", "slack"}
			},
			code:   0,
			stdout: []string{"OK   credentials:", "OK   project and environment:", "OK   app slack:", "OK   catalog slack:", "OK   accounts slack:", "Every check passed."},
		},
		{
			name: "bad secret",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				env["PIPEDREAM_CLIENT_SECRET"] = "not-the-secret"
				return []string{"--app", "slack"}
			},
			code:   1,
			stdout: []string{"FAIL credentials:", "cause: wrong client ID or secret", "fix:   set PIPEDREAM_CLIENT_ID and PIPEDREAM_CLIENT_SECRET", "SKIP app slack", "1 check failed"},
		},
		{
			name: "revoked secret",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				f.RevokeSecret(pdtest.TestClientID, pdtest.TestClientSecret)
				return []string{"--app", "slack"}
			},
			code:   1,
			stdout: []string{"FAIL credentials:", "wrong client ID or secret"},
		},
		{
			name: "bad project",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				env["PIPEDREAM_PROJECT_ID"] = "proj_someoneelse"
				return []string{"--app", "slack"}
			},
			code:   1,
			stdout: []string{"OK   credentials:", "FAIL project and environment:", "cause: wrong project ID", "PIPEDREAM_PROJECT_ID"},
		},
		{
			name: "bad environment",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				env["PIPEDREAM_PROJECT_ENVIRONMENT"] = "production"
				f.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAccounts, Status: 400, Body: `{"error":"environment production is not enabled for this project"}`})
				return []string{"--app", "slack"}
			},
			code:   1,
			stdout: []string{"FAIL project and environment:", `cause: wrong environment: Pipedream refused environment "production"`, "PIPEDREAM_PROJECT_ENVIRONMENT"},
		},
		{
			name: "unknown app",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				f.AddAccount(pdtest.Account{ExternalUserID: "user-1", App: "slack", Healthy: true})
				return []string{"--app", "slack,no_such_app"}
			},
			code:   1,
			stdout: []string{"OK   app slack:", "FAIL app no_such_app:", "cause: unknown app slug", "pipedream-mcp apps no such app"},
		},
		{
			name: "upstream down",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				f.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAll, Status: 503})
				return []string{"--app", "slack"}
			},
			code:   1,
			stdout: []string{"FAIL credentials:", "unreachable or failing", "status.pipedream.com"},
		},
		{
			name: "no accounts is a warning",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				return []string{"--app", "github"}
			},
			code:   0,
			stdout: []string{"WARN accounts github:", "account_required", "pipedream-mcp accounts github", "at most 10 external users", "No check failed; 1 warning."},
		},
		{
			name: "invalid configuration",
			setup: func(f *pdtest.Fake, env map[string]string) []string {
				delete(env, "PIPEDREAM_CLIENT_ID")
				return []string{"--app", "slack"}
			},
			code:   2,
			stdout: []string{"FAIL configuration:", "PIPEDREAM_CLIENT_ID"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := pdtest.New(pdtest.Config{})
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			env := realEnv(srv.URL)
			args := append([]string{"doctor"}, tc.setup(fake, env)...)
			start := time.Now()
			r := runCLI(t, env, "", args...)
			t.Logf("doctor %s:\n%s", strings.Join(args[1:], " "), r.stdout)
			expectCode(t, r, tc.code)
			expectContains(t, "stdout", r.stdout, tc.stdout...)
			if strings.Contains(r.stdout+r.stderr, pdtest.TestClientSecret) {
				t.Errorf("the client secret appears in the output")
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("doctor took %s", d)
			}
		})
	}
}

func TestDoctorHTTPAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(keys, []byte("plain-key-1: alice\nsha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae: bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, sandboxEnv, "", "doctor", "--sandbox", "--app", "slack", "--transport", "http", "--auth", "keys", "--api-keys-file", keys)
	expectCode(t, r, 0)
	expectContains(t, "stdout", r.stdout, "OK   http auth: keys: 2 keys for 2 users", "WARN http auth: 1 key is stored in clear", "WARN webhooks: no --public-url")
}

func TestSplitArgs(t *testing.T) {
	t.Parallel()
	extra := func(fs *flag.FlagSet) { fs.String("args-file", "", "") }
	cases := []struct {
		in         []string
		flags, pos []string
	}{
		{[]string{"tool", "{}", "--sandbox"}, []string{"--sandbox"}, []string{"tool", "{}"}},
		{[]string{"--app", "slack", "tool"}, []string{"--app", "slack"}, []string{"tool"}},
		{[]string{"--app=slack", "tool", "-"}, []string{"--app=slack"}, []string{"tool", "-"}},
		{[]string{"tool", "--args-file", "f.json", "--sandbox"}, []string{"--args-file", "f.json", "--sandbox"}, []string{"tool"}},
		{[]string{"--sandbox", "--", "--not-a-flag"}, []string{"--sandbox"}, []string{"--not-a-flag"}},
		{[]string{"--unknown", "x"}, []string{"--unknown"}, []string{"x"}},
	}
	for _, tc := range cases {
		flags, pos := splitArgs(tc.in, extra)
		if !reflect.DeepEqual(flags, tc.flags) || !reflect.DeepEqual(pos, tc.pos) {
			t.Errorf("splitArgs(%q) = %q, %q; want %q, %q", tc.in, flags, pos, tc.flags, tc.pos)
		}
	}
}

// TestProgress runs the spinner on the fake clock of a synctest bubble: its
// delay and ticks pass exactly as the test sleeps.
func TestProgress(t *testing.T) {
	t.Parallel()
	t.Run("shown after the delay and erased", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			buf := &syncBuffer{}
			stop := startProgress(buf, true, 10*time.Millisecond, "Loading the catalogs")
			time.Sleep(9 * time.Millisecond)
			synctest.Wait()
			if buf.Len() != 0 {
				t.Errorf("printed %q before the delay", buf.String())
			}
			time.Sleep(141 * time.Millisecond) // 150ms in all: shown at 10ms, ticked at 110ms
			stop()
			out := buf.String()
			expectContains(t, "progress", out, "Loading the catalogs", "\r\x1b[K")
			if !strings.HasSuffix(out, "\r\x1b[K") {
				t.Errorf("the line is not erased at the end: %q", out)
			}
			if n := strings.Count(out, "Loading the catalogs"); n != 2 {
				t.Errorf("the line was drawn %d times in 150ms, want 2 (at 10ms and 110ms): %q", n, out)
			}
		})
	})
	t.Run("nothing for a fast load", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			buf := &syncBuffer{}
			stop := startProgress(buf, true, time.Hour, "Loading")
			time.Sleep(time.Hour - time.Millisecond)
			stop()
			if buf.Len() != 0 {
				t.Errorf("printed %q", buf.String())
			}
		})
	})
	t.Run("nothing when not a terminal", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			buf := &syncBuffer{}
			stop := startProgress(buf, false, 0, "Loading")
			time.Sleep(time.Second)
			stop()
			if buf.Len() != 0 {
				t.Errorf("printed %q", buf.String())
			}
		})
	})
}

func TestStyle(t *testing.T) {
	t.Parallel()
	if got := (style{color: true}).red("FAIL"); got != "\x1b[31mFAIL\x1b[0m" {
		t.Errorf("colour on: %q", got)
	}
	if got := (style{}).red("FAIL"); got != "FAIL" {
		t.Errorf("colour off: %q", got)
	}
	// A buffer is not a terminal: no colour even without NO_COLOR.
	if newStyle(&bytes.Buffer{}, func(string) string { return "" }).color {
		t.Error("colour for a buffer")
	}
}

func TestSimilarNames(t *testing.T) {
	t.Parallel()
	names := []string{"slack_send_message_to_channel", "slack_list_channels", "github_create_issue"}
	got := similarNames("slack_send_mesage_to_channel", names, 3)
	if len(got) == 0 || got[0] != "slack_send_message_to_channel" {
		t.Errorf("similarNames = %q", got)
	}
	if got := similarNames("zzz", names, 3); len(got) != 0 {
		t.Errorf("similarNames(zzz) = %q", got)
	}
}

func TestUnescapeHTML(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`{"u":"a?b=1\u0026c=2","t":"\u003cb\u003e"}`: `{"u":"a?b=1&c=2","t":"<b>"}`,
		`{"lit":"\\u0026"}`:                          `{"lit":"\\u0026"}`,
		`{"q":"say \"\u0026\""}`:                     `{"q":"say \"&\""}`,
		`{"e":"\u00e9"}`:                             `{"e":"\u00e9"}`,
	}
	for in, want := range cases {
		got := string(unescapeHTML([]byte(in)))
		if got != want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", in, got, want)
		}
		var a, b any
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(got), &b); err != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("unescapeHTML(%s) changed the value: %v", in, err)
		}
	}
}
