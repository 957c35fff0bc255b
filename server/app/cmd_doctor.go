package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

const doctorUsage = `Usage: pipedream-mcp doctor [flags]

Checks the setup step by step and prints one line per check, OK, WARN or FAIL,
with the likely cause and the fix of every failure:
  1. configuration (flags, environment, config file)
  2. credentials: one token request per OAuth client
  3. project ID and environment: one project-scoped read
  4. each configured app: it exists and has actions
  5. the catalog: it loads and every tool's input schema builds; tool counts
     against what hosts take (Cursor 40, GitHub Copilot 128)
  6. the end user's connected accounts, per connection
  7. with --transport sse or http: the authentication settings
Checks that depend on a failed one are skipped.

Exit status: 0 when nothing failed (warnings allowed), 1 when a check failed,
2 when the configuration itself is invalid.

Examples:
  pipedream-mcp doctor --sandbox
  pipedream-mcp doctor --app slack --external-user-id user-123
  pipedream-mcp doctor --config pipedream-mcp.yaml --transport http --auth jwt`

// doctorTimeout bounds each network check.
const doctorTimeout = 30 * time.Second

// checks prints the lines of the doctor command and counts the outcomes.
type checks struct {
	w            io.Writer
	st           style
	fails, warns int
}

func (c *checks) line(status, name, detail string) {
	fmt.Fprintf(c.w, "%s %s: %s\n", status, name, detail)
}

func (c *checks) ok(name, format string, a ...any) {
	c.line(c.st.green("OK  "), name, fmt.Sprintf(format, a...))
}

// warn prints a warning and, indented, what to do about it.
func (c *checks) warn(name, detail string, advice ...string) {
	c.warns++
	c.line(c.st.yellow("WARN"), name, detail)
	for _, a := range advice {
		if a != "" {
			fmt.Fprintf(c.w, "     %s\n", a)
		}
	}
}

// fail prints a failed check with its likely cause and fix.
func (c *checks) fail(name string, d diagnosis) {
	c.fails++
	c.line(c.st.red("FAIL"), name, d.detail)
	if d.cause != "" {
		fmt.Fprintf(c.w, "     cause: %s\n", d.cause)
	}
	if d.fix != "" {
		fmt.Fprintf(c.w, "     fix:   %s\n", d.fix)
	}
}

func (c *checks) skip(name, why string) {
	c.line(c.st.dim("SKIP"), name, why)
}

// diagnosis is what a failed check says: what happened, why, and what to do.
type diagnosis struct {
	detail, cause, fix string
}

// diagnose explains an API error of a check about creds. step names what was
// attempted ("token request", "project read", ...).
func diagnose(err error, creds config.Credentials, sandbox bool) diagnosis {
	d := diagnosis{detail: errorText(err)}
	var ae *pdclient.APIError
	isAPI := errors.As(err, &ae)
	msg := strings.ToLower(d.detail)
	switch {
	case errors.Is(err, pdclient.ErrRateLimited):
		d.cause = "Pipedream rate-limited this project"
		d.fix = "wait a minute and run doctor again; servers sharing one project share its limits"
	case strings.Contains(msg, "limit") && strings.Contains(msg, "user"):
		d.cause = "development mode's limit: a development environment allows at most 10 external users"
		d.fix = "delete unused external users in the project's Connect settings on pipedream.com, or use environment production (needs a paid Connect plan)"
	case errors.Is(err, pdclient.ErrUnauthorized):
		d.cause = fmt.Sprintf("wrong client ID or secret: Pipedream refused OAuth client %q (deleted, or its secret was rotated?)", creds.ClientID)
		d.fix = "set PIPEDREAM_CLIENT_ID and PIPEDREAM_CLIENT_SECRET (or PIPEDREAM_CLIENT_SECRET_FILE, or client_id:/client_secret: in the config file) to an OAuth client of the project (pipedream.com, workspace settings > API)"
	case errors.Is(err, pdclient.ErrNotFound):
		d.cause = fmt.Sprintf("wrong project ID: project %q does not exist for this OAuth client (another workspace's client, or a typo)", creds.ProjectID)
		d.fix = "set PIPEDREAM_PROJECT_ID (or --project-id, project_id: in the config file) to the proj_... ID in the project's settings, using an OAuth client of the same workspace"
	case isAPI && ae.StatusCode == http.StatusBadRequest:
		d.cause = fmt.Sprintf("wrong environment: Pipedream refused environment %q for this project", creds.Environment)
		d.fix = "set PIPEDREAM_PROJECT_ENVIRONMENT (or --environment, environment: in the config file) to development or production; production needs a paid Connect plan, and accounts exist per environment"
	case isAPI && ae.StatusCode == http.StatusForbidden:
		d.cause = fmt.Sprintf("the OAuth client may not use project %q in environment %q", creds.ProjectID, creds.Environment)
		d.fix = "use an OAuth client of the project's workspace with the Connect scopes; for production, check the workspace's Connect plan"
	case isAPI && ae.StatusCode >= 500, !isAPI:
		where := creds.BaseURL
		if where == "" {
			where = pdclient.DefaultBaseURL
		}
		if sandbox {
			where = "the sandbox API"
		}
		d.cause = fmt.Sprintf("the Pipedream API at %s is unreachable or failing", where)
		d.fix = "check the network, proxies and PIPEDREAM_BASE_URL, and https://status.pipedream.com; the server itself starts anyway and retries in the background"
	}
	return d
}

