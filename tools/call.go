package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

// rawArguments returns the call's arguments as JSON ({} when absent).
func rawArguments(req mcp.CallToolRequest) json.RawMessage {
	switch v := req.GetRawArguments().(type) {
	case json.RawMessage:
		if len(v) > 0 {
			return v
		}
	case nil:
	default:
		if b, err := json.Marshal(v); err == nil {
			return b
		}
	}
	return json.RawMessage("{}")
}

// actionHandler runs one action for the caller (DESIGN.md "Calls" 1-5).
func (s *Set) actionHandler(t *actionTool) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		// The deadline covers the whole call (accounts, Connect Link, props
		// reload, run), not only the run: a slow read must not hold a call.
		// A wait for the user to connect an account (ask.go) is not part of
		// it: the call runs again afterwards, with a deadline of its own.
		stop := s.startProgress(ctx, req, t.component.Key)
		defer stop()
		ctx = withRoundTrip(ctx, req.Params.MultiRoundTripParams)
		for {
			cctx, cancel := context.WithTimeout(ctx, s.callTimeout(ctx))
			r, account, user := s.runAction(cctx, t, req)
			cancel()
			if r.wait != nil {
				connected := s.waitForAccount(ctx, r.wait)
				ctx = context.WithValue(ctx, waitedKey{}, connected)
				continue
			}
			noteRun(ctx, t, user, account) // for the call's audit line (observe.go)
			if r.ask != nil {
				return r.ask, nil
			}
			if connected, waited := ctx.Value(waitedKey{}).(bool); waited && !connected && ctx.Err() == nil && r.Status == StatusAccountRequired {
				r.Notes = append(r.Notes, fmt.Sprintf("waited %s for the account to be connected; none was", s.opts.ConnectWait))
			}
			return toolResult(r, s.opts.ResultLimit), nil
		}
	}
}

func (s *Set) runAction(ctx context.Context, t *actionTool, req mcp.CallToolRequest) (Result, string, string) {
	base := Result{Action: t.component.Key, Version: t.component.Version, App: t.conn.App}

	// 1. Validate: no upstream call on bad input.
	raw := rawArguments(req)
	v, err := t.validator()
	if err != nil {
		// The translator only writes schemas that compile (FuzzTranslate);
		// this is a fault of this server, not of the call.
		base.Status = StatusError
		base.Errors = []string{"this tool's input schema does not compile: " + err.Error()}
		base.Next = "This is a fault of the server; tell the operator. Other tools still work."
		return base, "", ""
	}
	args, ferrs := v.Validate(raw)
	if len(ferrs) > 0 {
		return invalidArgs(base, ferrs, fmt.Sprintf("Fix the fields above and call %s again.", callAgain(ctx, t.name))), "", ""
	}
	base.Notes = args.Notes

	user, ok := s.endUser(ctx, t.conn.Admin, t.conn.ServiceUser, req.Params.Meta)
	if !ok {
		base.Status = StatusError
		base.Errors = []string{"no end user: this server was started without an external user id for this session"}
		base.Next = "Ask the operator to configure --external-user-id (stdio) or authenticate the HTTP session."
		return base, "", ""
	}

	// 2. Resolve the account (and one for each other app prop).
	acct, appValues, res := s.accounts(ctx, t, user, args.AccountID, base)
	if res != nil {
		return *res, "", user
	}
	base.AccountID = acct.ID

	configured := t.tr.ConfiguredProps(args)
	dynamicID := args.DynamicPropsID

	// 3. Reload props for dynamic actions when no dynamic props id was given.
	if t.tr.Dynamic && dynamicID == "" {
		reloaded, r := s.reloadForCall(ctx, t, user, appValues, raw, args, base)
		if r != nil {
			return *r, acct.ID, user
		}
		base.Notes, configured, dynamicID = reloaded.notes, reloaded.configured, reloaded.id
	}

	// 4. Confirm a destructive action with the user (--confirm-destructive).
	if subj, ok := t.confirmAction(raw); ok {
		if c := s.confirmDestructive(ctx, subj, req, user, raw, base); !c.run {
			return c.instead(base), acct.ID, user
		}
	}

	// 5. Run.
	maps.Copy(configured, appValues)
	return s.run(ctx, t, user, acct.ID, configured, dynamicID, args.DynamicPropsID != "", args.Stash, base)
}

