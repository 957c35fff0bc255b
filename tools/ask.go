package tools

// This file owns what a call asks the person behind the client, through MCP
// elicitation: the confirmation of a destructive action
// (--confirm-destructive). It works in both protocol eras mcp-go serves: the
// handler returns an input-required result (mcpserver.InputRequestBuilder);
// a 2026-07-28 client answers it and retries the same call with the answer,
// and for a 2025-11-25 client mcp-go sends elicitation/create itself and
// calls the handler again with the answer.

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Confirmation policies for destructive actions (--confirm-destructive).
const (
	// ConfirmOff runs destructive actions without asking (the default).
	ConfirmOff = "off"
	// ConfirmAlways asks before every destructive action, and refuses the
	// call when the client cannot ask (no form-mode elicitation).
	ConfirmAlways = "always"
	// ConfirmIfSupported asks when the client can, and runs without asking
	// when it cannot.
	ConfirmIfSupported = "if-supported"
)

// ConfirmPolicies are the valid confirmation policies.
var ConfirmPolicies = []string{ConfirmOff, ConfirmAlways, ConfirmIfSupported}

// CheckConfirmPolicy reports whether p is a confirmation policy.
func CheckConfirmPolicy(p string) error {
	if slices.Contains(ConfirmPolicies, p) {
		return nil
	}
	return fmt.Errorf("%q is not a confirmation policy (use %s)", p, strings.Join(ConfirmPolicies, ", "))
}

// confirmID is the key of the confirmation in the input requests and answers.
const confirmID = "confirm_destructive"

// confirmField is the one field of the confirmation form.
const confirmField = "confirm"

// maxConfirmArgs bounds the arguments shown in a confirmation message.
const maxConfirmArgs = 2 << 10

// elicitation says which elicitation modes the caller's client declared and
// its connection can carry: in 2026-07-28 the capabilities come with each
// request; before, from initialize, and only on sessions mcp-go can send
// elicitation/create on (not SSE). An empty elicitation capability means
// form mode (the 2025-06-18 shape).
func elicitation(ctx context.Context) (form, url bool) {
	var caps *mcp.ElicitationCapability
	if info := mcpserver.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		if info.ClientCapabilities != nil {
			caps = info.ClientCapabilities.Elicitation
		}
	} else {
		session := mcpserver.ClientSessionFromContext(ctx)
		if _, ok := session.(mcpserver.SessionWithElicitation); !ok {
			return false, false
		}
		if withInfo, ok := session.(mcpserver.SessionWithClientInfo); ok {
			c := withInfo.GetClientCapabilities()
			caps = c.Elicitation
		}
	}
	if caps == nil {
		return false, false
	}
	return caps.Form != nil || caps.URL == nil, caps.URL != nil
}

// askTTL is how long the user has to answer a question; an answer after it
// is refused (the call is asked again).
const askTTL = 10 * time.Minute

// callState binds an answer to the one question it answers: a fresh nonce
// and the question's expiry, and a MAC of them with the user, the tool, the
// question and the arguments, under a key of this process. A retry that
// answers another call (other arguments, another user), an expired question
// or a question already answered is refused (checkState), so one yes runs
// the action at most once.
func (s *Set) callState(user, tool, question string, raw json.RawMessage) string {
	var head [24]byte
	_, _ = rand.Read(head[:16]) // crypto/rand.Read never fails (Go 1.24+)
	binary.BigEndian.PutUint64(head[16:], uint64(s.opts.Now().Add(askTTL).Unix()))
	return base64.RawURLEncoding.EncodeToString(head[:]) + "." + base64.RawURLEncoding.EncodeToString(s.stateMAC(head[:], user, tool, question, raw))
}

func (s *Set) stateMAC(head []byte, user, tool, question string, raw json.RawMessage) []byte {
	m := hmac.New(sha256.New, s.stateKey[:])
	m.Write(head)
	for _, part := range []string{user, tool, question} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	m.Write(canonicalJSON(raw))
	return m.Sum(nil)
}

