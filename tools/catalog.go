package tools

// This file serves catalog mode (DESIGN.md "Catalog mode"): a few fixed tools
// that search, describe and run every action, instead of one tool per action.
// The run tools call the very handler a direct tool has; only the way an
// action is named differs.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/tools/search"
)

// Names of the tools only catalog mode serves.
const (
	ToolSearchActions = "pipedream_search_actions"
	ToolRunAction     = "pipedream_run_action"
	ToolRunReadAction = "pipedream_run_read_action"
)

// catalogNames are the tools catalog mode adds to the helpers.
var catalogNames = []string{ToolSearchActions, ToolRunAction, ToolRunReadAction}

// Search limits: results per search.
const (
	defaultSearchLimit = 8
	maxSearchLimit     = 25
	// maxResultDescription caps a search result's description, in characters.
	maxResultDescription = 200
)

const (
	searchSchema = `{"type":"object","properties":{` +
		`"query":{"type":"string","description":"What you want to do, in plain words, e.g. \"post a message to a Slack channel\" or \"find a HubSpot contact by email\"."},` +
		`"app":{"type":"string","description":"Optional app slug to search in, e.g. slack."},` +
		`"limit":{"type":"integer","minimum":1,"maximum":25,"description":"How many results, best first (default 8)."}` +
		`},"required":["query"],"additionalProperties":false}`
	runSchema = `{"type":"object","properties":{` +
		`"tool":{"type":"string","description":"The tool name a search result gave, e.g. slack_send_message_to_channel."},` +
		`"arguments":{"type":"object","description":"The tool's arguments, as its input schema (pipedream_describe) gives them.","additionalProperties":true}` +
		`},"required":["tool"],"additionalProperties":false}`
)

// catalogTools are the fixed tools of catalog mode (besides the helpers).
func (s *Set) catalogTools() []mcpserver.ServerTool {
	yes, no := mcp.ToBoolPtr(true), mcp.ToBoolPtr(false)
	mk := func(name, title, desc, schemaJSON string, ann mcp.ToolAnnotation, h mcpserver.ToolHandlerFunc) mcpserver.ServerTool {
		t := mcp.NewToolWithRawSchema(name, desc, json.RawMessage(schemaJSON))
		ann.Title = title
		t.Annotations = ann
		return mcpserver.ServerTool{Tool: t, Handler: s.withArgsBack(json.RawMessage(schemaJSON), h)}
	}
	return []mcpserver.ServerTool{
		mk(ToolSearchActions, "Search actions",
			"Finds the actions that do what you describe, across every app this server reaches. Answers {\"results\": [{\"tool\", \"app\", \"action\", \"title\", \"description\", \"read_only\", \"destructive\", \"connected\"}], \"apps\"}, best first; connected says whether the user has an account for the app. Then call pipedream_describe for a tool's arguments and pipedream_run_action (or pipedream_run_read_action) to run it.",
			searchSchema, mcp.ToolAnnotation{ReadOnlyHint: yes, DestructiveHint: no, IdempotentHint: yes, OpenWorldHint: yes}, s.withCallTimeout(s.handleSearch)),
		mk(ToolRunAction, "Run an action",
			"Runs an action found with pipedream_search_actions, exactly as its own tool would: arguments are validated against its input schema (pipedream_describe), the user's connected account is used, and the result carries status, summary and ret. May change or delete data in the app.",
			runSchema, mcp.ToolAnnotation{ReadOnlyHint: no, DestructiveHint: yes, IdempotentHint: no, OpenWorldHint: yes}, s.runHandler(false)),
		mk(ToolRunReadAction, "Run a read-only action",
			"Runs an action that only reads (read_only in the search results), exactly as pipedream_run_action does; any other action is refused, so this tool never changes data.",
			runSchema, mcp.ToolAnnotation{ReadOnlyHint: yes, DestructiveHint: no, IdempotentHint: yes, OpenWorldHint: yes}, s.runHandler(true)),
	}
}

// isCatalogTool reports whether name is one of the tools only catalog mode serves.
func isCatalogTool(name string) bool {
	for _, n := range catalogNames {
		if n == name {
			return true
		}
	}
	return false
}

// modeFor is the tool mode in force for ctx: the session's choice, else the
// server's; auto resolves to direct or catalog by the number of action tools
// the caller would see.
func (s *Set) modeFor(ctx context.Context, snap *snapshot) string {
	mode, _ := ctx.Value(toolModeKey{}).(string)
	if mode == "" {
		mode = s.opts.ToolMode
	}
	if s.open != nil {
		return ToolModeCatalog // an open catalog has no list of its tools
	}
	if mode != ToolModeAuto {
		return mode
	}
	scope, n := ScopeFrom(ctx), 0
	for _, t := range snap.byName {
		if scope == "" || t.conn.Name == scope {
			n++
		}
	}
	if n <= AutoToolLimit {
		return ToolModeDirect
	}
	return ToolModeCatalog
}