func cmdDoctor(env *cmdEnv, args []string) error {
	st := newStyle(env.stdout, env.getenv)
	c := &checks{w: env.stdout, st: st}

	cfg, fs, pos, err := parsePeople(env, "doctor", doctorUsage, args, nil)
	if err != nil {
		var ce *config.Error
		if !errors.As(err, &ce) {
			return err
		}
		c.fail("configuration", diagnosis{detail: plural(len(ce.Problems), "problem", "problems")})
		for _, p := range ce.Problems {
			fmt.Fprintf(env.stdout, "     - %s\n", p)
		}
		fmt.Fprintln(env.stdout)
		fmt.Fprintln(env.stdout, "The configuration must be fixed before anything else can be checked.")
		return errSilent(2)
	}
	if len(pos) > 0 {
		return usageErrorf("doctor takes no arguments, got %q", strings.Join(pos, " "))
	}
	s, err := newSession(env, cfg, fs)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			c.fail("configuration", diagnosis{detail: strings.Join(ce.Problems, "; ")})
			return errSilent(2)
		}
		return err
	}
	defer s.Close()
	d := &doctor{env: env, cfg: cfg, s: s, c: c}
	d.run()

	fmt.Fprintln(env.stdout)
	switch {
	case c.fails > 0:
		fmt.Fprintf(env.stdout, "%s, %s.\n", st.red(plural(c.fails, "check failed", "checks failed")), plural(c.warns, "warning", "warnings"))
		return errSilent(1)
	case c.warns > 0:
		fmt.Fprintf(env.stdout, "No check failed; %s.\n", st.yellow(plural(c.warns, "warning", "warnings")))
	default:
		fmt.Fprintln(env.stdout, st.green("Every check passed."))
	}
	return nil
}

// doctor runs the checks of one configuration.
type doctor struct {
	env *cmdEnv
	cfg *config.Config
	s   *session
	c   *checks
}

// credSet is one distinct Connect client and what uses it.
type credSet struct {
	client *pdclient.Client
	creds  config.Credentials
	users  []string // connection names, and "workflow X"
	ok     bool
}

func (d *doctor) run() {
	cfg, c := d.cfg, d.c
	if cfg.Sandbox {
		fmt.Fprintln(d.env.stdout, d.c.st.yellow(sandboxBanner))
		fmt.Fprintln(d.env.stdout)
	}
	d.configuration()

	sets := d.credentialSets()
	for _, cs := range sets {
		d.credentials(cs)
	}
	setOf := func(conn tools.Connection) *credSet {
		cl := connectionClient(conn)
		for _, cs := range sets {
			if cs.client == cl {
				return cs
			}
		}
		return nil
	}

	appOK := map[string]bool{}
	for _, conn := range d.s.rt.conns {
		name := "app " + conn.App
		if conn.Name != conn.App {
			name = fmt.Sprintf("app %s (connection %s)", conn.App, conn.Name)
		}
		if cs := setOf(conn); cs == nil || !cs.ok {
			c.skip(name, "needs the credentials and project checks to pass")
			continue
		}
		appOK[conn.Name] = d.app(name, conn)
	}

	d.catalog(appOK)
	d.accounts(appOK)
	if cfg.Transport != "stdio" {
		d.httpAuth()
	}
}

