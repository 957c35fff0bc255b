package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

// Names of the server-wide helper tools.
const (
	ToolListOptions = "pipedream_list_options"
	ToolDescribe    = "pipedream_describe"
	ToolAccounts    = "pipedream_accounts"
)

var helperNames = []string{ToolListOptions, ToolDescribe, ToolAccounts, ToolProxyRequest}

// IsHelper reports whether name is one of the server-wide tools (the helpers
// and catalog mode's tools), which no workflow or action may be named.
func IsHelper(name string) bool {
	return slices.Contains(helperNames, name) || slices.Contains(catalogNames, name)
}

// Helper input schemas, in the portable profile (a session's schema profile
// reshapes them in Filter, as it does every tool's).
const (
	listOptionsSchema = `{"type":"object","properties":{` +
		`"tool":{"type":"string","description":"Name of the tool whose field needs a value, e.g. slack_send_message_to_channel."},` +
		`"prop":{"type":"string","description":"The field (argument name) to list valid values for."},` +
		`"configured_props":{"type":"object","description":"Values already chosen for the tool's other fields, keyed by argument name. Fields often depend on earlier ones (a sheet on a drive, labels on a repository).","additionalProperties":true},` +
		`"query":{"type":"string","description":"Optional search text, for fields that support searching."},` +
		`"page_token":{"type":"string","description":"next_page_token from a previous answer, to get the next page."},` +
		`"_account_id":{"type":"string","description":"The _account_id the tool will run with, if any."},` +
		`"_dynamic_props_id":{"type":"string","description":"dyp_... from pipedream_describe, for fields that appeared after a reload."}` +
		`},"required":["tool","prop"],"additionalProperties":false}`
	describeSchema = `{"type":"object","properties":{` +
		`"tool":{"type":"string","description":"Name of the tool to describe."},` +
		`"configured_props":{"type":"object","description":"Values chosen so far, keyed by argument name; the answer lists the fields these values reveal.","additionalProperties":true},` +
		`"_account_id":{"type":"string","description":"The _account_id the tool will run with, if any."},` +
		`"_dynamic_props_id":{"type":"string","description":"dyp_... from a previous pipedream_describe answer."}` +
		`},"required":["tool"],"additionalProperties":false}`
	accountsSchema = `{"type":"object","properties":{` +
		`"app":{"type":"string","description":"App slug (e.g. slack). Default: every app this server serves."}` +
		`},"additionalProperties":false}`
)

func (s *Set) helperTools() []mcpserver.ServerTool {
	ro := mcp.ToBoolPtr(true)
	no := mcp.ToBoolPtr(false)
	mk := func(name, title, desc, schemaJSON string, h mcpserver.ToolHandlerFunc) mcpserver.ServerTool {
		t := mcp.NewToolWithRawSchema(name, desc, json.RawMessage(schemaJSON))
		t.Annotations = mcp.ToolAnnotation{Title: title, ReadOnlyHint: ro, DestructiveHint: no, IdempotentHint: ro, OpenWorldHint: ro}
		return mcpserver.ServerTool{Tool: t, Handler: s.withCallTimeout(s.withArgsBack(json.RawMessage(schemaJSON), h))}
	}
	helpers := []mcpserver.ServerTool{
		mk(ToolListOptions, "List valid values for a field",
			"Lists the valid values of a tool field whose values come from the connected app (channels, repositories, spreadsheets, ...). Answers {\"options\": [{\"label\", \"value\"}], \"next_page_token\"}; pass the value (not the label) to the tool. Pass next_page_token back to get more; it is absent when there is nothing more. A value you already know (an ID) may be given to the tool without listing.",
			listOptionsSchema, s.handleListOptions),
		mk(ToolDescribe, "Describe a tool's current fields",
			"Returns the full input schema of a tool whose fields depend on other fields (for example the columns of a chosen spreadsheet), given the values chosen so far. Answers {\"tool\", \"input_schema\", \"dynamic_props_id\"}; pass dynamic_props_id back to the tool as _dynamic_props_id along with the revealed fields.",
			describeSchema, s.handleDescribe),
		mk(ToolAccounts, "List connected accounts",
			"Lists the caller's connected accounts per app (id, name, healthy, created_at) and a connect_url to connect another account. Use an id as _account_id to choose among several accounts.",
			accountsSchema, s.handleAccounts),
	}
	if conns := s.proxyConns(""); len(conns) > 0 {
		helpers = append(helpers, s.proxyTool(conns))
	}
	return helpers
}

