// This file merges the sources into one Config and checks the server settings.

package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/server"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// resolver carries the state of one Resolve call.
type resolver struct {
	cf      *Flags
	set     map[string]bool
	getenv  func(string) string
	file    *fileConfig
	fileDir string // directory of the config file: relative paths in it start there
	// fileFailed is set when the config file could not be read at all; "no
	// connections" would then only repeat that problem.
	fileFailed bool
	probs      problems
	warns      []string
	secrets    map[string]secretRead // secret files read so far, by path
}

func (r *resolver) warn(format string, args ...any) {
	if r.probs.muted {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if !slices.Contains(r.warns, msg) {
		r.warns = append(r.warns, msg)
	}
}

// flagVal is the value of flag name when it was given on the command line.
func (r *resolver) flagVal(name, val string) sourced {
	if r.set[name] {
		return sourced{val, "--" + name}
	}
	return sourced{}
}

func (r *resolver) envVal(name string) sourced {
	return sourced{strings.TrimSpace(r.getenv(name)), name}
}

func fileVal(key, val string) sourced {
	return sourced{val, key + ": in the config file"}
}

// setting resolves a flag that mirrors a top-level file key: flag, file, then the
// flag's default.
func (r *resolver) setting(name, val, key, fileValue string) sourced {
	s := first(r.flagVal(name, val), fileVal(key, fileValue))
	if s.val == "" {
		s = sourced{val, "default of --" + name}
	}
	return s
}

// filePath makes a path from the config file relative to the file's directory.
func (r *resolver) filePath(p string) string {
	if p == "" || filepath.IsAbs(p) || r.fileDir == "" {
		return p
	}
	return filepath.Join(r.fileDir, p)
}

// SandboxApps are the apps of the sandbox's catalog: Default is what --sandbox
// serves when no app is named, All what it can serve when named (and through
// the open catalog).
type SandboxApps struct {
	Default, All []string
}

// Resolve merges flags (which beat env), env (getenv), and the YAML file named
// by --config; sandbox names the sandbox's apps (used with --sandbox). A
// *Error lists every problem found.
func Resolve(cf *Flags, getenv func(string) string, sandbox SandboxApps) (*Config, error) {
	r := &resolver{cf: cf, set: cf.setFlags(), getenv: getenv, file: &fileConfig{}, secrets: map[string]secretRead{}}
	cfg := &Config{ConfigFile: cf.configFile}
	if cf.configFile != "" {
		r.loadFile(cf.configFile)
	}
	f := r.file

	r.resolveServer(cfg)
	defaults := r.defaultLayers()

	cfg.Sandbox = cf.sandbox
	if !r.set["sandbox"] && f.Sandbox != nil {
		cfg.Sandbox = *f.Sandbox
	}
	cfg.TrustClientUser = cf.trustClientUser
	if !r.set["trust-client-user"] && f.TrustClientUser != nil {
		cfg.TrustClientUser = *f.TrustClientUser
	}
	r.resolveOps(cfg)
	cfg.ExternalUserID = first(r.flagVal("external-user-id", cf.externalUserID), r.envVal(EnvExternalUserID), fileVal("external_user_id", f.ExternalUserID)).val
	if cfg.Sandbox && cfg.ExternalUserID == "" {
		cfg.ExternalUserID = sandboxExternalUserID
	}

	cfg.WorkflowDomain = r.workflowDomain()
	cfg.Connections = r.connections(cfg, defaults, sandbox)
	cfg.Workflows = r.workflows(cfg, defaults)
	r.checkToolMode(cfg)
	r.resolveConfirm(cfg)

	switch {
	case cfg.Sandbox:
		cfg.Defaults = Credentials{Environment: sandboxEnvironment}
		r.sandboxEnvironment(defaults)
	case len(cfg.Connections) == 0 && len(cfg.Workflows) == 0 && cf.AllowNoConnections:
		cfg.Defaults = r.credentials("the default credentials", defaults, true)
	default:
		if len(cfg.Connections) == 0 && len(cfg.Workflows) == 0 && !r.fileFailed {
			r.probs.add("no connections: name an app with --app or %s, or add connections: or workflows: to a config file (--config)", EnvApps)
		}
		// Informational: every connection was checked with its own credentials.
		r.probs.muted = true
		cfg.Defaults = r.credentials("", defaults, false)
		r.probs.muted = false
	}

	r.checkIdentity(cfg)
	r.checkUserIDs(cfg)
	r.checkAuth(cfg)

	if p := r.probs.list(); len(p) > 0 {
		return nil, &Error{Problems: p}
	}
	cfg.Warnings = r.warns
	return cfg, nil
}

// resolveServer fills the settings of the process: transport, listener, logging,
// limits and HTTP authentication.
func (r *resolver) resolveServer(cfg *Config) {
	cf, f := r.cf, r.file

	transport := r.setting("transport", cf.transport, "transport", f.Transport)
	cfg.Transport = strings.ToLower(transport.val)
	if !slices.Contains([]string{"stdio", "sse", "http"}, cfg.Transport) {
		r.probs.add("invalid transport %q (from %s): use stdio, sse or http", transport.val, transport.src)
	}

	addr := r.setting("addr", cf.addr, "addr", f.Addr)
	cfg.Addr = addr.val
	if cfg.Transport != "stdio" {
		if _, port, err := net.SplitHostPort(addr.val); err != nil || port == "" {
			r.probs.add("invalid listen address %q (from %s): use host:port, e.g. %s", addr.val, addr.src, defaultAddr)
		}
	}

	if pub := first(r.flagVal("public-url", cf.publicURL), fileVal("public_url", f.PublicURL)); pub.val != "" {
		if u, err := url.Parse(pub.val); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.probs.add("invalid public URL %q (from %s): use the http:// or https:// URL clients reach this server at", pub.val, pub.src)
		}
		cfg.PublicURL = strings.TrimRight(pub.val, "/")
	}

	r.resolveLogging(cfg)

	cfg.CallTimeout = r.duration(r.setting("call-timeout", cf.callTimeout, "call_timeout", f.CallTimeout))
	cfg.ConnectWait = r.duration(r.setting("connect-wait", cf.connectWait, "connect_wait", f.ConnectWait))
	cfg.CatalogTTL = r.duration(r.setting("catalog-ttl", cf.catalogTTL, "catalog_ttl", f.CatalogTTL))
	cfg.ShutdownTimeout = r.duration(r.setting("shutdown-timeout", cf.shutdownTimeout, "shutdown_timeout", f.ShutdownTimeout))

	r.resolveLimits(cfg)
	r.resolveScaleOut(cfg)

	mode := first(r.flagVal("tool-mode", cf.toolMode), r.envVal(EnvToolMode), fileVal("tool_mode", f.ToolMode))
	cfg.ToolMode = strings.ToLower(firstOf(mode.val, defaultToolMode))
	if tools.CheckToolMode(cfg.ToolMode) != nil {
		r.probs.add("invalid tool mode %q (from %s): use direct, catalog or auto", mode.val, mode.src)
	}

	profile := first(r.flagVal("schema-profile", cf.schemaProfile), r.envVal(EnvSchemaProfile), fileVal("schema_profile", f.SchemaProfile))
	if p, err := schema.ParseProfile(firstOf(profile.val, defaultSchemaProfile)); err == nil {
		cfg.SchemaProfile = p
	} else {
		r.probs.add("invalid schema profile %q (from %s): use %s", profile.val, profile.src, strings.Join(schema.ProfileNames(), ", "))
	}

	auth := r.setting("auth", cf.auth, "auth", f.Auth)
	cfg.Auth = strings.ToLower(auth.val)
	if !slices.Contains([]string{"none", "jwt", "keys"}, cfg.Auth) {
		r.probs.add("invalid auth mode %q (from %s): use none, jwt or keys", auth.val, auth.src)
	}
	cfg.APIKeysFile = first(r.flagVal("api-keys-file", cf.apiKeysFile), fileVal("api_keys_file", r.filePath(f.APIKeysFile))).val
	cfg.JWKSURL = first(r.flagVal("jwks-url", cf.jwksURL), fileVal("jwks_url", f.JWKSURL)).val
	cfg.JWTIssuer = first(r.flagVal("jwt-issuer", cf.jwtIssuer), fileVal("jwt_issuer", f.JWTIssuer)).val
	cfg.JWTAudience = first(r.flagVal("jwt-audience", cf.jwtAudience), fileVal("jwt_audience", f.JWTAudience)).val
	cfg.UserClaim = r.setting("user-claim", cf.userClaim, "user_claim", f.UserClaim).val
	cfg.TLSCert = first(r.flagVal("tls-cert", cf.tlsCert), fileVal("tls_cert", r.filePath(f.TLSCert))).val
	cfg.TLSKey = first(r.flagVal("tls-key", cf.tlsKey), fileVal("tls_key", r.filePath(f.TLSKey))).val

	if cfg.Auth == "jwt" {
		cfg.JWTSecret = r.secret("", sourced{r.getenv(EnvJWTSecret), EnvJWTSecret}, r.envVal(EnvJWTSecretFile))
	}

	hook := first(r.flagVal("webhook-secret", cf.webhookSecret), r.envVal(EnvWebhookSecret), fileVal("webhook_secret", f.WebhookSecret))
	if hook.val != "" && !webhookSecretPattern.MatchString(hook.val) {
		r.probs.add("the webhook secret (from %s) must be at least 16 characters of A-Z, a-z, 0-9, - and _ (it is part of a URL path)", hook.src)
	}
	cfg.WebhookSecret = hook.val
}