// run runs the action with the configured props and shapes its result.
// givenID says the dynamic props id came from the caller (not from a reload
// this call made), so a refusal of it is the caller's to fix; stash says the
// caller asked for the files (_stash).
func (s *Set) run(ctx context.Context, t *actionTool, user, accountID string, configured map[string]any, dynamicID string, givenID, stash bool, base Result) (Result, string, string) {
	runReq := pdclient.RunActionRequest{
		ID:              t.component.Key,
		ExternalUserID:  user,
		Version:         t.component.Version,
		ConfiguredProps: configured,
		DynamicPropsID:  dynamicID,
		Idempotent:      t.component.Annotations != nil && t.component.Annotations.IdempotentHint != nil && *t.component.Annotations.IdempotentHint,
	}
	if wantsStash(t.component.Stash, stash) {
		runReq.StashID = "NEW"
	}
	// ctx carries the call's deadline (actionHandler).
	started := s.opts.Now()
	resp, err := t.conn.Client.RunAction(ctx, runReq)
	elapsed := s.opts.Now().Sub(started).Milliseconds()
	base.ExecutedAt = started.UTC().Format(time.RFC3339)
	base.DurationMS = &elapsed
	if resp != nil {
		base.Summary = resp.Summary()
		base.Ret = resp.Ret
		base.Exports = otherExports(resp.Exports)
		base.Resource = findResource(resp.Ret)
		base.StashID = resp.StashID
		s.attachFiles(ctx, t, &base)
	}
	if err != nil {
		if givenID && staleDynamicProps(err, dynamicID) {
			next := fmt.Sprintf("%s, or leave %s out and call %s again (the server then reloads the fields itself).", describeAgain(t), schema.ArgDynamicPropsID, callAgain(ctx, t.name))
			if !t.tr.Dynamic {
				next = fmt.Sprintf("This tool's fields do not depend on each other: leave %s out and call %s again.", schema.ArgDynamicPropsID, callAgain(ctx, t.name))
			}
			return dynamicPropsRefused(base, dynamicID, next), accountID, user
		}
		return s.failure(ctx, base, err, true), accountID, user
	}
	base.Status = StatusSuccess
	return base, accountID, user
}

// reloadedProps are a dynamic action's props after a reload for one call.
type reloadedProps struct {
	id         string         // the dynamic props ID
	configured map[string]any // configured props, validated against the reloaded fields
	notes      []string
}

// reloadForCall reloads a dynamic action's props with the values given and
// validates the raw arguments against the fields that appear; a non-nil
// Result is the answer to send instead of running.
func (s *Set) reloadForCall(ctx context.Context, t *actionTool, user string, appValues map[string]any, raw json.RawMessage, args schema.Args, base Result) (reloadedProps, *Result) {
	rctx, cancel := context.WithTimeout(ctx, s.callTimeout(ctx))
	reloaded, rtr, r := s.reload(rctx, t, user, appValues, t.tr.ConfiguredProps(args), "", base)
	cancel()
	if r != nil {
		return reloadedProps{}, r
	}
	v, err := schema.NewValidator(rtr)
	if err != nil {
		base.Status = StatusUpstreamError
		base.Errors = []string{"the reloaded fields could not be turned into a schema: " + err.Error()}
		return reloadedProps{}, &base
	}
	rargs, ferrs := v.Validate(raw)
	if len(ferrs) == 0 {
		ferrs = rtr.MissingRequired(rargs)
	}
	if len(ferrs) > 0 {
		r := invalidArgs(base, ferrs, fmt.Sprintf("These fields appeared once the others were set. Call pipedream_describe (tool=%q) to see them all, then call %s again.", t.name, callAgain(ctx, t.name)))
		return reloadedProps{}, &r
	}
	rargs.Notes = append(rargs.Notes, args.Notes...)
	return reloadedProps{id: reloaded, configured: rtr.ConfiguredProps(rargs), notes: dedupe(rargs.Notes)}, nil
}

// reload calls the props reload and translates the reloaded props. It returns
// the dynamic props id and the translation, or a result to return.
func (s *Set) reload(ctx context.Context, t *actionTool, user string, appValues, configured map[string]any, dynamicID string, base Result) (string, *schema.Translation, *Result) {
	cp := make(map[string]any, len(configured)+len(appValues))
	maps.Copy(cp, configured)
	maps.Copy(cp, appValues)
	resp, err := t.conn.Client.ReloadProps(ctx, pdclient.ReloadPropsRequest{
		ID: t.component.Key, ExternalUserID: user, Version: t.component.Version,
		ConfiguredProps: cp, DynamicPropsID: dynamicID,
	})
	if err != nil {
		if dynamicID != "" && staleDynamicProps(err, dynamicID) {
			r := dynamicPropsRefused(base, dynamicID, fmt.Sprintf("Leave %s out and call %s (tool=%q) again with the values chosen so far: it answers with a fresh id.", schema.ArgDynamicPropsID, ToolDescribe, t.name))
			return "", nil, &r
		}
		r := s.failure(ctx, base, err, false)
		return "", nil, &r
	}
	rtr, err := schema.Translate(resp.DynamicProps.ConfigurableProps, schema.Options{App: t.conn.App, Stash: t.component.Stash})
	if err != nil {
		r := base
		r.Status = StatusUpstreamError
		r.Errors = []string{"the reloaded fields could not be read: " + err.Error()}
		return "", nil, &r
	}
	return resp.DynamicProps.ID, rtr, nil
}