// withCallTimeout bounds a helper call by the call timeout, as action calls are.
func (s *Set) withCallTimeout(h mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, cancel := context.WithTimeout(ctx, s.callTimeout(ctx))
		defer cancel()
		return h(ctx, req)
	}
}

// helperError is an error result for a helper tool.
func helperError(status, msg, next string) *mcp.CallToolResult {
	r := Result{Status: status, Errors: []string{msg}, Next: next}
	return toolResult(r, 1<<20)
}

// lookupTool finds an action tool by name, honouring the connection scope.
func (s *Set) lookupTool(ctx context.Context, name string) (*actionTool, *mcp.CallToolResult) {
	t, ok := s.snap.Load().byName[name]
	if !ok && s.open != nil {
		// A tool of an app the open catalog has not loaded yet.
		if app := s.open.openAppOf(ctx, name); app != "" && s.ensureApp(ctx, app) == nil {
			t, ok = s.snap.Load().byName[name]
		}
	}
	if !ok || (ScopeFrom(ctx) != "" && t.conn.Name != ScopeFrom(ctx)) {
		return nil, s.unknownTool(ctx, name)
	}
	noteTool(ctx, t) // for the call's audit line (observe.go)
	return t, nil
}

type helperArgs struct {
	Tool            string          `json:"tool"`
	Prop            string          `json:"prop"`
	ConfiguredProps json.RawMessage `json:"configured_props"`
	Query           string          `json:"query"`
	PageToken       string          `json:"page_token"`
	AccountID       string          `json:"_account_id"`
	DynamicPropsID  string          `json:"_dynamic_props_id"`
	App             string          `json:"app"`
}

func parseHelperArgs(req mcp.CallToolRequest, required ...string) (helperArgs, *mcp.CallToolResult) {
	var a helperArgs
	if err := json.Unmarshal(rawArguments(req), &a); err != nil {
		return a, helperError(StatusInvalidArgs, "arguments must be a JSON object with string fields: "+err.Error(), "Fix the arguments and retry.")
	}
	for _, f := range required {
		if (f == "tool" && a.Tool == "") || (f == "prop" && a.Prop == "") {
			return a, helperError(StatusInvalidArgs, f+": required field is missing", "Fix the arguments and retry.")
		}
	}
	return a, nil
}

// preparedCall is a helper call resolved to a tool, user, account and props.
type preparedCall struct {
	t          *actionTool
	user       string
	account    *pdclient.Account
	configured map[string]any // without the app props
	appValues  map[string]any // the app props
	args       schema.Args
}

// prepare resolves what list_options and describe share with calls: the tool,
// the user, the account (exactly as calls do), and the configured props.
func (s *Set) prepare(ctx context.Context, req mcp.CallToolRequest, a helperArgs) (*preparedCall, *mcp.CallToolResult) {
	t, res := s.lookupTool(ctx, a.Tool)
	if res != nil {
		return nil, res
	}
	user, ok := s.endUser(ctx, t.conn.Admin, t.conn.ServiceUser, req.Params.Meta)
	if !ok {
		return nil, helperError(StatusError, "no end user for this session", "Ask the operator to configure the end user.")
	}
	base := Result{Action: t.component.Key, Version: t.component.Version, App: t.conn.App}
	acct, appValues, r := s.accounts(ctx, t, user, a.AccountID, base)
	if r != nil {
		return nil, toolResult(*r, s.opts.ResultLimit)
	}
	values := map[string]any{}
	if len(a.ConfiguredProps) > 0 && string(a.ConfiguredProps) != "null" {
		if err := json.Unmarshal(a.ConfiguredProps, &values); err != nil {
			return nil, helperError(StatusInvalidArgs, "configured_props: must be an object keyed by argument name", "Fix configured_props and retry.")
		}
	}
	args := schema.Args{Values: values}
	configured := t.tr.ConfiguredProps(args)
	return &preparedCall{t: t, user: user, account: acct, configured: configured, appValues: appValues, args: args}, nil
}

// optionsPage is the decoded page_token: the page number and the previous
// context, since some components page by one and some by the other, and the
// first value of the previous page to notice a component that ignores both.
type optionsPage struct {
	Page    int             `json:"p"`
	Context json.RawMessage `json:"c,omitempty"`
	First   string          `json:"f,omitempty"`
	Origin  string          `json:"o,omitempty"` // first value of the first page
}