// searchDocs makes the search index's documents of every action tool.
func searchDocs(tools map[string]*actionTool) []search.Doc {
	docs := make([]search.Doc, 0, len(tools))
	for _, t := range tools {
		var labels []string
		for _, a := range t.tr.Args {
			if a.Label != "" {
				labels = append(labels, a.Label)
			}
		}
		docs = append(docs, search.Doc{
			Tool:        t.name,
			App:         t.conn.App,
			AppName:     t.conn.appName(),
			AppAliases:  aliases(t.conn),
			Action:      t.component.Key,
			Name:        t.component.Name,
			Description: t.component.Description,
			PropLabels:  labels,
			ReadOnly:    t.readOnly(),
			Destructive: t.destructive(),
		})
	}
	return docs
}

// aliases are the other names of a connection's app: the connection's own
// name when it differs from the slug.
func aliases(c *connState) []string {
	if c.Name != c.App {
		return []string{strings.ReplaceAll(c.Name, "_", " ")}
	}
	return nil
}

// readOnly reports whether the action is annotated read-only.
func (t *actionTool) readOnly() bool {
	a := t.component.Annotations
	return a != nil && a.ReadOnlyHint != nil && *a.ReadOnlyHint
}

// destructive reports whether the action is annotated destructive.
func (t *actionTool) destructive() bool {
	a := t.component.Annotations
	return a != nil && a.DestructiveHint != nil && *a.DestructiveHint
}

// searchArgs are pipedream_search_actions' arguments.
type searchArgs struct {
	Query string `json:"query"`
	App   string `json:"app"`
	Limit *int   `json:"limit"`
}

// searchResult is one result of pipedream_search_actions.
type searchResult struct {
	Tool        string `json:"tool"`
	App         string `json:"app"`
	Action      string `json:"action"`
	Title       string `json:"title"`
	Description string `json:"description"`
	ReadOnly    bool   `json:"read_only"`
	Destructive bool   `json:"destructive"`
	Connected   bool   `json:"connected"`
}

func (s *Set) handleSearch(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var a searchArgs
	if err := decodeArgs(req, &a); err != nil {
		return helperError(StatusInvalidArgs, err.Error(), "Pass {\"query\": \"what you want to do\"}, optionally with app and limit."), nil
	}
	a.Query = strings.TrimSpace(a.Query)
	if a.Query == "" {
		return helperError(StatusInvalidArgs, "query: empty", "Describe what you want to do in a few words, e.g. \"send a Slack message\"."), nil
	}
	limit := defaultSearchLimit
	if a.Limit != nil {
		if *a.Limit < 1 || *a.Limit > maxSearchLimit {
			return helperError(StatusInvalidArgs, fmt.Sprintf("limit: %d is out of range", *a.Limit), fmt.Sprintf("Pass a limit from 1 to %d, or leave it out for %d.", maxSearchLimit, defaultSearchLimit)), nil
		}
		limit = *a.Limit
	}
	more, res := s.prepareSearch(ctx, a)
	if res != nil {
		return res, nil
	}
	snap := s.snap.Load()
	scope := ScopeFrom(ctx)
	hits := snap.index.Search(search.Query{Text: a.Query, App: a.App, Limit: limit, Filter: func(d *search.Doc) bool {
		t := snap.byName[d.Tool]
		return t != nil && (scope == "" || t.conn.Name == scope)
	}})
	connected := s.connectedApps(ctx, hits)
	out := make([]searchResult, 0, len(hits))
	for _, h := range hits {
		t := snap.byName[h.Doc.Tool]
		out = append(out, searchResult{
			Tool: t.name, App: t.conn.App, Action: t.component.Key, Title: t.component.Name,
			Description: search.CleanDescription(t.component.Description, maxResultDescription),
			ReadOnly:    h.Doc.ReadOnly, Destructive: h.Doc.Destructive, Connected: connected[t.conn.App],
		})
	}
	result := map[string]any{"results": out}
	if more == nil {
		more = []string{}
	}
	result["apps"] = more
	if len(out) == 0 {
		result["next"] = "Nothing matched. Try other words (the verb and the kind of thing, e.g. \"create issue\"), or leave app out."
	}
	return structured(result), nil
}