func (d *doctor) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(d.env.ctx, doctorTimeout)
}

// configuration reports what was resolved and every warning.
func (d *doctor) configuration() {
	cfg := d.cfg
	var parts []string
	parts = append(parts, plural(len(cfg.Connections), "connection", "connections")+listSuffix(connectionList(cfg)))
	if len(cfg.Workflows) > 0 {
		parts = append(parts, plural(len(cfg.Workflows), "workflow", "workflows"))
	}
	parts = append(parts, "transport "+cfg.Transport)
	if cfg.ExternalUserID != "" {
		parts = append(parts, fmt.Sprintf("end user %q", cfg.ExternalUserID))
	}
	if cfg.ConfigFile != "" {
		parts = append(parts, "file "+cfg.ConfigFile)
	}
	if cfg.Sandbox {
		parts = append(parts, "sandbox")
	}
	d.c.ok("configuration", "%s", strings.Join(parts, ", "))
	for _, w := range cfg.Warnings {
		d.c.warn("configuration", w)
	}
}

func connectionList(cfg *config.Config) []string {
	var out []string
	for _, c := range cfg.Connections {
		out = append(out, c.Name)
	}
	return out
}

func listSuffix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// credentialSets lists the distinct clients in the order connections (then
// workflows) first use them.
func (d *doctor) credentialSets() []*credSet {
	var sets []*credSet
	find := func(cl *pdclient.Client) *credSet {
		for _, cs := range sets {
			if cs.client == cl {
				return cs
			}
		}
		return nil
	}
	credsOf := map[*pdclient.Client]config.Credentials{}
	for creds, cl := range d.s.rt.clients {
		credsOf[cl] = creds
	}
	for _, conn := range d.s.rt.conns {
		cl := connectionClient(conn)
		if cl == nil {
			continue
		}
		cs := find(cl)
		if cs == nil {
			cs = &credSet{client: cl, creds: credsOf[cl]}
			sets = append(sets, cs)
		}
		cs.users = append(cs.users, conn.Name)
	}
	// Clients only workflows use (auth: oauth).
	var rest []*credSet
	for creds, cl := range d.s.rt.clients {
		if find(cl) == nil {
			rest = append(rest, &credSet{client: cl, creds: creds, users: []string{"workflows"}})
		}
	}
	slices.SortFunc(rest, func(a, b *credSet) int {
		return strings.Compare(a.creds.ClientID+a.creds.ProjectID, b.creds.ClientID+b.creds.ProjectID)
	})
	return append(sets, rest...)
}

// credentials checks one client: a token request, then a project read.
func (d *doctor) credentials(cs *credSet) {
	suffix := ""
	if len(d.s.rt.clients) > 1 {
		suffix = fmt.Sprintf(" (%s)", strings.Join(cs.users, ", "))
	}
	creds := cs.creds
	ctx, cancel := d.ctx()
	defer cancel()
	if _, err := cs.client.AccessToken(ctx); err != nil {
		d.c.fail("credentials"+suffix, diagnose(err, creds, d.cfg.Sandbox))
		d.c.skip("project and environment"+suffix, "needs working credentials")
		return
	}
	d.c.ok("credentials"+suffix, "token request accepted for OAuth client %q", creds.ClientID)
	if err := cs.client.CheckCredentials(ctx); err != nil {
		d.c.fail("project and environment"+suffix, diagnose(err, creds, d.cfg.Sandbox))
		return
	}
	d.c.ok("project and environment"+suffix, "project %s answers in environment %s", cs.client.ProjectID(), cs.client.Environment())
	cs.ok = true
}