// resolveLogging sets the log level and format.
func (r *resolver) resolveLogging(cfg *Config) {
	cf, f := r.cf, r.file
	level := r.setting("log-level", cf.logLevel, "log_level", f.LogLevel)
	switch strings.ToLower(level.val) {
	case "debug":
		cfg.LogLevel = slog.LevelDebug
	case "info":
		cfg.LogLevel = slog.LevelInfo
	case "warn", "warning":
		cfg.LogLevel = slog.LevelWarn
	case "error":
		cfg.LogLevel = slog.LevelError
	default:
		r.probs.add("invalid log level %q (from %s): use debug, info, warn or error", level.val, level.src)
	}

	format := r.setting("log-format", cf.logFormat, "log_format", f.LogFormat)
	cfg.LogFormat = strings.ToLower(format.val)
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		r.probs.add("invalid log format %q (from %s): use text or json", format.val, format.src)
	}
}

// resolveLimits sets the size bounds: result text and upstream listings.
func (r *resolver) resolveLimits(cfg *Config) {
	cf, f := r.cf, r.file
	cfg.ResultLimit = r.size("result limit", r.setting("result-limit", cf.resultLimit, "result_limit", f.ResultLimit))
	cfg.MaxListBytes = r.size("listing byte bound", r.setting("max-list-bytes", cf.maxListBytes, "max_list_bytes", f.MaxListBytes))
	items := r.setting("max-list-items", cf.maxListItems, "max_list_items", f.MaxListItems)
	if n, err := strconv.Atoi(strings.TrimSpace(items.val)); err != nil || n <= 0 {
		r.probs.add("invalid listing item bound %q (from %s): use a whole number above 0, such as %s", items.val, items.src, defaultMaxListItems)
	} else {
		cfg.MaxListItems = n
	}
}