// prepareSearch checks the app filter and, with an open catalog, loads the
// apps the query names; it returns further matching apps not loaded.
func (s *Set) prepareSearch(ctx context.Context, a searchArgs) ([]string, *mcp.CallToolResult) {
	if s.open != nil {
		return s.open.prepareSearch(ctx, s, a)
	}
	if a.App == "" {
		return nil, nil
	}
	scope := ScopeFrom(ctx)
	var apps []string
	for _, c := range s.conns {
		if scope != "" && c.Name != scope {
			continue
		}
		if c.App == a.App {
			return nil, nil
		}
		apps = append(apps, c.App)
	}
	return nil, helperError(StatusInvalidArgs, fmt.Sprintf("app: %q is not served here (apps: %s)", a.App, strings.Join(apps, ", ")), "Pass one of the apps listed, or leave app out.")
}

// connectedApps reports, per app of the hits, whether the caller has a healthy
// account for it, from one (cached) listing of the caller's accounts per
// credential set: no request per result.
func (s *Set) connectedApps(ctx context.Context, hits []search.Hit) map[string]bool {
	out := map[string]bool{}
	snap := s.snap.Load()
	type whose struct {
		client Connect
		admin  bool
		svc    string
	}
	seen := map[whose]bool{}
	for _, h := range hits {
		t := snap.byName[h.Doc.Tool]
		if t == nil {
			continue
		}
		w := whose{t.conn.Client, t.conn.Admin, t.conn.ServiceUser}
		if seen[w] {
			continue
		}
		seen[w] = true
		maps.Copy(out, s.connectedSlugs(ctx, t.conn.Connection))
	}
	return out
}

// runArgs are the run tools' arguments.
type runArgs struct {
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments"`
}

// runHandler runs an action named by its tool name through the handler its
// direct tool has; readOnly refuses any action not annotated read-only.
func (s *Set) runHandler(readOnly bool) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var a runArgs
		if err := decodeArgs(req, &a); err != nil {
			return helperError(StatusInvalidArgs, err.Error(), "Pass {\"tool\": \"<name from pipedream_search_actions>\", \"arguments\": {...}}."), nil
		}
		args := strings.TrimSpace(string(a.Arguments))
		switch {
		case args == "" || args == "null":
			a.Arguments = json.RawMessage("{}")
		case args[0] != '{':
			return helperError(StatusInvalidArgs, "arguments: not an object", "Pass the tool's arguments as a JSON object keyed by argument name, e.g. {\"text\": \"hi\"}."), nil
		}
		t, res := s.lookupTool(ctx, a.Tool)
		if res != nil {
			return res, nil
		}
		if readOnly && !t.readOnly() {
			return helperError(StatusInvalidArgs, fmt.Sprintf("tool: %s is not a read-only action", t.name), fmt.Sprintf("Run it with %s instead (the user may be asked to approve it).", ToolRunAction)), nil
		}
		inner := req
		inner.Params.Name = t.name
		inner.Params.Arguments = a.Arguments
		inner.Params.RawArguments = a.Arguments
		return s.actionHandler(t)(withCatalogCall(ctx), inner)
	}
}

type catalogCallKey struct{}

// withCatalogCall marks ctx as a call made through pipedream_run_action, so
// results tell the agent to call that tool again rather than the action's own.
func withCatalogCall(ctx context.Context) context.Context {
	return context.WithValue(ctx, catalogCallKey{}, true)
}

// callAgain is how a result tells the agent to retry the tool named name.
func callAgain(ctx context.Context, name string) string {
	if ok, _ := ctx.Value(catalogCallKey{}).(bool); ok {
		return fmt.Sprintf("%s with tool %q", ToolRunAction, name)
	}
	return name
}

// decodeArgs decodes a call's arguments into v, refusing unknown fields.
func decodeArgs(req mcp.CallToolRequest, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(rawArguments(req))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("arguments: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// unknownTool is the error result for a tool name this server does not have
// (or hides from the caller), naming the closest ones it has.
func (s *Set) unknownTool(ctx context.Context, name string) *mcp.CallToolResult {
	snap := s.snap.Load()
	scope := ScopeFrom(ctx)
	near := snap.index.Closest(name, 3, func(d *search.Doc) bool {
		t := snap.byName[d.Tool]
		return t != nil && (scope == "" || t.conn.Name == scope)
	})
	msg := fmt.Sprintf("tool: %q is not an action tool of this server", name)
	// Name only a way to find tools that this caller is served.
	find := "tools/list"
	if s.modeFor(ctx, snap) == ToolModeCatalog {
		find = ToolSearchActions
	}
	next := fmt.Sprintf("Use a tool name from %s (the pipedream_* helpers and workflows have no fields to list or describe).", find)
	if len(near) > 0 {
		msg += " (closest: " + strings.Join(near, ", ") + ")"
		next = fmt.Sprintf("Did you mean %s? Or find the right tool with %s.", strings.Join(near, " or "), find)
	}
	return helperError(StatusInvalidArgs, msg, next)
}