// app checks that a connection's app exists and has actions.
func (d *doctor) app(name string, conn tools.Connection) bool {
	cl := connectionClient(conn)
	ctx, cancel := d.ctx()
	defer cancel()
	app, err := cl.GetApp(ctx, conn.App)
	if errors.Is(err, pdclient.ErrNotFound) {
		d.c.fail(name, diagnosis{
			detail: fmt.Sprintf("Pipedream has no app with the slug %q", conn.App),
			cause:  "unknown app slug",
			fix:    fmt.Sprintf("find the slug with `pipedream-mcp apps %s` and use it in --app, PIPEDREAM_APPS or app: in the config file", searchWords(conn.App)),
		})
		return false
	}
	if err != nil {
		d.c.fail(name, diagnose(err, d.credsOf(cl), d.cfg.Sandbox))
		return false
	}
	comps, err := cl.ListActions(ctx, conn.App, pdclient.Registry(conn.Registry))
	if err != nil {
		d.c.fail(name, diagnose(err, d.credsOf(cl), d.cfg.Sandbox))
		return false
	}
	if len(comps) == 0 {
		d.c.fail(name, diagnosis{
			detail: fmt.Sprintf("%s has no actions", app.Name),
			cause:  "the app has no Connect actions, so this server has no tool to offer for it",
			fix:    "pick an app with actions (`pipedream-mcp apps --actions <words>`) or remove the connection",
		})
		return false
	}
	auth := ""
	if app.AuthType != "" {
		auth = ", auth " + app.AuthType
	}
	d.c.ok(name, "%s%s, %s", app.Name, auth, plural(len(comps), "action", "actions"))
	return true
}

func (d *doctor) credsOf(cl *pdclient.Client) config.Credentials {
	for creds, c := range d.s.rt.clients {
		if c == cl {
			return creds
		}
	}
	return config.Credentials{}
}

// searchWords turns an app slug into search words for `apps`.
func searchWords(slug string) string {
	return strings.ReplaceAll(slug, "_", " ")
}

// catalog loads every catalog and checks that each tool builds.
func (d *doctor) catalog(appOK map[string]bool) {
	if len(appOK) == 0 && len(d.s.rt.conns) > 0 {
		d.c.skip("catalog", "no app passed its check")
		return
	}
	_ = d.s.load()
	status := d.s.rt.set.Status()
	for _, st := range status {
		if !appOK[st.Name] {
			continue
		}
		name := "catalog " + st.Name
		if st.Err != nil {
			cl := d.clientOf(st.Name)
			d.c.fail(name, diagnose(st.Err, d.credsOf(cl), d.cfg.Sandbox))
			continue
		}
		if len(st.Warnings) > 0 {
			d.c.warn(name, fmt.Sprintf("%s built; %s left out because their props cannot be translated", plural(st.Tools, "tool", "tools"), plural(len(st.Warnings), "action", "actions")),
				append(bulleted(st.Warnings), "the other tools serve; exclude: these actions in the config file to silence this")...)
		} else if st.Tools == 0 {
			d.c.warn(name, "no tools: include:, exclude: or read_only: of the connection leave no action",
				"loosen the connection's include:/exclude: globs or read_only: in the config file")
			continue
		} else {
			d.c.ok(name, "%s, every input schema builds", plural(st.Tools, "tool", "tools"))
		}
		// In catalog or auto mode a big connection reaches the host as the
		// few catalog tools, so only direct mode has a limit to warn about.
		if note := toolLimitNote(st.Tools); note != "" && d.s.cfg.ToolMode == tools.ToolModeDirect {
			d.c.warn(name, fmt.Sprintf("%d tools, %s", st.Tools, note), "to serve fewer, "+narrowHint(st.Name, d.actionKeys(st.Name)))
		}
	}
	ctx := d.s.userContext(d.env.ctx)
	mc, err := d.s.connect(ctx)
	if err == nil {
		defer mc.Close()
		var list *toolsList
		if list, err = mc.listTools(ctx); err == nil {
			n, b := len(list.tools), list.bytes()
			mode := ""
			if slices.ContainsFunc(list.tools, func(t listedTool) bool { return t.tool.Name == tools.ToolSearchActions }) {
				mode = fmt.Sprintf(" (catalog mode: %s reached through %s)", plural(len(d.s.rt.set.ActionNames()), "action", "actions"), tools.ToolSearchActions)
			}
			d.c.ok("tools/list", "%s, %s bytes, about %s tokens (bytes / 4)%s", plural(n, "tool", "tools"), thousands(b), thousands((b+3)/4), mode)
			if note := toolLimitNote(n); note != "" && len(d.s.rt.conns) > 1 {
				d.c.warn("tools/list", fmt.Sprintf("%d tools in all, %s", n, note),
					"serve fewer connections per client, or with --transport http point each client at /mcp/<connection>")
			}
			return
		}
	}
	d.c.fail("tools/list", diagnosis{detail: errorText(err), cause: "the MCP server could not list its tools (a bug in this server)", fix: "report it with the output of `pipedream-mcp tools --log-level debug`"})
}

