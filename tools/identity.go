package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

// MetaUserKey is the _meta key an orchestrator that multiplexes users over one
// stdio process may set on tools/call; honoured only on a context marked by
// WithClientNamedUser.
const MetaUserKey = "pipedream.com/external_user_id"

type userKey struct{}
type scopeKey struct{}
type clientNamedUserKey struct{}
type toolModeKey struct{}

// Tool modes: how actions reach the agent (DESIGN.md "Catalog mode").
const (
	// ToolModeDirect serves one tool per action.
	ToolModeDirect = "direct"
	// ToolModeCatalog serves a few fixed tools that search, describe and run
	// every action.
	ToolModeCatalog = "catalog"
	// ToolModeAuto serves direct tools when there are at most AutoToolLimit of
	// them, else catalog mode.
	ToolModeAuto = "auto"
)

// ToolModes are the valid tool modes.
var ToolModes = []string{ToolModeDirect, ToolModeCatalog, ToolModeAuto}

// AutoToolLimit is the most action tools ToolModeAuto serves directly: the
// smallest cap of the major hosts (Cursor's 40).
const AutoToolLimit = 40

// SessionToolMode is the query parameter that picks a session's tool mode
// over HTTP (/mcp?tool_mode=catalog).
const SessionToolMode = "tool_mode"

// CheckToolMode reports whether mode is a tool mode, with an error that
// lists the valid ones.
func CheckToolMode(mode string) error {
	if !slices.Contains(ToolModes, mode) {
		return fmt.Errorf("%q is not a tool mode: use %s", mode, strings.Join(ToolModes, ", "))
	}
	return nil
}

// WithToolMode returns ctx whose calls and tool lists use mode instead of the
// server's (one HTTP session's choice).
func WithToolMode(ctx context.Context, mode string) context.Context {
	return context.WithValue(ctx, toolModeKey{}, mode)
}

// WithUser returns ctx carrying the authenticated end user (external user id).
// Transports put it there: stdio from configuration, HTTP from authentication.
func WithUser(ctx context.Context, externalUserID string) context.Context {
	return context.WithValue(ctx, userKey{}, externalUserID)
}

// UserFrom returns the end user carried by ctx.
func UserFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

// WithClientNamedUser returns ctx on which a call may name its end user in
// _meta[MetaUserKey]. Only the stdio transport started with --trust-client-user
// marks its context so; over HTTP and SSE the user comes from the credential
// alone, and nothing a client sends can change it.
func WithClientNamedUser(ctx context.Context) context.Context {
	return context.WithValue(ctx, clientNamedUserKey{}, true)
}

// clientMayNameUser reports whether ctx was marked by WithClientNamedUser.
func clientMayNameUser(ctx context.Context) bool {
	ok, _ := ctx.Value(clientNamedUserKey{}).(bool)
	return ok
}

// WithScope returns ctx limited to one connection's tools (plus the helpers,
// which then accept only that connection's tools). "" means every connection.
func WithScope(ctx context.Context, connection string) context.Context {
	return context.WithValue(ctx, scopeKey{}, connection)
}

// ScopeFrom returns the connection scope of ctx ("" for all).
func ScopeFrom(ctx context.Context) string {
	s, _ := ctx.Value(scopeKey{}).(string)
	return s
}

// HasConnection reports whether name is a configured connection.
func (s *Set) HasConnection(name string) bool {
	for _, c := range s.conns {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Filter is an mcp-go tool filter: inside a connection scope it keeps that
// connection's tools and the helpers. It applies to tools/list and tools/call,
// so a tool filtered out cannot be called either.
//
// The tool mode in force (the session's or the server's) picks the action
// tools (direct) or the catalog tools (catalog); the helpers and workflows
// serve in both. The schema profile in force reshapes every tool's input
// schema (copies; the tools themselves stay portable).
func (s *Set) Filter(ctx context.Context, list []mcp.Tool) []mcp.Tool {
	scope := ScopeFrom(ctx)
	snap := s.snap.Load()
	catalog := s.modeFor(ctx, snap) == ToolModeCatalog
	profile := s.profileFor(ctx)
	// While every tool so far is kept as it is, the answer is a prefix of
	// list and nothing is copied (mcp-go filters the one tool of every
	// tools/call); list itself is never modified.
	reshape := profile != schema.ProfilePortable && profile != ""
	kept := 0
	var out []mcp.Tool
	keep := func(i int, t mcp.Tool, same bool) {
		if out == nil && same && !reshape && kept == i {
			kept++
			return
		}
		if out == nil {
			out = append(make([]mcp.Tool, 0, len(list)), list[:kept]...)
		}
		out = append(out, s.inProfile(snap, t, profile))
	}
	for i, t := range list {
		if at, ok := snap.byName[t.Name]; ok {
			if !catalog && (scope == "" || at.conn.Name == scope) {
				keep(i, t, true)
			}
			continue
		}
		if _, ok := snap.flowMap[t.Name]; ok {
			if scope == "" {
				keep(i, t, true) // workflows are served on the all-connections endpoint only
			}
			continue
		}
		if isCatalogTool(t.Name) && !catalog {
			continue
		}
		if t.Name == ToolProxyRequest {
			// Listed where a connection in scope has the proxy on, read-only
			// when those all allow only GET.
			if conns := s.proxyConns(scope); len(conns) > 0 {
				keep(i, s.proxyTool(conns).Tool, false)
			}
			continue
		}
		keep(i, t, true) // helpers
	}
	if out == nil {
		return list[:kept:kept]
	}
	return out
}

// endUser decides who a call runs as. Admin connections run as their service
// identity; user connections as the authenticated caller, or (only on a
// context marked by WithClientNamedUser) the user named in the call's _meta.
func (s *Set) endUser(ctx context.Context, admin bool, serviceUser string, meta *mcp.Meta) (string, bool) {
	if admin {
		return serviceUser, serviceUser != ""
	}
	if meta != nil && clientMayNameUser(ctx) {
		if v, ok := meta.AdditionalFields[MetaUserKey].(string); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), true
		}
	}
	u := UserFrom(ctx)
	return u, u != ""
}