// checkState says why state does not belong to this call ("" when it does),
// and spends it: the same state is refused the next time.
func (s *Set) checkState(state, user, tool, question string, raw json.RawMessage) string {
	h, mac, ok := strings.Cut(state, ".")
	head, err1 := base64.RawURLEncoding.DecodeString(h)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err1 != nil || err2 != nil || len(head) != 24 || !hmac.Equal(sum, s.stateMAC(head, user, tool, question, raw)) {
		return "the requestState of the retry does not belong to this call (its tool, arguments or user differ, or the server restarted)"
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(head[16:])), 0)
	now := s.opts.Now()
	if now.After(expires) {
		return fmt.Sprintf("the question expired (answers are taken for %s)", askTTL)
	}
	s.spentMu.Lock()
	defer s.spentMu.Unlock()
	for k, exp := range s.spent { // forget what can no longer be replayed
		if now.After(exp) {
			delete(s.spent, k)
		}
	}
	if _, used := s.spent[h]; used {
		return "this question was already answered, and its answer used"
	}
	if s.spent == nil {
		s.spent = map[string]time.Time{}
	}
	s.spent[h] = expires
	return ""
}

// canonicalJSON re-encodes raw with sorted keys, so the same arguments
// spelled differently bind the same state; raw itself when it is not JSON.
func canonicalJSON(raw json.RawMessage) []byte {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

// newStateKey is a random key for callState.
func newStateKey() (k [32]byte) {
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

// confirmation is the outcome of the destructive-action check.
type confirmation struct {
	run bool                // go ahead
	ask *mcp.CallToolResult // the input-required result to send instead
	res *Result             // the answer to send instead (declined, refused)
}

// instead is the answer to send instead of running (c.run false): base
// carrying the question, or the declined or refused result.
func (c confirmation) instead(base Result) Result {
	if c.ask != nil {
		base.ask = c.ask
		return base
	}
	return *c.res
}

// confirmSubject is what a confirmation asks about: a destructive action, or
// a write through the Connect proxy.
type confirmSubject struct {
	policy string // the connection's confirmation policy
	tool   string // the tool called: an answer binds to it
	title  string // what runs, as a person reads it
	key    string // what runs, precisely (the action's key; the request)
	why    string // why it is asked about
	args   string // the arguments, as shown
}

// confirmAction is the confirmation subject of a call of t, false when t is
// not destructive.
func (t *actionTool) confirmAction(raw json.RawMessage) (confirmSubject, bool) {
	if !t.destructive() {
		return confirmSubject{}, false
	}
	return confirmSubject{policy: t.conn.Confirm, tool: t.name, title: t.title(), key: t.component.Key,
		why: "marked destructive", args: confirmArgs(t, raw)}, true
}

// confirmDestructive decides whether subj may run now for user with the
// arguments raw: policy off, run; an answer to this call's confirmation, run
// on accept; otherwise ask the user when the client can, else refuse
// (always) or run (if-supported).
func (s *Set) confirmDestructive(ctx context.Context, subj confirmSubject, req mcp.CallToolRequest, user string, raw json.RawMessage, base Result) confirmation {
	policy := subj.policy
	if policy == "" || policy == ConfirmOff {
		return confirmation{run: true}
	}
	question := fmt.Sprintf("Run %s (%s, %s) as %s with these arguments?\n%s", subj.title, subj.key, subj.why, user, subj.args)
	if answer, ok := mcpserver.InputResponse(req.Params.InputResponses, confirmID); ok {
		if why := s.checkState(req.Params.RequestState, user, subj.tool, question, raw); why != "" {
			r := base
			r.Status = StatusInvalidArgs
			r.Head = "Nothing ran: the confirmation does not answer this call."
			r.Errors = []string{why}
			r.Next = fmt.Sprintf("Call %s again without inputResponses; the user is asked again.", callAgain(ctx, subj.tool))
			return confirmation{res: &r}
		}
		return s.confirmAnswer(ctx, subj, answer, base)
	}
	if form, _ := elicitation(ctx); !form {
		if policy == ConfirmIfSupported {
			return confirmation{run: true}
		}
		r := base
		r.Status = StatusConfirmationRequired
		r.Head = "Nothing ran: this server asks the user before any destructive action, and this client cannot ask."
		r.Errors = []string{fmt.Sprintf("%s is %s, and the server runs such calls only after the user confirms them in the client (--confirm-destructive=always); this client did not declare form-mode elicitation", subj.key, subj.why)}
		r.Next = "Tell the user this action needs their confirmation, which this client cannot show; they can run it from a client that supports MCP elicitation, or ask the operator about --confirm-destructive=if-supported."
		return confirmation{res: &r}
	}
	ask := mcpserver.NewInputRequestBuilder(s.callState(user, subj.tool, question, raw)).Elicit(confirmID, mcp.ElicitationParams{
		Mode:    mcp.ElicitationModeForm,
		Message: question,
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				confirmField: map[string]any{"type": "boolean", "title": "Run " + subj.title, "description": "Yes runs it now; no runs nothing."},
			},
			"required": []string{confirmField},
		},
	}).ToolResult()
	return confirmation{ask: ask}
}