func bulleted(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "- " + l
	}
	return out
}

func (d *doctor) clientOf(conn string) *pdclient.Client {
	for _, c := range d.s.rt.conns {
		if c.Name == conn {
			return connectionClient(c)
		}
	}
	return nil
}

func (d *doctor) actionKeys(conn string) []string {
	var keys []string
	for _, t := range d.s.rt.set.Tools() {
		if in, ok := d.s.rt.set.Action(t.Tool.Name); ok && in.Connection == conn {
			keys = append(keys, in.Action)
		}
	}
	return keys
}

// accounts checks the connected accounts each connection's calls would use.
func (d *doctor) accounts(appOK map[string]bool) {
	for _, conn := range d.s.rt.conns {
		name := "accounts " + conn.Name
		if !appOK[conn.Name] {
			continue
		}
		user := endUserOf(d.cfg, conn)
		if user == "" {
			d.c.warn(name, "no end user to check (the user comes from each request with this transport)",
				"pass --external-user-id to check one user's accounts")
			continue
		}
		cl := connectionClient(conn)
		ctx, cancel := d.ctx()
		accts, err := cl.ListAccounts(ctx, user, conn.App)
		cancel()
		if err != nil {
			d.c.fail(name, diagnose(err, d.credsOf(cl), d.cfg.Sandbox))
			continue
		}
		total, healthy := 0, 0
		for _, a := range accts {
			if a.AppSlug() != "" && a.AppSlug() != conn.App {
				continue
			}
			total++
			if a.Healthy && !a.Dead {
				healthy++
			}
		}
		who := fmt.Sprintf("end user %q", user)
		if conn.Admin {
			who = fmt.Sprintf("service identity %q", user)
		}
		env := cl.Environment()
		switch {
		case healthy > 0:
			d.c.ok(name, "%s of %s (%d healthy)", plural(total, "account", "accounts"), who, healthy)
		case conn.Admin:
			detail := fmt.Sprintf("no healthy %s account of %s in %s: every call will fail", conn.App, who, env)
			if total > 0 {
				detail = fmt.Sprintf("%s of %s, none healthy: every call will fail", plural(total, "account", "accounts"), who)
			}
			d.c.fail(name, diagnosis{
				detail: detail,
				cause:  "admin connections run as the service identity, and it has no usable account",
				fix:    fmt.Sprintf("an administrator connects a %s account for external user ID %q in the %s environment (accounts exist per environment)", conn.App, user, env),
			})
		case total > 0:
			d.c.warn(name, fmt.Sprintf("%s of %s, none healthy: calls answer account_required", plural(total, "account", "accounts"), who),
				fmt.Sprintf("reconnect: `pipedream-mcp accounts %s` prints a Connect Link", conn.Name))
		default:
			advice := []string{
				fmt.Sprintf("calls answer account_required with a Connect Link; `pipedream-mcp accounts %s` prints one now", conn.Name),
				fmt.Sprintf("accounts exist per environment: one connected in the other environment is not seen in %s", env),
			}
			if env == "development" {
				advice = append(advice, "development mode allows at most 10 external users per project")
			}
			d.c.warn(name, fmt.Sprintf("no %s account of %s in %s", conn.App, who, env), advice...)
		}
	}
}