// duration parses a positive Go duration; 0 is returned after a problem.
func (r *resolver) duration(s sourced) time.Duration {
	d, err := time.ParseDuration(s.val)
	if err != nil || d <= 0 {
		r.probs.add("invalid duration %q (from %s): use a positive Go duration such as 120s, 10m or 1h30m", s.val, s.src)
		return 0
	}
	return d
}

// size parses a size setting (bytes or with a unit) that must be above 0,
// adding a problem named what when it is not.
func (r *resolver) size(what string, s sourced) int {
	n, err := parseSize(s.val)
	switch {
	case err != nil:
		r.probs.add("invalid %s %q (from %s): %v", what, s.val, s.src, err)
	case n <= 0:
		r.probs.add("invalid %s %q (from %s): it must be more than 0 bytes", what, s.val, s.src)
	default:
		return n
	}
	return 0
}

// checkIdentity checks that every user connection and workflow can learn its user.
func (r *resolver) checkIdentity(cfg *Config) {
	if cfg.ExternalUserID != "" || cfg.Sandbox {
		return
	}
	var users []string
	for _, c := range cfg.Connections {
		if c.OAuth == "user" {
			users = append(users, fmt.Sprintf("connection %q", c.Name))
		}
	}
	for _, w := range cfg.Workflows {
		if w.OAuth == "user" && w.Auth == "oauth" {
			users = append(users, fmt.Sprintf("workflow %q", w.Name))
		}
	}
	if len(users) == 0 {
		return
	}
	switch {
	case cfg.Transport == "stdio" && !cfg.TrustClientUser:
		r.probs.add("no end user for stdio (%s): set --external-user-id or %s (or external_user_id: in the config file)", strings.Join(users, ", "), EnvExternalUserID)
	case cfg.Transport != "stdio" && cfg.Auth == "none":
		r.probs.add("no end user for --auth none (%s): set --external-user-id or %s, or use --auth jwt or --auth keys so each request names its user", strings.Join(users, ", "), EnvExternalUserID)
	}
}

