package app

// End-to-end test of the per-connection registry: the workspace's private
// actions are served next to the public ones by default (marked in their
// descriptions), and registry: public or private keeps one side.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

const registryConfig = `connections:
  - app: github
    name: gh_all
  - app: github
    name: gh_public
    registry: public
  - app: github
    name: gh_private
    registry: private
`

func TestRegistryPerConnection(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "registry.yaml")
	if err := os.WriteFile(cfg, []byte(registryConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{env: map[string]string{"PIPEDREAM_APPS": ""}, args: []string{"--config", cfg}})
	user := s.newUser("github")
	c := s.dial(t, user, "/mcp", dialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	desc := map[string]string{}
	for _, tl := range list.Tools {
		desc[tl.Name] = tl.Description
	}
	for _, tc := range []struct {
		conn            string
		private, public bool
	}{
		{"gh_all", true, true},
		{"gh_public", false, true},
		{"gh_private", true, false},
	} {
		d, private := desc[tc.conn+"_acme_triage_issue"]
		_, public := desc[tc.conn+"_create_issue"]
		if private != tc.private || public != tc.public {
			t.Errorf("%s: private action served %v, public %v; want %v, %v", tc.conn, private, public, tc.private, tc.public)
		}
		if private && !strings.HasPrefix(d, "[Private action") {
			t.Errorf("%s: the private action's description is not marked: %q", tc.conn, d)
		}
	}
	for name, d := range desc {
		if strings.Contains(d, "[Private action") && !strings.HasSuffix(name, "_acme_triage_issue") {
			t.Errorf("public action %s is marked private", name)
		}
	}
	r := s.call(ctx, c, user, "gh_private_acme_triage_issue", `{"repoFullname":"octo-org/api","issueNumber":1,"priority":"urgent"}`)
	if r.isError || !strings.Contains(r.text, "Triaged issue #1 as urgent") {
		t.Errorf("running the private action: %v", r)
	}
	if slices.Contains(toolNames(t, c), tools.ToolProxyRequest) {
		t.Errorf("%s is listed with no connection's proxy on", tools.ToolProxyRequest)
	}
}