// confirmAnswer reads the user's answer to a confirmation.
func (s *Set) confirmAnswer(ctx context.Context, subj confirmSubject, answer mcp.InputResponse, base Result) confirmation {
	declined := func(why string) confirmation {
		r := base
		r.Status = StatusDeclined
		r.Head = "Nothing ran: the user " + why + "."
		r.Next = "Do not retry unless the user asks for it; ask them what to do instead."
		return confirmation{res: &r}
	}
	res := mcpserver.ElicitationResponse(mcp.InputResponses{confirmID: answer}, confirmID)
	if res == nil {
		return s.badAnswer(ctx, subj, base, "it is not an elicitation result")
	}
	switch res.Action {
	case mcp.ElicitationResponseActionDecline:
		return declined("declined to run it")
	case mcp.ElicitationResponseActionCancel:
		return declined("dismissed the confirmation")
	case mcp.ElicitationResponseActionAccept:
	default:
		return s.badAnswer(ctx, subj, base, fmt.Sprintf("its action %q is none of accept, decline, cancel", res.Action))
	}
	content, _ := res.Content.(map[string]any)
	yes, ok := content[confirmField].(bool)
	switch {
	case !ok:
		return s.badAnswer(ctx, subj, base, fmt.Sprintf("its content has no boolean %q", confirmField))
	case !yes:
		return declined("answered no")
	}
	return confirmation{run: true}
}

// title is the action's name as a person reads it.
func (t *actionTool) title() string {
	return cmp.Or(t.tool.Annotations.Title, t.component.Name, t.name)
}

// badAnswer refuses a confirmation answer of the wrong shape: nothing runs.
func (s *Set) badAnswer(ctx context.Context, subj confirmSubject, base Result, why string) confirmation {
	r := base
	r.Status = StatusInvalidArgs
	r.Head = "Nothing ran: the answer to the confirmation has the wrong shape."
	r.Errors = []string{"the confirmation answer: " + why + fmt.Sprintf(" (want action accept with {%q: true|false}, decline or cancel)", confirmField)}
	r.Next = fmt.Sprintf("Call %s again without inputResponses; the user is asked again.", callAgain(ctx, subj.tool))
	return confirmation{res: &r}
}

// confirmArgs is the arguments as the confirmation shows them: indented
// JSON, secret props masked, cut at maxConfirmArgs bytes.
func confirmArgs(t *actionTool, raw json.RawMessage) string {
	var v map[string]any
	if json.Unmarshal(raw, &v) != nil {
		return "(arguments that are not a JSON object)"
	}
	for _, a := range t.tr.Args {
		if _, ok := v[a.Name]; ok && a.Secret {
			v[a.Name] = "(secret, not shown)"
		}
	}
	return shownArgs(v)
}

// shownArgs is v as a confirmation shows it: indented JSON, cut at
// maxConfirmArgs bytes.
func shownArgs(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "(arguments that cannot be shown as JSON)"
	}
	if len(b) > maxConfirmArgs {
		return string(b[:maxConfirmArgs]) + "\n… (cut)"
	}
	return string(b)
}

// connectID is the key of the account-connection question (URL mode).
const connectID = "connect_account"

// accountWait is a call that waits for its user to connect an account.
type accountWait struct {
	c                    *connState
	app, user            string
	elicitationID, state string
}

// roundTripKey carries the call's answers (inputResponses and requestState)
// to the account resolution, which has no request of its own.
type roundTripKey struct{}

// waitedKey marks a call that already waited for an account: it asks no more.
type waitedKey struct{}

func withRoundTrip(ctx context.Context, rt mcp.MultiRoundTripParams) context.Context {
	return context.WithValue(ctx, roundTripKey{}, rt)
}