func isNullJSON(b json.RawMessage) bool {
	t := strings.TrimSpace(string(b))
	return t == "" || t == "null" || t == "{}"
}

func encodePageToken(p optionsPage) string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok string) (optionsPage, error) {
	var p optionsPage
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	return p, err
}

type optionOut struct {
	Label string          `json:"label"`
	Value json.RawMessage `json:"value"`
}

func (s *Set) handleListOptions(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a, res := parseHelperArgs(req, "tool", "prop")
	if res != nil {
		return res, nil
	}
	t, res := s.lookupTool(ctx, a.Tool)
	if res != nil {
		return res, nil
	}
	arg, res := optionsArg(t, a)
	if res != nil {
		return res, nil
	}
	page := optionsPage{}
	if a.PageToken != "" {
		p, err := decodePageToken(a.PageToken)
		if err != nil {
			return helperError(StatusInvalidArgs, "page_token: not a token this server issued", "Pass next_page_token exactly as returned, or leave it out for the first page."), nil
		}
		page = p
	}
	pc, res := s.prepare(ctx, req, a)
	if res != nil {
		return res, nil
	}
	configured := maps.Clone(pc.configured)
	maps.Copy(configured, pc.appValues)
	creq := pdclient.ConfigurePropRequest{
		ID: t.component.Key, ExternalUserID: pc.user, PropName: arg.Prop, Version: t.component.Version,
		ConfiguredProps: configured, DynamicPropsID: a.DynamicPropsID, Page: page.Page, PrevContext: page.Context,
	}
	if arg.UseQuery {
		creq.Query = a.Query
	}
	resp, err := t.conn.Client.ConfigureProp(ctx, creq)
	if err != nil {
		return toolResult(s.optionsFailure(ctx, pc, arg, a.DynamicPropsID, err), s.opts.ResultLimit), nil
	}
	return structured(optionsResult(resp, page, arg.UseQuery, a.Query)), nil
}

// optionsFailure maps a failed listing of arg's values to a result. Nothing
// ran: a refused dynamic props id and a field that must be set first are
// the caller's to fix (invalid_arguments, naming the step); any other error
// the component reported says so without claiming an action ran.
func (s *Set) optionsFailure(ctx context.Context, pc *preparedCall, arg schema.Arg, dynamicID string, err error) Result {
	t := pc.t
	base := Result{Action: t.component.Key, Version: t.component.Version, App: t.conn.App, AccountID: pc.account.ID}
	if staleDynamicProps(err, dynamicID) {
		return dynamicPropsRefused(base, dynamicID, fmt.Sprintf("%s, or leave %s out to list the values of the tool's own fields.", describeAgain(t), schema.ArgDynamicPropsID))
	}
	r := s.failure(ctx, base, err, false)
	var ce *pdclient.ComponentError
	if !errors.As(err, &ce) {
		return r
	}
	if parent, ok := missingParent(t, arg, pc.args.Values, ce.Messages); ok {
		r.Status = StatusInvalidArgs
		r.Head = ""
		r.Next = fmt.Sprintf("Set %s first: pass it in configured_props (e.g. {%q: <value>}), then call %s again for %s.", parent.Name, parent.Name, ToolListOptions, arg.Name)
		if parent.RemoteOptions {
			r.Next += fmt.Sprintf(" Its values: call %s (tool=%q, prop=%q).", ToolListOptions, t.name, parent.Name)
		}
		return r
	}
	r.Head = fmt.Sprintf("Listing the values of %s failed; nothing was run:", arg.Name)
	r.Next = "Nothing was run. Fields this one depends on may be missing from configured_props"
	if unset := unsetEarlierFields(t, arg, pc.args.Values); len(unset) > 0 {
		r.Next += " (not set yet: " + strings.Join(unset, ", ") + ")"
	}
	r.Next += "; set them and retry, or check the account's permissions."
	return r
}

// quotedName matches a name quoted in an error message: "x", 'x' or `x`.
var quotedName = regexp.MustCompile("[\"'`]([A-Za-z_$][A-Za-z0-9_$.\\-]*)[\"'`]")

