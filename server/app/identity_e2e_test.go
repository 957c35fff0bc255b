package app

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// TestIdentitySourcesPerTransport: over HTTP and SSE the end user comes from
// the credential alone. For every transport and protocol era, every auth
// mode, and every place a client could name another user (_meta, headers, the
// query string, the arguments), the call runs as the credential's user and
// never as the named one.
func TestIdentitySourcesPerTransport(t *testing.T) {
	t.Parallel()
	type endpoint struct {
		name, transport, path string
		legacy                bool
	}
	endpoints := []endpoint{
		{"streamable-modern", "http", "/mcp", false},
		{"streamable-legacy", "http", "/mcp", true},
		{"streamable-scoped", "http", "/mcp/github", false},
		{"sse", "sse", "/sse", false},
		{"sse-scoped", "sse", "/sse/github", false},
	}
	type source struct {
		name    string
		headers map[string]string
		query   string
		meta    map[string]any
		args    string
	}
	other := pdtest.OtherUser
	sources := []source{
		{name: "credential only"},
		{name: "_meta", meta: map[string]any{tools.MetaUserKey: other}},
		{name: "_meta other spellings", meta: map[string]any{"external_user_id": other, "externalUserId": other, "user": other}},
		{name: "headers", headers: map[string]string{
			"X-Pipedream-External-User-Id": other, "X-External-User-Id": other, "X-User-Id": other,
			"X-Forwarded-User": other, "X-PD-External-User-ID": other,
		}},
		{name: "query", query: "?external_user_id=" + other + "&user=" + other},
		{name: "arguments", args: `{"repoFullname":"acme/widgets","external_user_id":"` + other + `","_meta":{"` + tools.MetaUserKey + `":"` + other + `"}}`},
	}
	for _, auth := range []string{"jwt", "keys"} {
		for _, transportName := range []string{"http", "sse"} {
			t.Run(auth+"/"+transportName, func(t *testing.T) {
				t.Parallel()
				rs := startServer(t, serverOptions{transport: transportName, auth: auth})
				for _, ep := range endpoints {
					if ep.transport != transportName {
						continue
					}
					for _, src := range sources {
						before := runsOf(rs.fake, pdtest.DemoUser)
						c := dial(t, rs.url+ep.path+src.query, rs.credential(t, pdtest.DemoUser), dialOptions{legacy: ep.legacy, headers: src.headers})
						args := src.args
						if args == "" {
							args = getRepo
						}
						req := mcp.CallToolRequest{}
						req.Params.Name = "github_get_repository"
						req.Params.Arguments = json.RawMessage(args)
						if src.meta != nil {
							req.Params.Meta = &mcp.Meta{AdditionalFields: src.meta}
						}
						ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
						res, err := c.CallTool(ctx, req)
						cancel()
						if err != nil {
							t.Fatalf("%s %s: %v", ep.name, src.name, err)
						}
						if n := runsOf(rs.fake, other); n != 0 {
							t.Fatalf("%s %s: %d runs as %s, who never authenticated", ep.name, src.name, n, other)
						}
						if src.args != "" {
							// Unknown arguments may be refused; either way nobody else ran.
							continue
						}
						if res.IsError || runsOf(rs.fake, pdtest.DemoUser) != before+1 {
							t.Errorf("%s %s: want one run as %s, got isError=%v runs %d -> %d", ep.name, src.name,
								pdtest.DemoUser, res.IsError, before, runsOf(rs.fake, pdtest.DemoUser))
						}
					}
				}
			})
		}
	}
}

// TestTrustClientUserRefusedOverHTTP: the flag that lets stdio clients name
// their user is a start-up error on HTTP and SSE, from a flag or the file.
func TestTrustClientUserRefusedOverHTTP(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"http", "sse"} {
		var stderr strings.Builder
		env := map[string]string{"PIPEDREAM_APPS": "slack", "PD_MCP_JWT_SECRET": plantedJWTSecret}
		err := Run(t.Context(), []string{"serve", "--sandbox", "--transport", tr, "--addr", "127.0.0.1:0", "--trust-client-user"},
			func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &stderr)
		code := ExitCode(err, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "--trust-client-user is refused with --transport "+tr) {
			t.Errorf("%s: exit %d, stderr:\n%s", tr, code, stderr.String())
		}
	}
}
