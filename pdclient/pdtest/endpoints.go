package pdtest

// This file owns the handlers of the token, apps, actions (list and
// retrieve), accounts and Connect token endpoints, and CompleteConnect, which
// plays the user finishing a Connect Link.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// handleToken serves POST /v1/oauth/token (client credentials; JSON or form body,
// or HTTP Basic client authentication).
func (f *Fake) handleToken(w http.ResponseWriter, r *http.Request) {
	var grant, id, secret string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var body map[string]any
		if err := decodeBody(r, &body); err != nil {
			writeErrorCode(w, http.StatusBadRequest, err.Error(), "invalid_request")
			return
		}
		str := func(k string) string { s, _ := body[k].(string); return s }
		grant, id, secret = str("grant_type"), str("client_id"), str("client_secret")
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			writeErrorCode(w, http.StatusBadRequest, "invalid form body", "invalid_request")
			return
		}
		grant, id, secret = r.PostForm.Get("grant_type"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if bid, bsecret, ok := r.BasicAuth(); ok && id == "" && secret == "" {
		// RFC 6749 2.3.1: both parts are form-urlencoded inside Basic.
		id, secret = unescape(bid), unescape(bsecret)
	}

	f.mu.Lock()
	if secret != "" {
		f.tokenReqs[secret]++
	}
	accepted := secret != "" && f.secrets[id][secret]
	f.mu.Unlock()

	switch {
	case grant != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": "unsupported_grant_type", "error_description": `grant_type must be "client_credentials"`})
		return
	case !accepted:
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "invalid_client", "error_description": "client authentication failed"})
		return
	}
	tok := "pdat_" + randomAlnum(40)
	f.mu.Lock()
	f.tokens[tok] = time.Now().Add(f.cfg.TokenTTL)
	f.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(math.Ceil(f.cfg.TokenTTL.Seconds())),
	})
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// handleApps serves GET /v1/connect/apps?q=&limit=&after=&has_actions=.
func (f *Fake) handleApps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := f.parseLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	search := strings.ToLower(strings.TrimSpace(q.Get("q")))
	hasActions := q.Get("has_actions") == "true" || q.Get("has_actions") == "1"
	var apps []*catalogApp
	for _, slug := range f.cat.slugs {
		a := f.cat.apps[slug]
		if search != "" && !strings.Contains(strings.ToLower(a.slug), search) && !strings.Contains(strings.ToLower(a.app.Name), search) {
			continue
		}
		if hasActions && len(a.actions) == 0 {
			continue
		}
		apps = append(apps, a)
	}
	page, info, err := paginate(apps, func(a *catalogApp) string { return a.slug }, q.Get("after"), limit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	data := make([]json.RawMessage, 0, len(page))
	for _, a := range page {
		data = append(data, a.raw)
	}
	writeJSON(w, http.StatusOK, map[string]any{"page_info": info, "data": data})
}