// checkToolMode settles the tool mode when none was chosen, and checks the
// chosen one: an open catalog is served in catalog mode (direct mode is
// refused); the sandbox is served in auto mode, so its realistic apps never
// give a host more than tools.AutoToolLimit tools.
func (r *resolver) checkToolMode(cfg *Config) {
	mode := first(r.flagVal("tool-mode", r.cf.toolMode), r.envVal(EnvToolMode), fileVal("tool_mode", r.file.ToolMode))
	if !slices.ContainsFunc(cfg.Connections, func(c Connection) bool { return c.App == OpenCatalog }) {
		if cfg.Sandbox && mode.val == "" {
			cfg.ToolMode = tools.ToolModeAuto
		}
		return
	}
	switch {
	case mode.val == "":
		cfg.ToolMode = tools.ToolModeCatalog
	case cfg.ToolMode == tools.ToolModeDirect:
		r.probs.add("the open catalog (app %q) reaches every app through catalog mode, and the tool mode is direct (from %s): use --tool-mode catalog or auto", OpenCatalog, mode.src)
	}
}

// resolveConfirm sets each connection's confirmation policy for destructive
// actions: its own (connections: confirm_destructive:), else the server's
// (--confirm-destructive, PD_MCP_CONFIRM_DESTRUCTIVE, confirm_destructive:),
// else off.
func (r *resolver) resolveConfirm(cfg *Config) {
	policy := first(r.flagVal("confirm-destructive", r.cf.confirm.val), r.envVal(EnvConfirmDestructive), fileVal("confirm_destructive", r.file.Confirm))
	val := confirmPolicy(firstOf(policy.val, tools.ConfirmOff))
	if err := tools.CheckConfirmPolicy(val); err != nil {
		r.probs.add("invalid destructive-action confirmation (from %s): %v", policy.src, err)
		return
	}
	cfg.ConfirmDestructive = val
	for i := range cfg.Connections {
		if cfg.Connections[i].ConfirmDestructive == "" {
			cfg.Connections[i].ConfirmDestructive = val
		}
	}
}

// checkUserIDs holds every configured end user to the rule HTTP credentials
// follow (server.CheckUserID): IDs are used exactly as written, so one with
// surrounding space or a control character would name another user.
func (r *resolver) checkUserIDs(cfg *Config) {
	check := func(setting, id string) {
		if id == "" {
			return
		}
		if err := server.CheckUserID(id); err != nil {
			r.probs.add("invalid end user %q (%s): it %v", id, setting, err)
		}
	}
	check("--external-user-id, "+EnvExternalUserID+" or external_user_id:", cfg.ExternalUserID)
	for _, c := range cfg.Connections {
		if c.ExternalUserID != cfg.ExternalUserID {
			check(fmt.Sprintf("external_user_id: of connection %q", c.Name), c.ExternalUserID)
		}
	}
	for _, w := range cfg.Workflows {
		if w.ExternalUserID != cfg.ExternalUserID {
			check(fmt.Sprintf("external_user_id: of workflow %q", w.Name), w.ExternalUserID)
		}
	}
}