func invalidArgs(base Result, ferrs []schema.FieldError, next string) Result {
	base.Status = StatusInvalidArgs
	for _, fe := range ferrs {
		msg := fe.Error()
		if fe.Description != "" && !strings.Contains(msg, fe.Description) {
			msg += " (" + fe.Description + ")"
		}
		base.Errors = append(base.Errors, msg)
	}
	base.Next = next
	return base
}

// staleDynamicProps reports whether err is Pipedream refusing the dynamic
// props id sent (unknown, expired, or issued for another component or user).
// The API has no code for it: it answers with an error observation (HTTP 200)
// or a 4xx whose message names the id or the dynamic props, or with the
// error the contract documents for a call whose dynamic props it lacks.
func staleDynamicProps(err error, id string) bool {
	if id == "" {
		return false
	}
	var msgs []string
	var ce *pdclient.ComponentError
	var ae *pdclient.APIError
	switch {
	case errors.As(err, &ce):
		msgs = ce.Messages
	case errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 && ae.StatusCode != 401 && ae.StatusCode != 403 && ae.StatusCode != 429:
		msgs = []string{ae.Message, ae.Body, string(ae.Details)}
	default:
		return false
	}
	id = strings.ToLower(id)
	for _, m := range msgs {
		m = strings.ToLower(m)
		if strings.Contains(m, id) || strings.Contains(m, "dynamic props") || strings.Contains(m, "dynamic_props") ||
			strings.Contains(m, "dynamicprops") || strings.Contains(m, "undefined is not an array or an array-like") {
			return true
		}
	}
	return false
}

// dynamicPropsRefused is the invalid_arguments answer to a dynamic props id
// Pipedream refused: nothing ran, and next says how to get a fresh one.
func dynamicPropsRefused(base Result, id, next string) Result {
	base.Status = StatusInvalidArgs
	base.Summary, base.Ret, base.Exports, base.Resource = "", nil, nil, nil
	base.ExecutedAt, base.DurationMS = "", nil
	base.Errors = []string{fmt.Sprintf("%s: Pipedream does not know %q for this tool and user (unknown, expired, or issued for another tool or user)", schema.ArgDynamicPropsID, id)}
	base.Next = next
	return base
}

// describeAgain tells the agent how to get a fresh dynamic props id for t.
func describeAgain(t *actionTool) string {
	return fmt.Sprintf("Call %s again (tool=%q, configured_props: the values chosen so far) for a fresh %s and pass it back", ToolDescribe, t.name, schema.ArgDynamicPropsID)
}