// connectInClient is asked when a user connection's caller has no healthy
// account for app. When the client can show a link (URL-mode elicitation),
// the first time it returns a result that asks the user to connect one;
// when the user accepted, a result that makes the call wait for the account
// (Options.ConnectWait) and run then. nil: answer account_required as before
// (no such client, an admin connection, the user declined, or the call
// already waited).
func (s *Set) connectInClient(ctx context.Context, c *connState, app, user string, base Result) *Result {
	if c.Admin || ctx.Value(waitedKey{}) != nil {
		return nil
	}
	question := fmt.Sprintf("connect a %s account for %s", app, user)
	rt, _ := ctx.Value(roundTripKey{}).(mcp.MultiRoundTripParams)
	if answer, ok := mcpserver.InputResponse(rt.InputResponses, connectID); ok {
		res := mcpserver.ElicitationResponse(mcp.InputResponses{connectID: answer}, connectID)
		if res == nil || res.Action != mcp.ElicitationResponseActionAccept {
			return nil // declined, dismissed or nonsense: the Connect Link, as before
		}
		if why := s.checkState(rt.RequestState, user, "connect:"+c.Name, question, nil); why != "" {
			r := base
			r.Status = StatusInvalidArgs
			r.App = app
			r.Head = "Nothing ran: the answer does not belong to this call."
			r.Errors = []string{why}
			r.Next = "Call the tool again without inputResponses."
			return &r
		}
		id, _, _ := strings.Cut(rt.RequestState, ".")
		r := base
		r.wait = &accountWait{c: c, app: app, user: user, elicitationID: id, state: rt.RequestState}
		return &r
	}
	if _, url := elicitation(ctx); !url {
		return nil
	}
	link, err := s.connectLink(ctx, c, app, user)
	if err != nil {
		return nil // account_required says what failed
	}
	state := s.callState(user, "connect:"+c.Name, question, nil)
	id, _, _ := strings.Cut(state, ".")
	msg := fmt.Sprintf("Connect your %s account to continue: open the link, sign in and allow access. The call goes on by itself once the account is connected (for up to %s).", c.appName(), s.opts.ConnectWait)
	if s.opts.Sandbox {
		msg += " (" + SandboxLinkNote + ")"
	}
	r := base
	r.ask = mcpserver.NewInputRequestBuilder(state).Elicit(connectID, mcp.ElicitationParams{
		Mode: mcp.ElicitationModeURL, Message: msg, ElicitationID: id, URL: link,
	}).ToolResult()
	return &r
}

// waitForAccount waits up to Options.ConnectWait for w's user to have a
// healthy account of w's app: it reads the accounts once, then again each
// time the Connect webhook reports an account for that user and app
// (InvalidateAccounts) or, without a webhook (no public URL), on a backoff
// from 1 s to 30 s; an idle wait sends nothing else upstream. It tells the
// client the elicitation completed when it can.
func (s *Set) waitForAccount(ctx context.Context, w *accountWait) bool {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ConnectWait)
	defer cancel()
	notify, release := s.accountWaiter(w.user, w.app)
	defer release()
	backoff := time.Second
	for {
		w.c.Client.InvalidateAccounts(w.user, w.app)
		if accts, err := w.c.Client.ListAccounts(ctx, w.user, w.app); err == nil && healthyAccount(ownAccounts(accts, w.app, w.user)) != nil {
			if srv, session := mcpserver.ServerFromContext(ctx), mcpserver.ClientSessionFromContext(ctx); srv != nil && session != nil {
				_ = srv.SendElicitationComplete(ctx, session, w.elicitationID)
			}
			return true
		}
		var poll <-chan time.Time // nil, never ready, with a webhook
		if s.opts.WebhookURI == "" {
			poll = time.After(backoff) // collected once it fires or the call ends (Go 1.23+)
			backoff = min(2*backoff, 30*time.Second)
		}
		select {
		case <-notify:
		case <-poll:
		case <-ctx.Done():
			return false
		}
	}
}

// accountWaiter registers a wait for user's account of app: the channel
// receives when InvalidateAccounts reports one; release unregisters.
func (s *Set) accountWaiter(user, app string) (<-chan struct{}, func()) {
	key := user + "\x00" + app
	ch := make(chan struct{}, 1)
	s.waitMu.Lock()
	if s.waiters == nil {
		s.waiters = map[string]map[chan struct{}]struct{}{}
	}
	if s.waiters[key] == nil {
		s.waiters[key] = map[chan struct{}]struct{}{}
	}
	s.waiters[key][ch] = struct{}{}
	s.waitMu.Unlock()
	return ch, func() {
		s.waitMu.Lock()
		delete(s.waiters[key], ch)
		if len(s.waiters[key]) == 0 {
			delete(s.waiters, key)
		}
		s.waitMu.Unlock()
	}
}

// AccountWaits is the number of calls waiting for their user to connect an
// account (waitForAccount), for metrics and tests.
func (s *Set) AccountWaits() int {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	n := 0
	for _, chans := range s.waiters {
		n += len(chans)
	}
	return n
}

// wakeWaiters tells the calls waiting for user's account of app to look.
func (s *Set) wakeWaiters(user, app string) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	for ch := range s.waiters[user+"\x00"+app] {
		select {
		case ch <- struct{}{}:
		default: // already told
		}
	}
}