// httpAuth reports the authentication of the sse and http transports.
func (d *doctor) httpAuth() {
	cfg := d.cfg
	name := "http auth"
	switch cfg.Auth {
	case "none":
		who := "no user: user connections cannot run"
		if cfg.ExternalUserID != "" {
			who = fmt.Sprintf("every request runs as %q", cfg.ExternalUserID)
		}
		if cfg.ExternalUserID == "" && d.hasUserConnection() {
			d.c.fail(name, diagnosis{
				detail: "--auth none without an end user",
				cause:  "with --auth none every request runs as --external-user-id, and none is set",
				fix:    "set --external-user-id (one user), or use --auth jwt or --auth keys (a user per request)",
			})
		} else {
			d.c.ok(name, "none on loopback %s; %s", cfg.Addr, who)
		}
	case "jwt":
		var parts []string
		if cfg.JWTSecret != "" {
			parts = append(parts, "HS256 secret set")
		}
		if cfg.JWKSURL != "" {
			parts = append(parts, "JWKS "+cfg.JWKSURL)
		}
		parts = append(parts, fmt.Sprintf("user from claim %q", cfg.UserClaim))
		if cfg.JWTIssuer != "" {
			parts = append(parts, "issuer "+cfg.JWTIssuer)
		}
		if cfg.JWTAudience != "" {
			parts = append(parts, "audience "+cfg.JWTAudience)
		}
		d.c.ok(name, "jwt: %s", strings.Join(parts, ", "))
		if cfg.JWTAudience == "" {
			d.c.warn(name, "no --jwt-audience: a token your issuer made for another service is accepted too",
				"set --jwt-audience to the audience your issuer puts in this server's tokens")
		}
		if cfg.JWTIssuer != "" && cfg.PublicURL == "" {
			d.c.warn(name, "--jwt-issuer without --public-url: the OAuth protected resource metadata cannot name this server's URL",
				"set --public-url to the URL clients reach this server at")
		}
	case "keys":
		d.apiKeys(name)
	}
	if cfg.PublicURL == "" {
		d.c.warn("webhooks", "no --public-url: Connect cannot report new accounts, so one connected during a session is seen within the accounts cache's 30s",
			"set --public-url to this server's external URL to receive Connect webhooks")
	} else {
		d.c.ok("webhooks", "Connect reports new accounts to %s/webhooks/pipedream/<secret>", strings.TrimRight(cfg.PublicURL, "/"))
	}
	if cfg.TLSCert == "" && !config.IsLoopbackAddr(cfg.Addr) {
		d.c.warn("tls", fmt.Sprintf("serving plain HTTP on %s", cfg.Addr),
			"put a TLS-terminating proxy in front, or set --tls-cert and --tls-key; bearer tokens must not cross networks in clear text")
	}
}

func (d *doctor) hasUserConnection() bool {
	for _, c := range d.s.rt.conns {
		if !c.Admin {
			return true
		}
	}
	return false
}

// apiKeys checks the --api-keys-file of --auth keys.
func (d *doctor) apiKeys(name string) {
	file := d.cfg.APIKeysFile
	data, err := os.ReadFile(file)
	if err != nil {
		d.c.fail(name, diagnosis{detail: "cannot read --api-keys-file: " + err.Error(), fix: "point --api-keys-file at a readable YAML file of key: external_user_id lines"})
		return
	}
	var keys map[string]string
	if err := yaml.Unmarshal(data, &keys); err != nil {
		d.c.fail(name, diagnosis{detail: fmt.Sprintf("%s is not a YAML map of key to external user ID: %v", file, err), fix: "write one `key: external_user_id` per line (a key may be sha256:<hex>)"})
		return
	}
	if len(keys) == 0 {
		d.c.fail(name, diagnosis{detail: file + " holds no key: every request will be refused", fix: "add `key: external_user_id` lines (a key may be sha256:<hex>)"})
		return
	}
	users := map[string]bool{}
	plain := 0
	for k, u := range keys {
		users[u] = true
		if !strings.HasPrefix(k, "sha256:") {
			plain++
		}
	}
	d.c.ok(name, "keys: %s for %s from %s", plural(len(keys), "key", "keys"), plural(len(users), "user", "users"), file)
	if plain > 0 {
		d.c.warn(name, fmt.Sprintf("%s stored in clear in %s", plural(plain, "key is", "keys are"), file),
			"store sha256:<lower-case hex SHA-256 of the key> instead (e.g. printf %s KEY | sha256sum)")
	}
}
