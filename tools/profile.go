package tools

// Schema profiles (DESIGN.md "Tool definitions stay lean"): a session may ask
// for its tools' input schemas in a shape stricter hosts accept. The tools
// are built once, in the portable shape; Filter hands each session copies in
// its profile (cached per snapshot), and the handlers map the arguments a
// model wrote against the reshaped schema back before anything else looks at
// them, so every profile runs exactly the same call.

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

// SessionSchemaProfile is the query parameter that picks a session's schema
// profile over HTTP (/mcp?schema_profile=openai-strict).
const SessionSchemaProfile = "schema_profile"

// CheckSchemaProfile reports whether name is a schema profile, with an error
// that lists the valid ones.
func CheckSchemaProfile(name string) error { return schema.CheckProfile(name) }

type schemaProfileKey struct{}

// WithSchemaProfile returns ctx whose tool lists and calls use profile p
// instead of the server's (one HTTP session's choice).
func WithSchemaProfile(ctx context.Context, p schema.Profile) context.Context {
	return context.WithValue(ctx, schemaProfileKey{}, p)
}

// profileFor is the schema profile in force for ctx: the session's choice,
// else the server's.
func (s *Set) profileFor(ctx context.Context) schema.Profile {
	if p, _ := ctx.Value(schemaProfileKey{}).(schema.Profile); p != "" {
		return p
	}
	return s.opts.SchemaProfile
}

// profileCache holds the reshaped input schemas of one snapshot's tools.
type profileCache struct {
	m sync.Map // profileKey -> profiledSchema
}

type profileKey struct {
	tool    string
	profile schema.Profile
}

type profiledSchema struct {
	src, out json.RawMessage
}

// inProfile returns t with its input schema reshaped for p (t itself for the
// portable profile). A schema that cannot be reshaped (never one this server
// builds) is served as it is, and logged.
func (s *Set) inProfile(snap *snapshot, t mcp.Tool, p schema.Profile) mcp.Tool {
	if p == schema.ProfilePortable || p == "" || t.RawInputSchema == nil {
		return t
	}
	key := profileKey{t.Name, p}
	if c, ok := snap.profiles.m.Load(key); ok {
		if ps := c.(profiledSchema); bytes.Equal(ps.src, t.RawInputSchema) {
			t.RawInputSchema = ps.out
			return t
		}
	}
	out, err := schema.ApplyProfile(t.RawInputSchema, p)
	if err != nil {
		s.log.Warn("input schema served without its schema profile", "tool", t.Name, "profile", p, "err", err)
		return t
	}
	snap.profiles.m.Store(key, profiledSchema{src: t.RawInputSchema, out: out})
	t.RawInputSchema = out
	return t
}

// withArgsBack maps a call's arguments, written against the tool's input
// schema in the caller's profile, back to the arguments of the schema the
// tool was built with (original, or when nil the served tool's own), then
// calls h. A _more_fields that is not a JSON-encoded object is refused here.
func (s *Set) withArgsBack(original json.RawMessage, h mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		p := s.profileFor(ctx)
		if p == schema.ProfilePortable || p == "" {
			return h(ctx, req)
		}
		orig := original
		if orig == nil {
			orig = s.servedSchema(req.Params.Name)
		}
		raw, err := schema.MapArgsBack(p, orig, rawArguments(req))
		if err != nil {
			return helperError(StatusInvalidArgs, err.Error(), "Fix the arguments and retry."), nil
		}
		req.Params.Arguments = raw
		req.Params.RawArguments = raw
		return h(ctx, req)
	}
}

// servedSchema is the input schema of the action or workflow tool name, nil
// when there is none.
func (s *Set) servedSchema(name string) json.RawMessage {
	snap := s.snap.Load()
	if t, ok := snap.byName[name]; ok {
		return t.tool.RawInputSchema
	}
	if w, ok := snap.flowMap[name]; ok {
		return w.tool.RawInputSchema
	}
	return nil
}