// checkAuth checks HTTP authentication and TLS against the transport.
func (r *resolver) checkAuth(cfg *Config) {
	if cfg.Transport == "stdio" {
		if cfg.Auth != "none" {
			r.warn("--auth %s has no effect with --transport stdio", cfg.Auth)
		}
		if cfg.TLSCert != "" || cfg.TLSKey != "" {
			r.warn("--tls-cert and --tls-key have no effect with --transport stdio")
		}
	} else if cfg.TrustClientUser {
		r.probs.add("--trust-client-user is refused with --transport %s: over HTTP and SSE the end user comes from the request's credential alone; remove --trust-client-user (or trust_client_user: from the config file), or use --transport stdio", cfg.Transport)
	}

	r.checkAuthMode(cfg)

	switch {
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		r.probs.add("--tls-cert and --tls-key go together: set both or neither")
	case cfg.TLSCert != "":
		r.checkFile(cfg.TLSCert, "--tls-cert", false)
		r.checkFile(cfg.TLSKey, "--tls-key", true)
	}
}

// checkAuthMode checks what the chosen --auth mode needs.
func (r *resolver) checkAuthMode(cfg *Config) {
	switch cfg.Auth {
	case "none":
		if _, _, err := net.SplitHostPort(cfg.Addr); err == nil && cfg.Transport != "stdio" && !IsLoopbackAddr(cfg.Addr) {
			r.probs.add("--auth none is allowed only on a loopback address, and the listen address is %q: use --auth jwt or --auth keys, or --addr %s", cfg.Addr, defaultAddr)
		}
	case "jwt":
		r.checkJWT(cfg)
	case "keys":
		if cfg.APIKeysFile == "" {
			r.probs.add("--auth keys needs --api-keys-file (a YAML map of API key to external user ID)")
		} else {
			r.checkFile(cfg.APIKeysFile, "--api-keys-file", true)
		}
	}
}

// checkJWT checks the keys of --auth jwt.
func (r *resolver) checkJWT(cfg *Config) {
	if cfg.JWTSecret == "" && cfg.JWKSURL == "" {
		r.probs.add("--auth jwt needs a key: set %s or %s (HS256), or --jwks-url (RS256/ES256)", EnvJWTSecret, EnvJWTSecretFile)
	}
	if cfg.JWTSecret != "" && len(cfg.JWTSecret) < 32 {
		r.warn("the HS256 secret from %s or %s is shorter than 32 bytes; use at least 32 random bytes", EnvJWTSecret, EnvJWTSecretFile)
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && IsLoopbackHost(u.Hostname())) {
			r.probs.add("invalid --jwks-url %q: use an https:// URL (http:// only on a loopback host)", cfg.JWKSURL)
		}
	}
}

// checkFile reports a file that cannot be opened and, when secret, one that others
// may read.
func (r *resolver) checkFile(name, setting string, secret bool) {
	fh, err := os.Open(name)
	if err != nil {
		r.probs.add("cannot read %s: %v", setting, err)
		return
	}
	defer fh.Close()
	if w := modeWarning(fh, name, setting); secret && w != "" {
		r.warn("%s", w)
	}
}

// modeWarning is the warning for a secret file that group or others may read.
func modeWarning(fh *os.File, name, setting string) string {
	if st, err := fh.Stat(); err == nil && st.Mode().Perm()&0o044 != 0 {
		return fmt.Sprintf("%s %s is readable by group or others (mode %#o): chmod 600 %s", setting, name, st.Mode().Perm(), name)
	}
	return ""
}

// IsLoopbackAddr reports whether the host of a host:port listen address is loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && IsLoopbackHost(host)
}

func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// resolveOps resolves --metrics-addr and --pprof (flag, then environment,
// then the file).
func (r *resolver) resolveOps(cfg *Config) {
	cf, f := r.cf, r.file
	addr := first(r.flagVal("metrics-addr", cf.metricsAddr), r.envVal(EnvMetricsAddr), fileVal("metrics_addr", f.MetricsAddr))
	if addr.val != "" {
		if _, port, err := net.SplitHostPort(addr.val); err != nil || port == "" {
			r.probs.add("invalid metrics address %q (from %s): use host:port, e.g. 127.0.0.1:9464", addr.val, addr.src)
		}
	}
	cfg.MetricsAddr = addr.val
	switch env := strings.ToLower(r.envVal(EnvPprof).val); {
	case r.set["pprof"]:
		cfg.Pprof = cf.pprof
	case env != "":
		on, err := strconv.ParseBool(env)
		if err != nil {
			r.probs.add("invalid %s %q: use true or false", EnvPprof, env)
		}
		cfg.Pprof = on
	case f.Pprof != nil:
		cfg.Pprof = *f.Pprof
	}
}
