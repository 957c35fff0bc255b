package pdtest

// This file owns the Fake itself: its configuration, the Endpoint names, the
// state it keeps, and the methods tests use to seed and inspect it (accounts,
// secrets and tokens, faults, counters, run and Connect token records).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// Endpoint names, for Count, InjectFault and the counters of the fake.
const (
	EndpointToken         = "token"          // POST /v1/oauth/token
	EndpointApps          = "apps"           // GET /v1/connect/apps
	EndpointApp           = "app"            // GET /v1/connect/apps/{slug_or_id}
	EndpointActions       = "actions"        // GET .../actions and .../components
	EndpointAction        = "action"         // GET .../actions/{key} and .../components/{key}
	EndpointConfigure     = "configure"      // POST .../components/configure and .../actions/configure
	EndpointProps         = "props"          // POST .../components/props and .../actions/props
	EndpointRun           = "run"            // POST .../actions/run
	EndpointAccounts      = "accounts"       // GET .../accounts
	EndpointAccount       = "account"        // GET .../accounts/{id}
	EndpointConnectTokens = "connect_tokens" // POST .../tokens
	EndpointProxy         = "proxy"          // any method .../proxy/{url_64}
	EndpointFileStash     = "file_stash"     // GET .../file_stash/download
	// EndpointAll in a Fault matches every endpoint.
	EndpointAll = "*"
)

// Defaults used by New for Config fields left empty.
const (
	TestClientID     = "test-client-id"
	TestClientSecret = "test-client-secret"
	TestProjectID    = "proj_test"
	DefaultTokenTTL  = time.Hour
	DefaultPageSize  = 25
)

// maxDynamicProps bounds how many reload-props results the fake remembers (the
// oldest are forgotten first), so a long sandbox session stays small.
const maxDynamicProps = 10000

// Config configures a Fake. Empty fields take the defaults above.
type Config struct {
	// ClientID and ClientSecret are one accepted credential pair; AcceptSecret
	// adds more. Both empty means TestClientID and TestClientSecret.
	ClientID, ClientSecret string
	// ProjectID is the only project ("proj_..."); other ids in paths get 404.
	ProjectID string
	// TokenTTL is the lifetime of access tokens (expires_in). Default 1h.
	TokenTTL time.Duration
	// PageSize is the fake's own maximum page size for every list, whatever
	// limit a request asks for. Default 25.
	PageSize int
}

// Account describes an account to create with AddAccount.
type Account struct {
	ID             string // generated "apn_..." when empty
	ExternalUserID string
	App            string // app name slug
	Environment    string // "development" (default) or "production"
	Name           string // empty is sent as null, as the API does
	Healthy        bool
	CreatedAt      time.Time // default now
}

// Fault is a failure injected before normal handling of matching requests.
type Fault struct {
	// Endpoint is one of the Endpoint constants, or EndpointAll.
	Endpoint string
	// Status, when non-zero, answers with this status and Body instead of handling
	// the request.
	Status int
	// Count is how many requests the fault affects; 0 means until ClearFaults.
	Count int
	// RetryAfter is sent as the Retry-After header with Status.
	RetryAfter string
	// Delay is waited before anything else (the request's cancellation ends it).
	Delay time.Duration
	// Body is the response body with Status; default {"error": "<status text>"}.
	Body string
	// Reset hijacks the connection and closes it without a response. (Go's
	// transport retries an idempotent request once when a reused connection dies
	// this way, so such a request may use up two counts.)
	Reset bool
	// Truncate handles the request normally but cuts the response body in half
	// (the Content-Length still announces the whole body).
	Truncate bool
	// EndlessPages answers a list request (EndpointApps, EndpointActions or
	// EndpointAccounts) with a full page of new items and an end_cursor that
	// is never the last one, as a hostile or broken upstream would: a client
	// that follows every cursor never reaches the end. Other endpoints are
	// handled normally.
	EndlessPages bool
	// ItemBytes pads every item of an EndlessPages page to at least this many
	// bytes (0: small items).
	ItemBytes int
}

