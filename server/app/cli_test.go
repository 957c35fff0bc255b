package app

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// TestFirstHourCLI: the surprises a new user met in the first hour.
func TestFirstHourCLI(t *testing.T) {
	t.Parallel()
	version := runCLI(t, nil, "", "version")
	if version.code != 0 || !strings.HasPrefix(version.stdout, "pipedream-mcp ") {
		t.Fatalf("version: %s", version)
	}
	for _, args := range [][]string{{"--version"}, {"version", "--sandbox"}} {
		if r := runCLI(t, nil, "", args...); r.code != 0 || r.stdout != version.stdout {
			t.Errorf("%q: want the version line, got %s", args, r)
		}
	}

	r := runCLI(t, nil, "", "--help")
	commands, flags := strings.Index(r.stdout, "Commands:"), strings.Index(r.stdout, "-transport")
	if r.code != 0 || r.stderr != "" || commands < 0 || flags < commands {
		t.Errorf("--help: want the commands then the flags on stdout, got %s", r)
	}

	r = runCLI(t, nil, "", "call", "--sandbox", "--json", "github_get_repository", `{"repoFullname":"acme/widgets"}`)
	var res struct {
		IsError           bool           `json:"isError"`
		StructuredContent map[string]any `json:"structuredContent"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.StructuredContent["status"] != "success" {
		t.Errorf("call --json: %v, %s", err, r)
	}

	// Sandbox links that open nothing say so: File Stash links too.
	r = runCLI(t, nil, "", "call", "--sandbox", "--app", pdtest.EdgeApp, "pd_edge_upload_file", `{"file":"/tmp/report.txt"}`)
	if r.code != 0 || !strings.Contains(r.stdout, tools.SandboxFilesNote) || !strings.Contains(r.stdout, "Files (download links") {
		t.Errorf("sandbox File Stash links are not labelled: %s", r)
	}
}

// TestSandboxDefaultSet: with no app named the sandbox serves its realistic
// apps in auto mode (catalog mode over all of them, at most
// tools.AutoToolLimit tools), and the pd_edge fixture only when named.
func TestSandboxDefaultSet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		args       []string
		want, lack []string
	}{
		{"every realistic app: catalog mode", []string{"--sandbox"},
			[]string{tools.ToolSearchActions, tools.ToolRunAction}, []string{"slack_list_channels", "pd_edge_echo"}},
		{"the fixture when named: direct", []string{"--sandbox", "--app", pdtest.EdgeApp},
			[]string{"pd_edge_echo"}, []string{tools.ToolSearchActions}},
		{"one app: direct", []string{"--sandbox", "--app", "slack"},
			[]string{"slack_list_channels"}, []string{tools.ToolSearchActions}},
		{"a mode given wins", []string{"--sandbox", "--tool-mode", "direct"},
			[]string{"slack_list_channels", "github_get_repository"}, []string{tools.ToolSearchActions, "pd_edge_echo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, "", append([]string{"tools", "--json"}, tc.args...)...)
			var list struct{ Tools []struct{ Name string } }
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != 0 {
				t.Fatalf("tools --json: %v, %s", err, r)
			}
			var names []string
			for _, tl := range list.Tools {
				names = append(names, tl.Name)
			}
			if slices.Contains(tc.want, tools.ToolSearchActions) && len(names) > tools.AutoToolLimit {
				t.Errorf("%d tools, over %d", len(names), tools.AutoToolLimit)
			}
			for _, w := range tc.want {
				if !slices.Contains(names, w) {
					t.Errorf("no %s in %q", w, names)
				}
			}
			for _, l := range tc.lack {
				if slices.Contains(names, l) {
					t.Errorf("%s is served: %q", l, names)
				}
			}
		})
	}
}

// TestServeMalformedRedisURL: a malformed --redis-url stops serve before it
// starts, with exit status 2 and a problem naming the setting, never the
// URL's password.
func TestServeMalformedRedisURL(t *testing.T) {
	const password = "PLANTED-redis-pw-9"
	r := runCLI(t, map[string]string{config.EnvRedisURL: "redis://u:" + password + "@cache:6379/x"}, "", "serve", "--sandbox")
	if r.code != 2 || !strings.Contains(r.stderr, "invalid Redis URL (from "+config.EnvRedisURL+")") || strings.Contains(r.stdout+r.stderr, password) {
		t.Errorf("want exit 2 naming %s without the password, got %v", config.EnvRedisURL, r)
	}
}