// handleApp serves GET /v1/connect/apps/{app}, by name slug or app ID.
func (f *Fake) handleApp(w http.ResponseWriter, r *http.Request) {
	a, ok := f.cat.apps[r.PathValue("app")]
	if !ok {
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": a.raw})
}

// handleActions serves GET .../actions?app=&q=&limit=&after=.
func (f *Fake) handleActions(w http.ResponseWriter, r *http.Request, _ string) {
	f.listActions(w, r, false)
}

// handleComponents serves GET .../components: the actions list, which is empty
// for component_type=trigger (the catalog has no triggers).
func (f *Fake) handleComponents(w http.ResponseWriter, r *http.Request, _ string) {
	f.listActions(w, r, r.URL.Query().Get("component_type") == "trigger")
}

// listActions answers a page of the catalog's actions, filtered by app and q;
// triggers asks for the (empty) list of triggers instead.
func (f *Fake) listActions(w http.ResponseWriter, r *http.Request, triggers bool) {
	q := r.URL.Query()
	limit, err := f.parseLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list := f.cat.order
	if slug := q.Get("app"); slug != "" {
		app, ok := f.cat.apps[slug]
		if !ok {
			writeError(w, http.StatusNotFound, "app not found")
			return
		}
		list = app.actions
	}
	if triggers {
		list = nil
	}
	switch reg := q.Get("registry"); reg {
	case "", string(pdclient.RegistryAll):
	case string(pdclient.RegistryPublic), string(pdclient.RegistryPrivate):
		private := reg == string(pdclient.RegistryPrivate)
		var keep []*catalogAction
		for _, a := range list {
			if a.private == private {
				keep = append(keep, a)
			}
		}
		list = keep
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("registry must be public, private or all, not %q", reg))
		return
	}
	if search := strings.ToLower(strings.TrimSpace(q.Get("q"))); search != "" {
		var hits []*catalogAction
		for _, a := range list {
			if strings.Contains(strings.ToLower(a.key), search) || strings.Contains(strings.ToLower(a.comp.Name), search) {
				hits = append(hits, a)
			}
		}
		list = hits
	}
	page, info, err := paginate(list, func(a *catalogAction) string { return a.key }, q.Get("after"), limit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.mu.Lock()
	slim := f.slim
	f.mu.Unlock()
	data := make([]json.RawMessage, 0, len(page))
	for _, a := range page {
		if slim {
			data = append(data, a.slim)
		} else {
			data = append(data, a.raw)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"page_info": info, "data": data})
}

// handleAction serves GET .../actions/{key}[?version=] (and .../components/{key}).
func (f *Fake) handleAction(w http.ResponseWriter, r *http.Request, _ string) {
	a, msg := f.component(r.PathValue("key"), r.URL.Query().Get("version"))
	if a == nil {
		writeError(w, http.StatusNotFound, msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": a.raw})
}

// component finds an action, and checks the version when one is asked for.
func (f *Fake) component(key, version string) (*catalogAction, string) {
	a, ok := f.cat.actions[key]
	if !ok {
		return nil, fmt.Sprintf("component %q not found", key)
	}
	if version != "" && version != a.comp.Version {
		return nil, fmt.Sprintf("component %q has no version %q", key, version)
	}
	return a, ""
}

// handleAccounts serves GET .../accounts?external_user_id=&app=&limit=&after=.
func (f *Fake) handleAccounts(w http.ResponseWriter, r *http.Request, env string) {
	q := r.URL.Query()
	limit, err := f.parseLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	app := q.Get("app")
	if a, ok := f.cat.apps[app]; ok {
		app = a.slug // an app ID names the same app
	}
	f.mu.Lock()
	if ic := q.Get("include_credentials"); ic == "true" || ic == "1" {
		f.credReqs++
	}
	list := f.accountsFor(env, q.Get("external_user_id"), app)
	wires := make([]accountWire, 0, len(list))
	for _, a := range list {
		wires = append(wires, f.accountWire(a))
	}
	legacy := f.legacyAccts
	f.mu.Unlock()
	page, info, err := paginate(wires, func(a accountWire) string { return a.ID }, q.Get("after"), limit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if page == nil {
		page = []accountWire{}
	}
	var data any = page
	if legacy {
		data = map[string]any{"accounts": page}
	}
	writeJSON(w, http.StatusOK, map[string]any{"page_info": info, "data": data})
}

// handleAccount serves GET .../accounts/{id}: a bare Account object.
func (f *Fake) handleAccount(w http.ResponseWriter, r *http.Request, env string) {
	id := r.PathValue("id")
	f.mu.Lock()
	if ic := r.URL.Query().Get("include_credentials"); ic == "true" || ic == "1" {
		f.credReqs++
	}
	a, ok := f.accounts[id]
	ok = ok && a.Environment == env
	var wire accountWire
	if ok {
		wire = f.accountWire(a)
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "account not found")
		return
	}
	writeJSON(w, http.StatusOK, wire)
}

// handleConnectToken serves POST .../tokens.
func (f *Fake) handleConnectToken(w http.ResponseWriter, r *http.Request, env string) {
	var body struct {
		ExternalUserID     string   `json:"external_user_id"`
		ExternalID         string   `json:"external_id"` // the old SDK's duplicate
		WebhookURI         string   `json:"webhook_uri"`
		SuccessRedirectURI string   `json:"success_redirect_uri"`
		ErrorRedirectURI   string   `json:"error_redirect_uri"`
		ExpiresIn          *float64 `json:"expires_in"`
		AllowedOrigins     []string `json:"allowed_origins"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	user := body.ExternalUserID
	if user == "" {
		user = body.ExternalID
	}
	switch {
	case strings.TrimSpace(user) == "":
		writeError(w, http.StatusBadRequest, "external_user_id is required")
		return
	case len(user) > 250:
		writeError(w, http.StatusBadRequest, "external_user_id must be at most 250 characters")
		return
	}
	ttl := 4 * time.Hour
	if body.ExpiresIn != nil {
		if *body.ExpiresIn <= 0 || *body.ExpiresIn > 14400 {
			writeError(w, http.StatusBadRequest, "expires_in must be between 1 and 14400 seconds")
			return
		}
		ttl = time.Duration(*body.ExpiresIn * float64(time.Second))
	}
	for _, u := range []string{body.WebhookURI, body.SuccessRedirectURI, body.ErrorRedirectURI} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid URI %q", u))
			return
		}
	}
	tok := "ctok_" + randomHex(32)
	exp := time.Now().Add(ttl).UTC()
	f.mu.Lock()
	f.ctoks[tok] = &ctokState{ConnectTokenRecord: ConnectTokenRecord{
		ExternalUserID: user, WebhookURI: body.WebhookURI, Token: tok, Environment: env, ExpiresAt: exp,
	}}
	f.ctokOrder = append(f.ctokOrder, tok)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"token":            tok,
		"expires_at":       exp.Format("2006-01-02T15:04:05.000") + "+00:00",
		"connect_link_url": "https://pipedream.com/_static/connect.html?token=" + tok + "&connectLink=true",
	})
}

// CompleteConnect simulates the user finishing a Connect Link: it creates a
// healthy account of app for the token's user and environment, marks the token
// used (tokens are single-use) and, when the token has a webhook URI on a
// loopback host, POSTs the CONNECTION_SUCCESS event there (delivery errors are
// ignored; no other host is ever contacted).
func (f *Fake) CompleteConnect(token, app string) (pdclient.Account, error) {
	catApp, ok := f.cat.apps[app]
	if !ok {
		return pdclient.Account{}, fmt.Errorf("pdtest: app %q is not in the catalog", app)
	}
	f.mu.Lock()
	t, ok := f.ctoks[token]
	switch {
	case !ok:
		f.mu.Unlock()
		return pdclient.Account{}, errors.New("pdtest: unknown connect token")
	case t.used:
		f.mu.Unlock()
		return pdclient.Account{}, errors.New("pdtest: connect token already used")
	case time.Now().After(t.ExpiresAt):
		f.mu.Unlock()
		return pdclient.Account{}, errors.New("pdtest: connect token expired")
	}
	t.used = true
	n := len(f.accountsFor(t.Environment, t.ExternalUserID, catApp.slug)) + 1
	acct := f.addAccountLocked(Account{
		ExternalUserID: t.ExternalUserID,
		App:            catApp.slug,
		Environment:    t.Environment,
		Name:           fmt.Sprintf("%s account %d of %s", catApp.app.Name, n, t.ExternalUserID),
		Healthy:        true,
	})
	wire := f.accountWire(f.accounts[acct.ID])
	f.sessionSeq++
	event := map[string]any{
		"event":              "CONNECTION_SUCCESS",
		"connect_token":      token,
		"environment":        t.Environment,
		"connect_session_id": f.sessionSeq,
		"account":            wire,
	}
	hook := t.WebhookURI
	f.mu.Unlock()
	if isLoopbackURL(hook) {
		deliverWebhook(hook, event)
	}
	return acct, nil
}

func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func deliverWebhook(hook string, event any) {
	b, err := json.Marshal(event)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(b))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
}

// appProps returns the app props of a prop list, the primary one first: the one
// for the action's own app, else the first.
func appProps(a *catalogAction, props []pdclient.ConfigurableProp) []pdclient.ConfigurableProp {
	var out []pdclient.ConfigurableProp
	for _, p := range props {
		if p.Type == "app" && p.Name != "" {
			out = append(out, p)
		}
	}
	if i := slices.IndexFunc(out, func(p pdclient.ConfigurableProp) bool { return p.App == a.app.slug }); i > 0 {
		out[0], out[i] = out[i], out[0]
	}
	return out
}