// RunRecord is the decoded body of one actions/run request that reached the
// handler (faulted requests never do).
type RunRecord struct {
	ID             string // component key
	ExternalUserID string
	Version        string // "" when the request named none
	DynamicPropsID string // "" when the request named none
	// ConfiguredProps is configured_props as sent (app props included, __lv
	// values kept wrapped).
	ConfiguredProps map[string]any
	// HasStashID is true when the body carried stash_id at all.
	HasStashID bool
	// Environment is the request's x-pd-environment.
	Environment string
	// Executed is true when the request passed every check and the action ran
	// (even if the action itself reported an error).
	Executed bool
}

// ConnectTokenRecord is one Connect token created through POST .../tokens.
type ConnectTokenRecord struct {
	ExternalUserID string
	WebhookURI     string // "" when the request named none
	Token          string // "ctok_..."
	Environment    string // the request's x-pd-environment
	ExpiresAt      time.Time
}

// Fake is an in-process fake of the Pipedream Connect API. It is an
// http.Handler, safe for concurrent use, and may be mounted under any path
// prefix: it routes on the path from "/v1/" on.
type Fake struct {
	cat *catalog
	cfg Config
	mux http.Handler // built by New from the route tables (routes.go)

	mu           sync.Mutex
	secrets      map[string]map[string]bool // client id -> secret -> accepted
	tokenReqs    map[string]int             // secret -> token requests
	tokens       map[string]time.Time       // access token -> expiry
	accounts     map[string]*accountState
	accountSeq   int
	faults       []*faultState
	counts       map[string]int
	runs         []RunRecord
	runsDropped  int // records trimmed from the front of runs
	runsExecuted int
	dyps         map[string]*dynProps
	dypOrder     []string
	ctoks        map[string]*ctokState
	ctokOrder    []string
	actionSeq    map[string]int
	sessionSeq   int
	slim         bool
	legacyAccts  bool
	credReqs     int
	runDelay     time.Duration
	stash        map[string]stashedFile // File Stash, by s3 key
	stashOrder   []string
	proxied      []ProxyRecord
	github       *githubAPI
}

type accountState struct {
	Account
	seq int
}

type faultState struct {
	Fault
	left int // remaining uses; < 0 means unlimited
}

type dynProps struct {
	key, user, env string
	props          []pdclient.ConfigurableProp
}

type ctokState struct {
	ConnectTokenRecord
	used bool
}

// New returns a Fake serving the embedded catalog, with no accounts.
func New(cfg Config) *Fake {
	cat, err := loadCatalog()
	if err != nil {
		panic("pdtest: embedded catalog: " + err.Error())
	}
	if cfg.ClientID == "" && cfg.ClientSecret == "" {
		cfg.ClientID, cfg.ClientSecret = TestClientID, TestClientSecret
	}
	if cfg.ProjectID == "" {
		cfg.ProjectID = TestProjectID
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	f := &Fake{
		cat:       cat,
		cfg:       cfg,
		secrets:   map[string]map[string]bool{},
		tokenReqs: map[string]int{},
		tokens:    map[string]time.Time{},
		accounts:  map[string]*accountState{},
		counts:    map[string]int{},
		dyps:      map[string]*dynProps{},
		ctoks:     map[string]*ctokState{},
		actionSeq: map[string]int{},
		stash:     map[string]stashedFile{},
		github:    newGitHubAPI(),
	}
	f.mux = f.newMux()
	f.AcceptSecret(cfg.ClientID, cfg.ClientSecret)
	return f
}

// ProjectID returns the project id the fake serves.
func (f *Fake) ProjectID() string { return f.cfg.ProjectID }

// Apps returns the name slugs of the catalog's default apps, sorted: what
// --sandbox serves when no app is named.
func (f *Fake) Apps() []string { return append([]string(nil), f.cat.defaults...) }

// AllApps returns the name slugs of every app the fake serves, sorted: the
// default apps and the rest of the catalog (catalog/extra).
func (f *Fake) AllApps() []string { return append([]string(nil), f.cat.slugs...) }

// AddAccount creates (or replaces, by ID) an account and returns its wire form.
// The app need not be in the catalog.
func (f *Fake) AddAccount(a Account) pdclient.Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addAccountLocked(a)
}