func otherExports(ex map[string]json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range ex {
		if k == "$summary" {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// failure maps an upstream error to a result. run says whether the error came
// from actions/run (so a timeout may mean the action ran).
func (s *Set) failure(ctx context.Context, base Result, err error, run bool) Result {
	var ce *pdclient.ComponentError
	var ae *pdclient.APIError
	switch {
	case errors.As(err, &ce):
		base.Status = StatusError
		base.Errors = append(base.Errors, ce.Messages...)
		if len(base.Errors) == 0 {
			base.Errors = []string{err.Error()}
		}
		if run {
			base.Next = "The action reported the error above. Fix the arguments it names, or check the account's permissions, then retry."
			break
		}
		// Reading options or reloading fields failed: the component's code
		// for the form reported it, and no action ran.
		base.Head = "Pipedream could not prepare the action's fields; nothing was run:"
		base.Next = "Nothing was run. Fix the values named above, or check the account's permissions, then retry."
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		base.Status = StatusTimeout
		if ctx.Err() == context.Canceled {
			base.Errors = []string{"the call was cancelled"}
		} else {
			base.Errors = []string{fmt.Sprintf("no answer from Pipedream within %s", s.callTimeout(ctx))}
		}
		if run {
			base.Next = "The action may or may not have run. Check its effect (e.g. list or get the resource) before retrying."
		} else {
			base.Next = "Nothing was run. Retry the call."
		}
	case errors.As(err, &ae) && ae.StatusCode == 429:
		base.Status = StatusRateLimited
		secs := int(math.Ceil(ae.RetryAfter.Seconds()))
		if secs <= 0 {
			secs = 60
		}
		base.RetryAfterSeconds = secs
		base.Errors = []string{"Pipedream rate limit reached"}
		base.Next = fmt.Sprintf("Nothing was run. Retry after %d s.", secs)
	case errors.As(err, &ae):
		base.Status = StatusUpstreamError
		base.Errors = []string{upstreamMessage(ae)}
		switch {
		case ae.StatusCode >= 500 && run:
			base.Next = "Pipedream failed. The action may or may not have run; check before retrying."
		case ae.StatusCode >= 500:
			base.Next = "Pipedream failed. Retry in a little while."
		case ae.StatusCode == 401 || ae.StatusCode == 403:
			base.Next = "The server's Pipedream credentials were refused. Tell the operator; retrying will not help."
		default:
			base.Next = "Pipedream refused the request. Check the arguments named above."
		}
	default:
		base.Status = StatusUpstreamError
		base.Errors = []string{"could not reach Pipedream: " + err.Error()}
		if run {
			// The request may have reached Pipedream before the connection
			// failed or the answer turned out unreadable.
			base.Next = "The action may or may not have run. Check its effect (e.g. list or get the resource) before retrying."
		} else {
			base.Next = "Nothing was run. Retry in a little while."
		}
	}
	return base
}

func upstreamMessage(ae *pdclient.APIError) string {
	msg := ae.Message
	if msg == "" {
		msg = strings.TrimSpace(ae.Body)
	}
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", ae.StatusCode)
	}
	return fmt.Sprintf("Pipedream answered %d: %s", ae.StatusCode, msg)
}

// accounts resolves the account of the tool's own app prop (the one the caller
// may choose with _account_id) and, for actions with app props of other apps,
// the caller's newest healthy account of each. It returns the primary account
// and the configured values of every app prop.
func (s *Set) accounts(ctx context.Context, t *actionTool, user, requested string, base Result) (*pdclient.Account, map[string]any, *Result) {
	primary, res := s.resolveAccount(ctx, t.conn, t.appPropApp, user, requested, base)
	if res != nil {
		return nil, nil, res
	}
	values := map[string]any{t.appProp: map[string]any{"authProvisionId": primary.ID}}
	for _, ap := range t.tr.AppProps {
		if ap.Name == t.appProp {
			continue
		}
		a, res := s.resolveAccount(ctx, t.conn, ap.App, user, "", base)
		if res != nil {
			return nil, nil, res
		}
		values[ap.Name] = map[string]any{"authProvisionId": a.ID}
	}
	return primary, values, nil
}

// resolveAccount picks the account a call runs with: the one named (which must
// be the caller's, for this app), else the newest healthy one. With none, it
// returns an account_required result with a Connect Link (user connections) or a
// note for the administrator (admin connections).
func (s *Set) resolveAccount(ctx context.Context, c *connState, app, user, requested string, base Result) (*pdclient.Account, *Result) {
	accts, err := c.Client.ListAccounts(ctx, user, app)
	if err != nil {
		r := s.failure(ctx, base, err, false)
		return nil, &r
	}
	mine := ownAccounts(accts, app, user)
	if requested != "" {
		for i := range mine {
			if mine[i].ID != requested {
				continue
			}
			if !mine[i].Healthy || mine[i].Dead {
				// Pipedream already says it cannot run: no call is made with it.
				r := s.reconnectRequired(ctx, c, app, user, base, mine[i], healthyAccount(mine))
				return nil, &r
			}
			return &mine[i], nil
		}
		r := base
		r.Status = StatusInvalidArgs
		r.Errors = []string{fmt.Sprintf("%s: %q is not one of your connected %s accounts", schema.ArgAccountID, requested, app)}
		r.Next = fmt.Sprintf("Call pipedream_accounts (app=%q) to list your accounts, or leave %s out to use the newest healthy one.", app, schema.ArgAccountID)
		return nil, &r
	}
	if a := healthyAccount(mine); a != nil {
		return a, nil
	}
	r := s.accountRequired(ctx, c, app, user, base, len(mine) > 0)
	return nil, &r
}

// ownAccounts are the accounts of accts that are user's and of app, newest
// first.
func ownAccounts(accts []pdclient.Account, app, user string) []pdclient.Account {
	mine := make([]pdclient.Account, 0, len(accts))
	for _, a := range accts {
		if a.AppSlug() != "" && a.AppSlug() != app {
			continue
		}
		if a.ExternalID != "" && a.ExternalID != user {
			continue
		}
		mine = append(mine, a)
	}
	slices.SortStableFunc(mine, func(a, b pdclient.Account) int { return b.Created().Compare(a.Created()) })
	return mine
}

// healthyAccount is the first healthy account of accts (newest first), or nil.
func healthyAccount(accts []pdclient.Account) *pdclient.Account {
	for i := range accts {
		if accts[i].Healthy && !accts[i].Dead {
			return &accts[i]
		}
	}
	return nil
}

// reconnectRequired answers a call that names an account of the caller's that
// Pipedream reports unhealthy or dead: account_required with a Connect Link to
// reconnect it (user connections), or a note for the administrator (admin
// connections); other, a healthy account of the app, is offered when there is one.
func (s *Set) reconnectRequired(ctx context.Context, c *connState, app, user string, base Result, acct pdclient.Account, other *pdclient.Account) Result {
	base.Status = StatusAccountRequired
	base.App = app
	base.AccountID = acct.ID
	base.Head = "The account chosen must be reconnected; nothing was run:"
	state := "unhealthy: Pipedream could not refresh its credentials"
	if acct.Dead {
		state = "no longer active"
	}
	base.Errors = []string{fmt.Sprintf("%s: the %s account %s is %s", schema.ArgAccountID, app, acct.ID, state)}
	alt := ""
	if other != nil {
		alt = fmt.Sprintf("\nOr call again with %s=%q (healthy), or leave %s out to use the newest healthy account.", schema.ArgAccountID, other.ID, schema.ArgAccountID)
	}
	if c.Admin {
		base.Next = fmt.Sprintf("An administrator must reconnect the %s account %s of the service identity %q in Pipedream Connect; no link is offered here because anyone using it would attach their account to the shared identity.%s", app, acct.ID, user, alt)
		return base
	}
	link, err := s.connectLink(ctx, c, app, user)
	if err != nil {
		base.Errors = append(base.Errors, "a Connect Link could not be created: "+err.Error())
		base.Next = "Retry in a little while to get a link to reconnect the account." + alt
		return base
	}
	if acct.Error != "" {
		base.Errors = append(base.Errors, "Pipedream: "+acct.Error)
	}
	base.ConnectURL = link
	base.Notes = append(base.Notes, s.sandboxLinkNotes()...)
	base.Next = fmt.Sprintf("Ask the user to open this link to reconnect their %s account, then retry: %s%s", app, link, alt)
	return base
}

func (s *Set) accountRequired(ctx context.Context, c *connState, app, user string, base Result, unhealthy bool) Result {
	base.Status = StatusAccountRequired
	base.App = app
	what := fmt.Sprintf("No connected %s account", app)
	if unhealthy {
		what = fmt.Sprintf("No healthy %s account (the connected ones need to be reconnected)", app)
	}
	if r := s.connectInClient(ctx, c, app, user, base); r != nil {
		return *r
	}
	if c.Admin {
		base.Errors = []string{what + " for this server's service identity."}
		base.Next = fmt.Sprintf("An administrator must connect a %s account for the service identity %q in Pipedream Connect; no link is offered here because anyone using it would attach their account to the shared identity.", app, user)
		return base
	}
	link, err := s.connectLink(ctx, c, app, user)
	if err != nil {
		base.Errors = []string{what + ".", "a Connect Link could not be created: " + err.Error()}
		base.Next = "Retry in a little while to get a link to connect the account."
		return base
	}
	base.ConnectURL = link
	base.Notes = append(base.Notes, s.sandboxLinkNotes()...)
	base.Errors = []string{what + "."}
	base.Next = fmt.Sprintf("Ask the user to open this link to connect their %s account, then retry: %s", app, link)
	return base
}

// SandboxLinkNote says what a Connect Link of the sandbox is: its token is the
// simulated API's, so the page it opens cannot connect anything.
const SandboxLinkNote = "sandbox: this connect_url is simulated; its token is the sandbox's, so pipedream.com cannot use it. Try an app the demo user has an account for."

// sandboxLinkNotes are the notes a result with a Connect Link carries in the
// sandbox (none elsewhere).
func (s *Set) sandboxLinkNotes() []string {
	if !s.opts.Sandbox {
		return nil
	}
	return []string{SandboxLinkNote}
}

// connectLink creates a Connect token for user and returns the Connect Link for
// the connection's app.
func (s *Set) connectLink(ctx context.Context, c *connState, app, user string) (string, error) {
	tok, err := c.Client.CreateConnectToken(ctx, pdclient.ConnectTokenRequest{ExternalUserID: user, WebhookURI: s.opts.WebhookURI})
	if err != nil {
		return "", err
	}
	return pdclient.ConnectLink(tok, app), nil
}