// missingParent finds the field an options error asks to set first: another
// field of the tool, quoted in the message (as in `"repoFullname" must be
// configured before ...` or `Cannot read properties of undefined (reading
// 'baseId')`), that configured_props does not set.
func missingParent(t *actionTool, arg schema.Arg, given map[string]any, msgs []string) (schema.Arg, bool) {
	for _, m := range msgs {
		for _, sub := range quotedName.FindAllStringSubmatch(m, -1) {
			p, ok := t.tr.Arg(sub[1])
			if !ok {
				p, ok = t.tr.ArgForProp(sub[1])
			}
			if ok && p.Name != arg.Name && !isSet(given[p.Name]) {
				return p, true
			}
		}
	}
	return schema.Arg{}, false
}

// unsetEarlierFields names the fields before arg that configured_props leaves
// unset and that other fields typically depend on (required, remote options or
// reloading ones): the likely parents of arg, at most three.
func unsetEarlierFields(t *actionTool, arg schema.Arg, given map[string]any) []string {
	var out []string
	for _, a := range t.tr.Args {
		if a.Name == arg.Name || len(out) == 3 {
			break
		}
		if (a.Required || a.RemoteOptions || a.ReloadProps) && !isSet(given[a.Name]) {
			out = append(out, a.Name)
		}
	}
	return out
}

func isSet(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	}
	return true
}

// optionsArg finds the field whose values are asked for; a field with static
// options answers at once, and a free-input one gets an error result.
func optionsArg(t *actionTool, a helperArgs) (schema.Arg, *mcp.CallToolResult) {
	arg, ok := t.tr.Arg(a.Prop)
	if !ok {
		names := make([]string, 0, len(t.tr.Args))
		for _, x := range t.tr.Args {
			names = append(names, x.Name)
		}
		return arg, helperError(StatusInvalidArgs, fmt.Sprintf("prop: %s has no field %q (its fields: %s)", a.Tool, a.Prop, strings.Join(names, ", ")), "Pass one of the tool's field names.")
	}
	if arg.RemoteOptions {
		return arg, nil
	}
	if len(arg.Options) > 0 {
		out := make([]optionOut, 0, len(arg.Options))
		for _, o := range arg.Options {
			out = append(out, optionOut{Label: labelOf(o), Value: o.Value})
		}
		return arg, structured(map[string]any{"options": out})
	}
	return arg, helperError(StatusInvalidArgs, fmt.Sprintf("prop: field %q of %s takes free input; it has no list of values", a.Prop, a.Tool), "Pass a value of the type the tool's schema gives.")
}

// optionsResult turns one page of options into the helper's answer, with a
// next_page_token unless this was the last page. Components page by number or
// by context, and some ignore paging and start over: a page that begins where
// the first did ends the listing.
func optionsResult(resp *pdclient.ConfigurePropResponse, page optionsPage, usedQuery bool, query string) map[string]any {
	opts := resp.AllOptions()
	out := make([]optionOut, 0, len(opts))
	for _, o := range opts {
		out = append(out, optionOut{Label: labelOf(o), Value: o.Value})
	}
	if !usedQuery && query != "" {
		out = filterOptions(out, query)
	}
	result := map[string]any{"options": out}
	if len(opts) == 0 {
		return result
	}
	first := string(opts[0].Value)
	origin := page.Origin
	if page.Page == 0 {
		origin = first
	}
	switch {
	case page.Page > 0 && (first == page.First || first == origin):
		// The component ignored paging and started over: nothing new.
		result["options"] = []optionOut{}
	case !isNullJSON(page.Context) && isNullJSON(resp.Context):
		// Paged by context, and the context ran out: this was the last page.
	default:
		result["next_page_token"] = encodePageToken(optionsPage{Page: page.Page + 1, Context: resp.Context, First: first, Origin: origin})
	}
	return result
}

func labelOf(o pdclient.PropOption) string {
	if o.Label != "" {
		return o.Label
	}
	return scalarText(o.Value)
}

// filterOptions keeps options whose label or value contains q (case-folded),
// for fields whose component does not search itself.
func filterOptions(in []optionOut, q string) []optionOut {
	q = strings.ToLower(q)
	out := in[:0:0]
	for _, o := range in {
		if strings.Contains(strings.ToLower(o.Label), q) || strings.Contains(strings.ToLower(string(o.Value)), q) {
			out = append(out, o)
		}
	}
	return out
}