func (f *Fake) addAccountLocked(a Account) pdclient.Account {
	if a.ID == "" {
		a.ID = "apn_" + randomAlnum(7)
	}
	if a.Environment == "" {
		a.Environment = "development"
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	f.accountSeq++
	st := &accountState{Account: a, seq: f.accountSeq}
	f.accounts[a.ID] = st
	var out pdclient.Account
	b, _ := json.Marshal(f.accountWire(st))
	_ = json.Unmarshal(b, &out)
	return out
}

// AcceptSecret accepts one more client id and secret pair on the token endpoint.
func (f *Fake) AcceptSecret(clientID, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.secrets[clientID] == nil {
		f.secrets[clientID] = map[string]bool{}
	}
	f.secrets[clientID][secret] = true
}

// RevokeSecret stops accepting a pair: new token requests with it get 401
// invalid_client. Access tokens already issued stay valid until they expire.
func (f *Fake) RevokeSecret(clientID, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.secrets[clientID], secret)
}

// TokenRequests returns how many token requests carried this client secret,
// accepted or not.
func (f *Fake) TokenRequests(secret string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenReqs[secret]
}

// ExpireTokens invalidates every access token issued so far: later calls with
// them get 401 until the client fetches a new token.
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]time.Time{}
}

// InjectFault adds a fault. Faults are tried in the order they were injected;
// the first that matches a request's endpoint applies.
func (f *Fake) InjectFault(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	left := ft.Count
	if left <= 0 {
		left = -1
	}
	f.faults = append(f.faults, &faultState{Fault: ft, left: left})
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// takeFault returns the fault for a request to endpoint, using it up.
func (f *Fake) takeFault(endpoint string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.faults {
		if ft.Endpoint != endpoint && ft.Endpoint != EndpointAll {
			continue
		}
		if ft.left > 0 {
			ft.left--
			if ft.left == 0 {
				f.faults = append(f.faults[:i:i], f.faults[i+1:]...)
			}
		}
		return ft.Fault, true
	}
	return Fault{}, false
}

// Count returns how many requests reached an endpoint, faulted ones included.
func (f *Fake) Count(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if endpoint == EndpointAll {
		n := 0
		for _, c := range f.counts {
			n += c
		}
		return n
	}
	return f.counts[endpoint]
}

// ResetCounts sets every endpoint counter to zero.
func (f *Fake) ResetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = map[string]int{}
}

// RunTotals counts every actions/run body received and every run that passed
// its checks and executed, including those whose records Runs no longer keeps.
func (f *Fake) RunTotals() (received, executed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runsDropped + len(f.runs), f.runsExecuted
}

// maxRunRecords bounds the run records a Fake keeps (see Runs).
const maxRunRecords = 20000

// Runs returns the actions/run bodies received, decoded, oldest first. A Fake
// keeps at most the newest 20,000 (tests never come near that; a long-running
// sandbox does).
func (f *Fake) Runs() []RunRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RunRecord(nil), f.runs...)
}

// ConnectTokens returns every Connect token created, oldest first.
func (f *Fake) ConnectTokens() []ConnectTokenRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ConnectTokenRecord, 0, len(f.ctokOrder))
	for _, t := range f.ctokOrder {
		out = append(out, f.ctoks[t].ConnectTokenRecord)
	}
	return out
}

// SetSlimActionLists makes action list items {name, version, key} without
// configurable_props, as the older docs show. Single reads stay full.
func (f *Fake) SetSlimActionLists(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slim = on
}

// SetLegacyAccountsShape makes the accounts list answer
// {"data": {"accounts": [...]}, "page_info": ...}, as the older docs show.
func (f *Fake) SetLegacyAccountsShape(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.legacyAccts = on
}

// CredentialsRequested returns how many accounts requests asked for
// include_credentials=true. The product must never ask, so tests expect 0.
func (f *Fake) CredentialsRequested() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.credReqs
}

// SetRunDelay adds latency to every actions/run request.
func (f *Fake) SetRunDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runDelay = d
}

// DynamicPropsIssued reports whether id was issued by reload-props and is still
// remembered, with the action key and external user it was issued for.
func (f *Fake) DynamicPropsIssued(id string) (key, externalUserID string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.dyps[id]
	if !ok {
		return "", "", false
	}
	return d.key, d.user, true
}

// accountsFor lists the accounts of one environment, oldest first.
func (f *Fake) accountsFor(env, user, app string) []*accountState {
	var out []*accountState
	for _, a := range f.accounts {
		if a.Environment != env || (user != "" && a.ExternalUserID != user) || (app != "" && a.App != app) {
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].seq < out[j].seq
	})
	return out
}

// accountWire is an account as the API returns it (never with credentials).
type accountWire struct {
	ID         string          `json:"id"`
	Name       *string         `json:"name"`
	ExternalID string          `json:"external_id"`
	Healthy    bool            `json:"healthy"`
	Dead       bool            `json:"dead"`
	App        json.RawMessage `json:"app"`
	CreatedAt  string          `json:"created_at"`
	UpdatedAt  string          `json:"updated_at"`
	Error      *string         `json:"error"`
}

func (f *Fake) accountWire(a *accountState) accountWire {
	w := accountWire{
		ID:         a.ID,
		ExternalID: a.ExternalUserID,
		Healthy:    a.Healthy,
		CreatedAt:  apiTime(a.CreatedAt),
		UpdatedAt:  apiTime(a.CreatedAt),
	}
	if a.Name != "" {
		name := a.Name
		w.Name = &name
	}
	if !a.Healthy {
		msg := "The account's credentials could not be refreshed. Ask the user to reconnect it."
		w.Error = &msg
	}
	if app, ok := f.cat.apps[a.App]; ok {
		w.App = app.raw
	} else {
		w.App, _ = json.Marshal(pdclient.App{NameSlug: a.App, Name: a.App})
	}
	return w
}

// apiTime formats a time as the API does: 2024-07-30T22:52:48.000Z.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// checkAccount validates the value of an app prop: it must name an account of
// this user, app and environment. It returns a problem, or "".
func (f *Fake) checkAccount(val json.RawMessage, propName, wantApp, user, env string) string {
	if isAbsent(val) {
		return fmt.Sprintf("Cannot read properties of undefined (reading 'oauth_access_token'): app prop %q is not set; send {\"authProvisionId\": \"apn_...\"} under the prop's name", propName)
	}
	var v struct {
		AuthProvisionID string `json:"authProvisionId"`
	}
	if json.Unmarshal(val, &v) != nil || v.AuthProvisionID == "" {
		return fmt.Sprintf("app prop %q must be {\"authProvisionId\": \"apn_...\"}", propName)
	}
	f.mu.Lock()
	a, ok := f.accounts[v.AuthProvisionID]
	var acct Account
	if ok {
		acct = a.Account
	}
	f.mu.Unlock()
	switch {
	case !ok:
		return fmt.Sprintf("account %s not found", v.AuthProvisionID)
	case acct.Environment != env:
		return fmt.Sprintf("account %s belongs to the %s environment, not %s", acct.ID, acct.Environment, env)
	case acct.ExternalUserID != user:
		return fmt.Sprintf("account %s does not belong to external user %q", acct.ID, user)
	case acct.App != wantApp:
		return fmt.Sprintf("account %s is a %s account, but app prop %q needs a %s account", acct.ID, acct.App, propName, wantApp)
	case !acct.Healthy:
		return fmt.Sprintf("account %s is unhealthy: its credentials could not be refreshed; reconnect it", acct.ID)
	}
	return ""
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