// structured is a success result whose text is the same JSON.
func structured(v any) *mcp.CallToolResult {
	b, _ := json.Marshal(v)
	return mcp.NewToolResultStructured(v, string(b))
}

func (s *Set) handleDescribe(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a, res := parseHelperArgs(req, "tool")
	if res != nil {
		return res, nil
	}
	t, res := s.lookupTool(ctx, a.Tool)
	if res != nil {
		return res, nil
	}
	if !t.tr.Dynamic {
		return structured(map[string]any{"tool": t.name, "input_schema": t.tr.Schema}), nil
	}
	pc, res := s.prepare(ctx, req, a)
	if res != nil {
		return res, nil
	}
	base := Result{Action: t.component.Key, Version: t.component.Version, App: t.conn.App, AccountID: pc.account.ID}
	rctx, cancel := context.WithTimeout(ctx, s.callTimeout(ctx))
	defer cancel()
	id, rtr, r := s.reload(rctx, t, pc.user, pc.appValues, pc.configured, a.DynamicPropsID, base)
	if r != nil {
		return toolResult(*r, s.opts.ResultLimit), nil
	}
	return structured(map[string]any{"tool": t.name, "input_schema": rtr.Schema, "dynamic_props_id": id}), nil
}

type accountOut struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Healthy   bool   `json:"healthy"`
	CreatedAt string `json:"created_at,omitempty"`
}

type appAccountsOut struct {
	App        string       `json:"app"`
	Connection string       `json:"connection"`
	Accounts   []accountOut `json:"accounts"`
	ConnectURL string       `json:"connect_url,omitempty"`
	Note       string       `json:"note,omitempty"`
}

func (s *Set) handleAccounts(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a, res := parseHelperArgs(req)
	if res != nil {
		return res, nil
	}
	var served []string // apps this endpoint serves
	out := []appAccountsOut{}
	for _, c := range s.conns {
		if scope := ScopeFrom(ctx); scope != "" && c.Name != scope {
			continue
		}
		served = append(served, c.App)
		if a.App != "" && c.App != a.App && c.Name != a.App {
			continue
		}
		entry, res := s.connectionAccounts(ctx, c, req.Params.Meta)
		if res != nil {
			return res, nil
		}
		out = append(out, entry)
	}
	if len(out) == 0 {
		// Name only what this endpoint serves: a scoped endpoint reveals no
		// other connection and suggests nothing it would refuse.
		return helperError(StatusInvalidArgs, fmt.Sprintf("app: %q is not served here (apps: %s)", a.App, strings.Join(served, ", ")), "Pass one of the apps listed, or leave app out."), nil
	}
	return structured(map[string]any{"apps": out}), nil
}

// connectionAccounts lists the caller's accounts of one connection's app,
// newest first, with a Connect Link to add one (user connections only).
func (s *Set) connectionAccounts(ctx context.Context, c *connState, meta *mcp.Meta) (appAccountsOut, *mcp.CallToolResult) {
	user, ok := s.endUser(ctx, c.Admin, c.ServiceUser, meta)
	if !ok {
		return appAccountsOut{}, helperError(StatusError, "no end user for this session", "Ask the operator to configure the end user.")
	}
	accts, err := c.Client.ListAccounts(ctx, user, c.App)
	if err != nil {
		return appAccountsOut{}, toolResult(s.failure(ctx, Result{App: c.App}, err, false), s.opts.ResultLimit)
	}
	sort.SliceStable(accts, func(i, j int) bool { return accts[i].Created().After(accts[j].Created()) })
	entry := appAccountsOut{App: c.App, Connection: c.Name, Accounts: []accountOut{}}
	for _, ac := range accts {
		if ac.AppSlug() != "" && ac.AppSlug() != c.App {
			continue
		}
		entry.Accounts = append(entry.Accounts, accountOut{ID: ac.ID, Name: ac.Name, Healthy: ac.Healthy && !ac.Dead, CreatedAt: ac.CreatedAt})
	}
	if c.Admin {
		entry.Note = "This app runs as the server's service identity; an administrator manages its accounts."
	} else if link, err := s.connectLink(ctx, c, c.App, user); err == nil {
		entry.ConnectURL = link
		if s.opts.Sandbox {
			entry.Note = SandboxLinkNote
		}
	} else {
		entry.Note = "A Connect Link could not be created: " + err.Error()
	}
	return entry, nil
}
