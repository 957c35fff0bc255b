// This file resolves the configuration of one run. Three sources are merged, flags
// first, then environment variables, then the YAML file named by --config, then the
// built-in defaults; a setting inside a YAML connection or workflow beats all of them
// for that connection or workflow. Every problem is collected and reported at once,
// each naming the setting and the ways to set it, because a server that fails one
// missing variable at a time wastes a restart per variable.

package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"go.yaml.in/yaml/v3"
)

// Environment variables read by resolveConfig. The PIPEDREAM_ names are the ones the
// Pipedream SDKs use, so one environment serves both.
const (
	envClientID         = "PIPEDREAM_CLIENT_ID"
	envClientSecret     = "PIPEDREAM_CLIENT_SECRET"
	envClientSecretFile = "PIPEDREAM_CLIENT_SECRET_FILE"
	envProjectID        = "PIPEDREAM_PROJECT_ID"
	envEnvironment      = "PIPEDREAM_PROJECT_ENVIRONMENT"
	envBaseURL          = "PIPEDREAM_BASE_URL"
	envApps             = "PIPEDREAM_APPS"
	envExternalUserID   = "PIPEDREAM_EXTERNAL_USER_ID"
	envJWTSecret        = "PD_MCP_JWT_SECRET"
	envJWTSecretFile    = "PD_MCP_JWT_SECRET_FILE"
	envWebhookSecret    = "PD_MCP_WEBHOOK_SECRET"
)

// Defaults of the settings that have one.
const (
	defaultTransport       = "stdio"
	defaultAddr            = "127.0.0.1:8080"
	defaultLogLevel        = "info"
	defaultLogFormat       = "text"
	defaultCallTimeout     = "120s"
	defaultResultLimit     = "64KiB"
	defaultCatalogTTL      = "10m"
	defaultShutdownTimeout = "30s"
	defaultAuth            = "none"
	defaultUserClaim       = "sub"
	defaultOAuth           = "user"
	defaultWorkflowAuth    = "oauth"
	defaultBaseURL         = "https://api.pipedream.com"
	defaultWorkflowDomain  = "m.pipedream.net"
	sandboxEnvironment     = "development"
	sandboxExternalUserID  = "demo-user"
)

var (
	projectIDPattern      = regexp.MustCompile(`^proj_[a-zA-Z0-9]+$`)
	connectionNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,32}$`)
	appSlugPattern        = regexp.MustCompile(`^[a-z0-9_]+$`)
	toolNamePattern       = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	workflowIDPattern     = regexp.MustCompile(`^e[no][a-zA-Z0-9]+$`)
	envNamePattern        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	webhookSecretPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{16,}$`)
)

// helperToolNames are the server-wide tools; a workflow may not take their names.
var helperToolNames = []string{"pipedream_list_options", "pipedream_describe", "pipedream_accounts"}

// Config is the whole resolved configuration of one run.
type Config struct {
	Transport       string        // stdio | sse | http
	Addr            string        // listen address of sse/http, default 127.0.0.1:8080
	PublicURL       string        // external origin of this server, without a trailing slash
	LogLevel        slog.Level    // --log-level debug|info|warn|error, default info
	LogFormat       string        // text | json, default text
	Sandbox         bool          // serve the embedded simulated Connect API
	CallTimeout     time.Duration // deadline of one tool call, default 120s
	ResultLimit     int           // bytes of result text, default 64 KiB
	CatalogTTL      time.Duration // catalog refresh period, default 10m
	ShutdownTimeout time.Duration // grace period for calls in flight, default 30s
	ExternalUserID  string        // the stdio end user / default user for --auth none
	TrustClientUser bool          // --trust-client-user: honour _meta user ids on stdio
	Auth            string        // none | jwt | keys (default none)
	APIKeysFile     string        // --api-keys-file
	JWTSecret       string        // PD_MCP_JWT_SECRET or PD_MCP_JWT_SECRET_FILE (never logged)
	JWKSURL         string        // --jwks-url
	JWTIssuer       string        // --jwt-issuer
	JWTAudience     string        // --jwt-audience
	UserClaim       string        // --user-claim, default sub
	WebhookSecret   string        // --webhook-secret / PD_MCP_WEBHOOK_SECRET (never logged)
	TLSCert         string        // --tls-cert
	TLSKey          string        // --tls-key
	WorkflowDomain  string        // yaml workflow_domain, default m.pipedream.net
	ConfigFile      string        // --config path (kept for reload)
	// Defaults are the credentials from flags, environment and the file's top level:
	// what a connection that names none of its own gets. Commands that need no
	// connection (apps) use them directly.
	Defaults    Credentials
	Connections []Connection
	Workflows   []Workflow
	Warnings    []string // non-fatal notes (e.g. secret file readable by others)
}

// Credentials are one OAuth client and the project and environment it acts in.
type Credentials struct {
	ClientID     string
	ClientSecret string // never logged
	ProjectID    string // proj_...
	Environment  string // development | production
	BaseURL      string // API origin, default https://api.pipedream.com
}

// Connection is one Pipedream app served as a set of tools.
type Connection struct {
	App            string // app slug, e.g. slack
	Name           string // tool-name prefix, default the app slug
	OAuth          string // user | admin (default user)
	ExternalUserID string // the service identity of an admin connection; empty for user
	Credentials           // per connection, falling back to flags/env
	Include        []string
	Exclude        []string // globs on the full action key (path.Match syntax)
	ReadOnly       bool     // keep only actions annotated readOnlyHint
}

// Workflow is one deployed HTTP-triggered workflow served as a tool.
type Workflow struct {
	Name           string
	Endpoint       string // full URL; an endpoint ID is expanded onto the workflow domain
	Description    string
	InputSchema    json.RawMessage // optional JSON Schema (YAML mapping converted to JSON)
	OAuth          string          // user | admin (default user)
	ExternalUserID string          // the service identity of an admin workflow
	Auth           string          // oauth | bearer | none (default oauth)
	BearerToken    string          // for auth: bearer (bearer_token / bearer_token_file); never logged
	Credentials                    // for auth: oauth, falling back to flags/env
}

// LogValue lists the settings without any secret, so a Config can be logged whole.
func (c *Config) LogValue() slog.Value {
	conns := make([]string, len(c.Connections))
	for i, cn := range c.Connections {
		conns[i] = cn.Name
	}
	wfs := make([]string, len(c.Workflows))
	for i, w := range c.Workflows {
		wfs[i] = w.Name
	}
	return slog.GroupValue(
		slog.String("transport", c.Transport),
		slog.String("addr", c.Addr),
		slog.String("public_url", c.PublicURL),
		slog.Bool("sandbox", c.Sandbox),
		slog.String("auth", c.Auth),
		slog.Bool("jwt_secret_set", c.JWTSecret != ""),
		slog.String("external_user_id", c.ExternalUserID),
		slog.Any("connections", conns),
		slog.Any("workflows", wfs),
		slog.String("config_file", c.ConfigFile),
	)
}

// LogValue shows the credentials with the secret replaced by whether it is set.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", c.ClientID),
		slog.Bool("client_secret_set", c.ClientSecret != ""),
		slog.String("project_id", c.ProjectID),
		slog.String("environment", c.Environment),
		slog.String("base_url", c.BaseURL),
	)
}

// LogValue describes the connection without its secret. It is declared so that the
// one promoted from Credentials does not stand for the whole connection.
func (c Connection) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("app", c.App),
		slog.String("oauth", c.OAuth),
		slog.String("external_user_id", c.ExternalUserID),
		slog.Any("credentials", c.Credentials),
	)
}

// LogValue describes the workflow without its secrets (see Connection.LogValue).
func (w Workflow) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", w.Name),
		slog.String("endpoint", w.Endpoint),
		slog.String("auth", w.Auth),
		slog.String("oauth", w.OAuth),
		slog.Any("credentials", w.Credentials),
	)
}

// configError lists every configuration problem; main maps it to exit status 2.
type configError struct {
	Problems []string
}

func (e *configError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// appList is the value of the repeatable --app flag; each use may hold a comma list.
type appList []string

func (a *appList) String() string { return strings.Join(*a, ",") }

func (a *appList) Set(s string) error {
	*a = append(*a, splitList(s)...)
	return nil
}

// commonFlags holds the flag values shared by every command (serve, tools, call, apps,
// accounts, doctor). Durations and sizes are kept as text and parsed by resolveConfig,
// so a bad value is reported with every other problem instead of alone.
type commonFlags struct {
	fs *flag.FlagSet

	apps            appList
	externalUserID  string
	environment     string
	oauth           string
	projectID       string
	clientID        string
	baseURL         string
	configFile      string
	transport       string
	addr            string
	publicURL       string
	logLevel        string
	logFormat       string
	sandbox         bool
	callTimeout     string
	resultLimit     string
	catalogTTL      string
	shutdownTimeout string
	trustClientUser bool
	auth            string
	apiKeysFile     string
	jwksURL         string
	jwtIssuer       string
	jwtAudience     string
	userClaim       string
	webhookSecret   string
	tlsCert         string
	tlsKey          string

	// allowNoConnections lets a command that needs no connection (apps) resolve a
	// configuration without any connection or workflow; the default credentials are
	// then validated instead.
	allowNoConnections bool
}

// registerCommonFlags defines the shared flags on fs and returns where their values
// land. There is deliberately no --client-secret flag: command lines are visible to
// every local user, so secrets come only from the environment or files.
func registerCommonFlags(fs *flag.FlagSet) *commonFlags {
	cf := &commonFlags{fs: fs}
	fs.Var(&cf.apps, "app", "app slug to serve, one connection each; repeat or comma-separate (env "+envApps+")")
	fs.StringVar(&cf.externalUserID, "external-user-id", "", "end user of stdio calls and --auth none, and service identity of admin connections (env "+envExternalUserID+")")
	fs.StringVar(&cf.environment, "environment", "", "Pipedream project environment: development or production (env "+envEnvironment+")")
	fs.StringVar(&cf.oauth, "oauth", defaultOAuth, "OAuth mode of --app connections: user (each caller's accounts) or admin (one service identity)")
	fs.StringVar(&cf.projectID, "project-id", "", "Pipedream project ID, proj_... (env "+envProjectID+")")
	fs.StringVar(&cf.clientID, "client-id", "", "OAuth client ID (env "+envClientID+"); the secret has no flag: set "+envClientSecret+" or "+envClientSecretFile)
	fs.StringVar(&cf.baseURL, "base-url", "", "Pipedream API origin (env "+envBaseURL+", default "+defaultBaseURL+")")
	fs.StringVar(&cf.configFile, "config", "", "YAML configuration file (connections, workflows, defaults)")
	fs.StringVar(&cf.transport, "transport", defaultTransport, "MCP transport: stdio, sse or http")
	fs.StringVar(&cf.addr, "addr", defaultAddr, "listen address of the sse and http transports")
	fs.StringVar(&cf.publicURL, "public-url", "", "external URL of this server, for Connect webhooks and OAuth metadata")
	fs.StringVar(&cf.logLevel, "log-level", defaultLogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&cf.logFormat, "log-format", defaultLogFormat, "log format: text or json")
	fs.BoolVar(&cf.sandbox, "sandbox", false, "use the embedded simulated Connect API (no Pipedream account needed)")
	fs.StringVar(&cf.callTimeout, "call-timeout", defaultCallTimeout, "deadline of one tool call (Go duration)")
	fs.StringVar(&cf.resultLimit, "result-limit", defaultResultLimit, "largest result text sent to the client (bytes, or with a unit: 64KiB, 1MiB)")
	fs.StringVar(&cf.catalogTTL, "catalog-ttl", defaultCatalogTTL, "how long the action catalog is served before a background refresh")
	fs.StringVar(&cf.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "how long calls in flight may finish after SIGINT/SIGTERM")
	fs.BoolVar(&cf.trustClientUser, "trust-client-user", false, "stdio: honour _meta[\"pipedream.com/external_user_id\"] sent by the client")
	fs.StringVar(&cf.auth, "auth", defaultAuth, "HTTP authentication: none (loopback only), jwt or keys")
	fs.StringVar(&cf.apiKeysFile, "api-keys-file", "", "--auth keys: YAML map of API key (or sha256:<hex>) to external user ID")
	fs.StringVar(&cf.jwksURL, "jwks-url", "", "--auth jwt: JWKS URL for RS256/ES256 tokens (HS256 uses "+envJWTSecret+" or "+envJWTSecretFile+")")
	fs.StringVar(&cf.jwtIssuer, "jwt-issuer", "", "--auth jwt: required iss claim")
	fs.StringVar(&cf.jwtAudience, "jwt-audience", "", "--auth jwt: required aud claim")
	fs.StringVar(&cf.userClaim, "user-claim", defaultUserClaim, "--auth jwt: claim that holds the external user ID")
	fs.StringVar(&cf.webhookSecret, "webhook-secret", "", "path secret of the Connect webhook URL (env "+envWebhookSecret+"; default: generated at start)")
	fs.StringVar(&cf.tlsCert, "tls-cert", "", "TLS certificate file (sse/http)")
	fs.StringVar(&cf.tlsKey, "tls-key", "", "TLS private key file (sse/http)")
	return cf
}

// setFlags reports which flags were given on the command line; only those beat the
// environment and the file.
func (cf *commonFlags) setFlags() map[string]bool {
	set := map[string]bool{}
	if cf.fs != nil {
		cf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	}
	return set
}

// fileConfig is the YAML file. Top-level settings mirror the flags; flags and
// environment variables beat them.
type fileConfig struct {
	Connections    []fileConnection `yaml:"connections"`
	Workflows      []fileWorkflow   `yaml:"workflows"`
	WorkflowDomain string           `yaml:"workflow_domain"`

	Transport       string `yaml:"transport"`
	Addr            string `yaml:"addr"`
	PublicURL       string `yaml:"public_url"`
	LogLevel        string `yaml:"log_level"`
	LogFormat       string `yaml:"log_format"`
	Sandbox         *bool  `yaml:"sandbox"`
	CallTimeout     string `yaml:"call_timeout"`
	ResultLimit     string `yaml:"result_limit"`
	CatalogTTL      string `yaml:"catalog_ttl"`
	ShutdownTimeout string `yaml:"shutdown_timeout"`
	ExternalUserID  string `yaml:"external_user_id"`
	TrustClientUser *bool  `yaml:"trust_client_user"`
	Auth            string `yaml:"auth"`
	APIKeysFile     string `yaml:"api_keys_file"`
	JWKSURL         string `yaml:"jwks_url"`
	JWTIssuer       string `yaml:"jwt_issuer"`
	JWTAudience     string `yaml:"jwt_audience"`
	UserClaim       string `yaml:"user_claim"`
	WebhookSecret   string `yaml:"webhook_secret"`
	TLSCert         string `yaml:"tls_cert"`
	TLSKey          string `yaml:"tls_key"`

	fileCredentials `yaml:",inline"`
}

type fileCredentials struct {
	ClientID         string `yaml:"client_id"`
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	ProjectID        string `yaml:"project_id"`
	Environment      string `yaml:"environment"`
	BaseURL          string `yaml:"base_url"`
}

type fileConnection struct {
	App            string   `yaml:"app"`
	Name           string   `yaml:"name"`
	OAuth          string   `yaml:"oauth"`
	ExternalUserID string   `yaml:"external_user_id"`
	Include        []string `yaml:"include"`
	Exclude        []string `yaml:"exclude"`
	ReadOnly       bool     `yaml:"read_only"`

	fileCredentials `yaml:",inline"`
}

type fileWorkflow struct {
	Name            string    `yaml:"name"`
	Endpoint        string    `yaml:"endpoint"`
	Description     string    `yaml:"description"`
	InputSchema     yaml.Node `yaml:"input_schema"`
	OAuth           string    `yaml:"oauth"`
	ExternalUserID  string    `yaml:"external_user_id"`
	Auth            string    `yaml:"auth"`
	BearerToken     string    `yaml:"bearer_token"`
	BearerTokenFile string    `yaml:"bearer_token_file"`

	fileCredentials `yaml:",inline"`
}

// problems collects messages in order of appearance. Messages added with owned share
// one line per template, naming every connection or workflow it applies to.
type problems struct {
	muted  bool // drop everything: used while resolving informational values
	items  []string
	owners map[int][]string
	index  map[string]int
}

func (p *problems) add(format string, args ...any) {
	if p.muted {
		return
	}
	p.items = append(p.items, fmt.Sprintf(format, args...))
}

// owned records a problem of owner (`connection "slack"`); template holds one %s,
// which becomes the list of owners.
func (p *problems) owned(owner, template string) {
	if p.muted {
		return
	}
	if p.index == nil {
		p.index, p.owners = map[string]int{}, map[int][]string{}
	}
	i, ok := p.index[template]
	if !ok {
		i = len(p.items)
		p.index[template] = i
		p.items = append(p.items, template)
	}
	if !slices.Contains(p.owners[i], owner) {
		p.owners[i] = append(p.owners[i], owner)
	}
}

// ownedText records text as a problem of owner, or alone when owner is empty; the
// owner is appended in parentheses.
func (p *problems) ownedText(owner, text string) {
	if owner == "" {
		p.add("%s", text)
		return
	}
	p.owned(owner, strings.ReplaceAll(text, "%", "%%")+" (%s)")
}

func (p *problems) list() []string {
	out := make([]string, len(p.items))
	for i, s := range p.items {
		if o, ok := p.owners[i]; ok {
			s = fmt.Sprintf(s, strings.Join(o, ", "))
		}
		out[i] = s
	}
	return out
}

// sourced is a setting's value and where it came from, for messages.
type sourced struct {
	val, src string
}

// first returns the first setting that has a value, or the zero sourced.
func first(vals ...sourced) sourced {
	for _, v := range vals {
		if v.val != "" {
			return v
		}
	}
	return sourced{}
}

// resolver carries the state of one resolveConfig call.
type resolver struct {
	cf      *commonFlags
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

type secretRead struct {
	val  string
	err  string // problem text without the owner, empty when read
	warn string // mode warning, empty when only the owner may read it
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

// resolveConfig merges flags (which beat env), env (getenv), and the YAML file named
// by --config. sandboxApps is the list of sandbox app slugs (used when --sandbox and
// no app is named). A *configError lists every problem found.
func resolveConfig(cf *commonFlags, getenv func(string) string, sandboxApps []string) (*Config, error) {
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
	cfg.ExternalUserID = first(r.flagVal("external-user-id", cf.externalUserID), r.envVal(envExternalUserID), fileVal("external_user_id", f.ExternalUserID)).val
	if cfg.Sandbox && cfg.ExternalUserID == "" {
		cfg.ExternalUserID = sandboxExternalUserID
	}

	cfg.WorkflowDomain = r.workflowDomain()
	cfg.Connections = r.connections(cfg, defaults, sandboxApps)
	cfg.Workflows = r.workflows(cfg, defaults)

	switch {
	case cfg.Sandbox:
		cfg.Defaults = Credentials{Environment: sandboxEnvironment}
		r.sandboxEnvironment(defaults)
	case len(cfg.Connections) == 0 && len(cfg.Workflows) == 0 && cf.allowNoConnections:
		cfg.Defaults = r.credentials("the default credentials", defaults, true)
	default:
		if len(cfg.Connections) == 0 && len(cfg.Workflows) == 0 && !r.fileFailed {
			r.probs.add("no connections: name an app with --app or %s, or add connections: or workflows: to a config file (--config)", envApps)
		}
		// Informational: every connection was checked with its own credentials.
		r.probs.muted = true
		cfg.Defaults = r.credentials("", defaults, false)
		r.probs.muted = false
	}

	r.checkIdentity(cfg)
	r.checkAuth(cfg)

	if p := r.probs.list(); len(p) > 0 {
		return nil, &configError{Problems: p}
	}
	cfg.Warnings = r.warns
	return cfg, nil
}

// loadFile reads, expands and decodes the config file into r.file.
func (r *resolver) loadFile(name string) {
	data, err := os.ReadFile(name)
	if err != nil {
		r.fileFailed = true
		r.probs.add("cannot read the config file (--config): %v", err)
		return
	}
	r.fileDir = filepath.Dir(name)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.fileFailed = true
		r.probs.add("config file %s is not valid YAML: %v", name, err)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // an empty file configures nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		r.fileFailed = true
		r.probs.add("config file %s line %d: the top level must be a mapping (connections:, workflows:, ...)", name, root.Line)
		return
	}
	r.expand(root)
	checkKeys(root, reflect.TypeFor[fileConfig](), "the top level", &r.probs)
	// Decode even after a problem, so the rest of the file is checked too.
	if err := root.Decode(r.file); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				r.probs.add("config file %s", e)
			}
		} else {
			r.probs.add("config file: %v", err)
		}
	}
}

// expand replaces ${VAR} in every scalar value (not keys) with getenv(VAR). An unset
// or empty variable is a problem naming it and its line; $${ stands for a literal ${.
func (r *resolver) expand(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		out, changed := r.expandString(n.Value, n.Line)
		if changed {
			n.Value = out
			if n.Style == 0 {
				n.Tag = "" // re-resolve: ${PORT} may stand for an int, ${RO} for a bool
			}
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			r.expand(n.Content[i])
		}
	default:
		for _, c := range n.Content {
			r.expand(c)
		}
	}
}

func (r *resolver) expandString(s string, line int) (string, bool) {
	var b strings.Builder
	changed := false
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), changed
		}
		changed = true
		if i > 0 && s[i-1] == '$' { // $${ is a literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			r.probs.add("config file line %d: unterminated ${ (write $${ for a literal ${)", line)
			return "", true
		}
		name := s[i+2 : i+end]
		switch {
		case !envNamePattern.MatchString(name):
			r.probs.add("config file line %d: ${%s} is not a valid variable reference (use ${NAME}, or $${ for a literal ${)", line, name)
		case r.getenv(name) == "":
			r.probs.add("config file line %d: environment variable %s is not set (used as ${%s}): set it, or edit the file", line, name, name)
			b.WriteString(s[i : i+end+1]) // keep the reference, so the value does not look missing too
		default:
			b.WriteString(r.getenv(name))
		}
		s = s[i+end+1:]
	}
}

// checkKeys reports mapping keys that no field of t (a struct) is named after, and
// recurses into nested structs and lists of structs.
func checkKeys(n *yaml.Node, t reflect.Type, where string, p *problems) {
	if n.Kind != yaml.MappingNode {
		return // the decoder reports the wrong kind
	}
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" { // <<: *shared merges another mapping's keys
			for _, m := range append([]*yaml.Node{v}, v.Content...) {
				if m.Kind == yaml.AliasNode {
					checkKeys(m.Alias, t, where, p)
				}
			}
			continue
		}
		ft, ok := fields[k.Value]
		if !ok && t == reflect.TypeFor[fileConfig]() && strings.HasPrefix(k.Value, "x-") {
			continue // x-... at the top level holds anchors to merge, as in Compose files
		}
		if !ok {
			known := make([]string, 0, len(fields))
			for name := range fields {
				known = append(known, name)
			}
			slices.Sort(known)
			p.add("config file line %d: unknown key %q in %s (known keys: %s)", k.Line, k.Value, where, strings.Join(known, ", "))
			continue
		}
		switch {
		case ft == reflect.TypeFor[yaml.Node]():
		case ft.Kind() == reflect.Struct:
			checkKeys(v, ft, fmt.Sprintf("%s %s", where, k.Value), p)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && v.Kind == yaml.SequenceNode:
			for j, item := range v.Content {
				checkKeys(item, ft.Elem(), fmt.Sprintf("%s item %d", strings.TrimSuffix(k.Value, "s"), j+1), p)
			}
		}
	}
}

// yamlFields maps the yaml key of every field of struct t, inlined ones included, to
// the field's type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
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

	cfg.CallTimeout = r.duration(r.setting("call-timeout", cf.callTimeout, "call_timeout", f.CallTimeout))
	cfg.CatalogTTL = r.duration(r.setting("catalog-ttl", cf.catalogTTL, "catalog_ttl", f.CatalogTTL))
	cfg.ShutdownTimeout = r.duration(r.setting("shutdown-timeout", cf.shutdownTimeout, "shutdown_timeout", f.ShutdownTimeout))

	limit := r.setting("result-limit", cf.resultLimit, "result_limit", f.ResultLimit)
	n, err := parseSize(limit.val)
	switch {
	case err != nil:
		r.probs.add("invalid result limit %q (from %s): %v", limit.val, limit.src, err)
	case n <= 0:
		r.probs.add("invalid result limit %q (from %s): it must be more than 0 bytes", limit.val, limit.src)
	default:
		cfg.ResultLimit = n
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
		cfg.JWTSecret = r.secret("", sourced{r.getenv(envJWTSecret), envJWTSecret}, r.envVal(envJWTSecretFile))
	}

	hook := first(r.flagVal("webhook-secret", cf.webhookSecret), r.envVal(envWebhookSecret), fileVal("webhook_secret", f.WebhookSecret))
	if hook.val != "" && !webhookSecretPattern.MatchString(hook.val) {
		r.probs.add("the webhook secret (from %s) must be at least 16 characters of A-Z, a-z, 0-9, - and _ (it is part of a URL path)", hook.src)
	}
	cfg.WebhookSecret = hook.val
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
		r.probs.add("no end user for stdio (%s): set --external-user-id or %s (or external_user_id: in the config file)", strings.Join(users, ", "), envExternalUserID)
	case cfg.Transport != "stdio" && cfg.Auth == "none":
		r.probs.add("no end user for --auth none (%s): set --external-user-id or %s, or use --auth jwt or --auth keys so each request names its user", strings.Join(users, ", "), envExternalUserID)
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

	switch cfg.Auth {
	case "none":
		if _, _, err := net.SplitHostPort(cfg.Addr); err == nil && cfg.Transport != "stdio" && !isLoopbackAddr(cfg.Addr) {
			r.probs.add("--auth none is allowed only on a loopback address, and the listen address is %q: use --auth jwt or --auth keys, or --addr %s", cfg.Addr, defaultAddr)
		}
	case "jwt":
		if cfg.JWTSecret == "" && cfg.JWKSURL == "" {
			r.probs.add("--auth jwt needs a key: set %s or %s (HS256), or --jwks-url (RS256/ES256)", envJWTSecret, envJWTSecretFile)
		}
		if cfg.JWTSecret != "" && len(cfg.JWTSecret) < 32 {
			r.warn("the HS256 secret from %s or %s is shorter than 32 bytes; use at least 32 random bytes", envJWTSecret, envJWTSecretFile)
		}
		if cfg.JWKSURL != "" {
			u, err := url.Parse(cfg.JWKSURL)
			if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
				r.probs.add("invalid --jwks-url %q: use an https:// URL (http:// only on a loopback host)", cfg.JWKSURL)
			}
		}
	case "keys":
		if cfg.APIKeysFile == "" {
			r.probs.add("--auth keys needs --api-keys-file (a YAML map of API key to external user ID)")
		} else {
			r.checkFile(cfg.APIKeysFile, "--api-keys-file", true)
		}
	}

	switch {
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		r.probs.add("--tls-cert and --tls-key go together: set both or neither")
	case cfg.TLSCert != "":
		r.checkFile(cfg.TLSCert, "--tls-cert", false)
		r.checkFile(cfg.TLSKey, "--tls-key", true)
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

// isLoopbackAddr reports whether the host of a host:port listen address is loopback.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credLayer is one place credentials can come from.
type credLayer struct {
	clientID, secret, secretFile, projectID, environment, baseURL sourced
}

// defaultLayers are the credential sources below a connection's own: flags, then
// environment, then the file's top level.
func (r *resolver) defaultLayers() []credLayer {
	cf, f := r.cf, r.file
	return []credLayer{
		{
			clientID:    r.flagVal("client-id", cf.clientID),
			projectID:   r.flagVal("project-id", cf.projectID),
			environment: r.flagVal("environment", cf.environment),
			baseURL:     r.flagVal("base-url", cf.baseURL),
		},
		{
			clientID:    r.envVal(envClientID),
			secret:      sourced{r.getenv(envClientSecret), envClientSecret},
			secretFile:  r.envVal(envClientSecretFile),
			projectID:   r.envVal(envProjectID),
			environment: r.envVal(envEnvironment),
			baseURL:     r.envVal(envBaseURL),
		},
		r.fileLayer(f.fileCredentials, ""),
	}
}

// fileLayer is the credentials of a file section; where names the section in sources.
func (r *resolver) fileLayer(c fileCredentials, where string) credLayer {
	src := func(key string) string {
		if where == "" {
			return key + ": in the config file"
		}
		return key + ": of " + where + " in the config file"
	}
	return credLayer{
		clientID:    sourced{c.ClientID, src("client_id")},
		secret:      sourced{c.ClientSecret, src("client_secret")},
		secretFile:  sourced{r.filePath(c.ClientSecretFile), src("client_secret_file")},
		projectID:   sourced{c.ProjectID, src("project_id")},
		environment: sourced{c.Environment, src("environment")},
		baseURL:     sourced{c.BaseURL, src("base_url")},
	}
}

// credentials resolves and validates the credentials of owner from layers, first
// wins. With required false, missing values are left empty without a problem.
func (r *resolver) credentials(owner string, layers []credLayer, required bool) Credentials {
	pick := func(get func(credLayer) sourced) sourced {
		vals := make([]sourced, len(layers))
		for i, l := range layers {
			vals[i] = get(l)
		}
		return first(vals...)
	}
	id := pick(func(l credLayer) sourced { return l.clientID })
	project := pick(func(l credLayer) sourced { return l.projectID })
	env := pick(func(l credLayer) sourced { return l.environment })
	base := pick(func(l credLayer) sourced { return l.baseURL })
	c := Credentials{ClientID: id.val, ProjectID: project.val, Environment: env.val, BaseURL: base.val}
	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL
	}
	for _, l := range layers {
		if l.secret.val != "" || l.secretFile.val != "" {
			c.ClientSecret = r.secret(owner, l.secret, l.secretFile)
			break
		}
	}
	if !required {
		return c
	}

	missing := func(env, flagName, key, note string) {
		r.probs.owned(owner, fmt.Sprintf("%s is not set (%%s): set the environment variable, %s, or %s: in the config file%s", env, flagName, key, note))
	}
	if c.ClientID == "" {
		missing(envClientID, "--client-id", "client_id", "")
	}
	if c.ClientSecret == "" && !r.hasSecretSource(layers) {
		r.probs.owned(owner, fmt.Sprintf("%s is not set (%%s): set it or %s, or client_secret: or client_secret_file: in the config file (there is no flag, so the secret stays out of process lists)", envClientSecret, envClientSecretFile))
	}
	if c.ProjectID == "" {
		missing(envProjectID, "--project-id", "project_id", "")
	} else if !projectIDPattern.MatchString(c.ProjectID) {
		r.probs.owned(owner, fmt.Sprintf("invalid project ID %q (from %s, %%s): it looks like proj_abc123 (Pipedream project settings)", c.ProjectID, project.src))
	}
	if c.Environment == "" {
		missing(envEnvironment, "--environment", "environment", " (development or production)")
	} else if c.Environment != "development" && c.Environment != "production" {
		r.probs.owned(owner, fmt.Sprintf("invalid environment %q (from %s, %%s): use development or production", c.Environment, env.src))
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := c.BaseURL
		if err == nil {
			shown = u.Redacted()
		}
		r.probs.owned(owner, fmt.Sprintf("invalid base URL %q (from %s, %%s): use an http:// or https:// origin such as %s", shown, base.src, defaultBaseURL))
	}
	return c
}

func (r *resolver) hasSecretSource(layers []credLayer) bool {
	for _, l := range layers {
		if l.secret.val != "" || l.secretFile.val != "" {
			return true
		}
	}
	return false
}

// secret returns the secret given directly or read from a file (trailing newlines
// trimmed). Giving both is a problem; a file others can read is a warning. Neither
// message ever holds the secret. owner is empty for process-wide secrets.
func (r *resolver) secret(owner string, direct, file sourced) string {
	if direct.val != "" && file.val != "" {
		r.probs.ownedText(owner, fmt.Sprintf("both %s and %s are set: set only one", direct.src, file.src))
		return ""
	}
	if file.val == "" {
		return direct.val
	}
	got, ok := r.secrets[file.val]
	if !ok {
		got = readSecret(file)
		r.secrets[file.val] = got
	}
	if got.warn != "" {
		r.warn("%s", got.warn)
	}
	if got.err != "" {
		r.probs.ownedText(owner, got.err)
	}
	return got.val
}

// readSecret reads a secret file; its problem and warning are kept for every owner
// that names the same file.
func readSecret(file sourced) secretRead {
	fh, err := os.Open(file.val)
	if err != nil {
		return secretRead{err: fmt.Sprintf("cannot read the secret file from %s: %v", file.src, err)}
	}
	defer fh.Close()
	var sr secretRead
	sr.warn = modeWarning(fh, file.val, file.src)
	data, err := io.ReadAll(io.LimitReader(fh, 1<<20))
	if err != nil {
		sr.err = fmt.Sprintf("cannot read the secret file from %s: %v", file.src, err)
		return sr
	}
	sr.val = strings.TrimRight(string(data), "\r\n")
	if sr.val == "" {
		sr.err = fmt.Sprintf("the secret file %s (from %s) is empty", file.val, file.src)
	}
	return sr
}

// sandboxEnvironment warns when an environment other than development was asked for.
func (r *resolver) sandboxEnvironment(layers []credLayer) {
	for _, l := range layers {
		if e := l.environment; e.val != "" && e.val != sandboxEnvironment {
			r.warn("--sandbox always uses the %s environment; ignoring %q from %s", sandboxEnvironment, e.val, e.src)
		}
	}
	for _, c := range r.file.Connections {
		if c.Environment != "" && c.Environment != sandboxEnvironment {
			r.warn("--sandbox always uses the %s environment; ignoring %q of connection %q", sandboxEnvironment, c.Environment, firstOf(c.Name, c.App))
		}
	}
}

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// connections builds the connections from --app/PIPEDREAM_APPS (the flag beats the
// variable) and the file's connections: list; with --sandbox and none named, one per
// sandbox app.
func (r *resolver) connections(cfg *Config, defaults []credLayer, sandboxApps []string) []Connection {
	cf := r.cf
	apps := sourced{strings.Join(cf.apps, ","), "--app"}
	if len(cf.apps) == 0 {
		apps = sourced{r.getenv(envApps), envApps}
	}
	slugs := splitList(apps.val)
	if cfg.Sandbox && len(slugs) == 0 && len(r.file.Connections) == 0 {
		slugs, apps.src = sandboxApps, "the sandbox catalog"
	}

	oauth := strings.ToLower(cf.oauth)
	if oauth != "user" && oauth != "admin" {
		r.probs.add("invalid --oauth %q: use user or admin", cf.oauth)
		oauth = defaultOAuth
	}

	var out []Connection
	seen := map[string]string{} // name -> where it was defined
	addConn := func(c Connection, where string) {
		owner := fmt.Sprintf("connection %q", c.Name)
		if prev, dup := seen[c.Name]; dup {
			r.probs.add("connection name %q is used twice (%s and %s): give one a different name: in the config file", c.Name, prev, where)
			return
		}
		seen[c.Name] = where
		if !connectionNamePattern.MatchString(c.Name) {
			r.probs.add("invalid connection name %q (%s): use 1 to 32 of a-z, A-Z, 0-9, _ and -", c.Name, where)
		}
		if !appSlugPattern.MatchString(c.App) {
			r.probs.add("invalid app slug %q (%s): slugs are lower case, like slack or google_sheets (pipedream-mcp apps QUERY finds them)", c.App, where)
		} else if cfg.Sandbox && len(sandboxApps) > 0 && !slices.Contains(sandboxApps, c.App) {
			r.probs.add("app %q is not in the sandbox catalog (%s): the sandbox has %s", c.App, where, strings.Join(sandboxApps, ", "))
		}
		if c.OAuth == "admin" && c.ExternalUserID == "" && !cfg.Sandbox {
			r.probs.owned(owner, "admin connection needs a service identity (%s): set external_user_id: on the connection, --external-user-id or "+envExternalUserID)
		}
		for _, g := range append(slices.Clone(c.Include), c.Exclude...) {
			if _, err := path.Match(g, ""); err != nil {
				r.probs.add("invalid action glob %q (%s): use path.Match syntax, e.g. slack-send-*", g, where)
			}
		}
		out = append(out, c)
	}

	for _, slug := range slugs {
		c := Connection{App: slug, Name: slug, OAuth: oauth}
		if oauth == "admin" {
			c.ExternalUserID = cfg.ExternalUserID
		}
		c.Credentials = r.ownerCredentials(cfg, fmt.Sprintf("connection %q", slug), defaults)
		addConn(c, "from "+apps.src)
	}

	for i, fc := range r.file.Connections {
		where := fmt.Sprintf("connections item %d of the config file", i+1)
		if fc.App == "" {
			r.probs.add("%s has no app: set app: to an app slug such as slack", where)
			continue
		}
		c := Connection{
			App:      fc.App,
			Name:     firstOf(fc.Name, fc.App),
			OAuth:    strings.ToLower(firstOf(fc.OAuth, defaultOAuth)),
			Include:  fc.Include,
			Exclude:  fc.Exclude,
			ReadOnly: fc.ReadOnly,
		}
		owner := fmt.Sprintf("connection %q", c.Name)
		switch c.OAuth {
		case "admin":
			c.ExternalUserID = firstOf(fc.ExternalUserID, cfg.ExternalUserID)
		case "user":
			if fc.ExternalUserID != "" {
				r.warn("external_user_id: of %s is ignored: oauth: user connections run as the caller (use oauth: admin for a service identity)", owner)
			}
		default:
			r.probs.add("invalid oauth %q (%s): use user or admin", fc.OAuth, where)
		}
		layers := append([]credLayer{r.fileLayer(fc.fileCredentials, owner)}, defaults...)
		c.Credentials = r.ownerCredentials(cfg, owner, layers)
		addConn(c, where)
	}
	return out
}

// ownerCredentials resolves the credentials of one connection or workflow. The
// sandbox needs none (main points the client at the embedded fake), so they stay
// empty there and are not checked.
func (r *resolver) ownerCredentials(cfg *Config, owner string, layers []credLayer) Credentials {
	if cfg.Sandbox {
		return Credentials{Environment: sandboxEnvironment}
	}
	return r.credentials(owner, layers, true)
}

// workflowDomain resolves workflow_domain: one host, compared without the port.
func (r *resolver) workflowDomain() string {
	d := strings.ToLower(strings.TrimSpace(r.file.WorkflowDomain))
	if d == "" {
		return defaultWorkflowDomain
	}
	host := d
	if h, _, err := net.SplitHostPort(d); err == nil {
		host = h
	}
	if strings.ContainsAny(d, "/@?# ") || strings.Contains(host, ":") && net.ParseIP(host) == nil || host == "" {
		r.probs.add("invalid workflow_domain: %q in the config file: give one host name such as %s (no scheme or path)", r.file.WorkflowDomain, defaultWorkflowDomain)
		return defaultWorkflowDomain
	}
	return host
}

// workflows builds the workflows: list of the file.
func (r *resolver) workflows(cfg *Config, defaults []credLayer) []Workflow {
	var out []Workflow
	seen := map[string]bool{}
	for i, fw := range r.file.Workflows {
		where := fmt.Sprintf("workflows item %d of the config file", i+1)
		w := Workflow{
			Name:        fw.Name,
			Description: fw.Description,
			OAuth:       strings.ToLower(firstOf(fw.OAuth, defaultOAuth)),
			Auth:        strings.ToLower(firstOf(fw.Auth, defaultWorkflowAuth)),
		}
		switch {
		case w.Name == "":
			r.probs.add("%s has no name: set name: to the tool name (1 to 64 of a-z, A-Z, 0-9, _ and -)", where)
		case !toolNamePattern.MatchString(w.Name):
			r.probs.add("invalid workflow name %q (%s): use 1 to 64 of a-z, A-Z, 0-9, _ and -", w.Name, where)
		case slices.Contains(helperToolNames, w.Name):
			r.probs.add("workflow name %q (%s) is taken by a built-in tool: choose another name", w.Name, where)
		case seen[w.Name]:
			r.probs.add("workflow name %q is used twice: give each workflow its own name", w.Name)
		}
		seen[w.Name] = true
		if w.Name != "" {
			where = fmt.Sprintf("workflow %q", w.Name)
		}
		w.Endpoint = r.workflowEndpoint(fw.Endpoint, cfg.WorkflowDomain, where)

		switch w.OAuth {
		case "admin":
			w.ExternalUserID = firstOf(fw.ExternalUserID, cfg.ExternalUserID)
			if w.ExternalUserID == "" && !cfg.Sandbox {
				r.probs.add("admin workflow needs a service identity (%s): set external_user_id: on the workflow, --external-user-id or %s", where, envExternalUserID)
			}
		case "user":
		default:
			r.probs.add("invalid oauth %q (%s): use user or admin", fw.OAuth, where)
		}

		bearerSet := fw.BearerToken != "" || fw.BearerTokenFile != ""
		switch w.Auth {
		case "oauth":
			layers := append([]credLayer{r.fileLayer(fw.fileCredentials, where)}, defaults...)
			w.Credentials = r.ownerCredentials(cfg, where, layers)
		case "bearer":
			w.BearerToken = r.secret(where,
				sourced{fw.BearerToken, "bearer_token:"},
				sourced{r.filePath(fw.BearerTokenFile), "bearer_token_file:"})
			if !bearerSet {
				r.probs.add("auth: bearer needs a token (%s): set bearer_token: (e.g. ${WORKFLOW_TOKEN}) or bearer_token_file:", where)
			}
		case "none":
		default:
			r.probs.add("invalid auth %q (%s): use oauth, bearer or none", fw.Auth, where)
		}
		if bearerSet && w.Auth != "bearer" {
			r.warn("bearer_token: of %s is ignored: it is used only with auth: bearer", where)
		}
		if w.Auth != "oauth" {
			// No credentials, but the workflow still receives X-PD-Environment.
			w.Environment = first(sourced{fw.Environment, ""}, r.flagVal("environment", r.cf.environment), r.envVal(envEnvironment), sourced{r.file.Environment, ""}).val
			if cfg.Sandbox {
				w.Environment = sandboxEnvironment
			}
		}

		if fw.InputSchema.Kind != 0 {
			w.InputSchema = r.inputSchema(&fw.InputSchema, where)
		}
		out = append(out, w)
	}
	return out
}

// workflowEndpoint expands an endpoint ID onto the domain and checks a URL's host.
func (r *resolver) workflowEndpoint(ep, domain, where string) string {
	if ep == "" {
		r.probs.add("%s has no endpoint: set endpoint: to the workflow's URL or its endpoint ID (en...)", where)
		return ""
	}
	scheme := "https"
	if isLoopbackHost(domain) {
		scheme = "http"
	}
	if workflowIDPattern.MatchString(ep) {
		return scheme + "://" + ep + "." + domain
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		r.probs.add("invalid endpoint %q (%s): use the workflow's https:// URL or its endpoint ID (en...)", ep, where)
		return ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host != domain && !strings.HasSuffix(host, "."+domain):
		r.probs.add("endpoint host %q (%s) is not on the workflow domain %s: use a workflow URL, or set workflow_domain: in the config file", host, where, domain)
	case u.Scheme != "https" && !isLoopbackHost(host):
		r.probs.add("endpoint %q (%s) must use https:// (http:// only on a loopback host)", u.Redacted(), where)
	case u.User != nil:
		r.probs.add("endpoint of %s must not hold credentials: use auth: bearer with bearer_token_file:", where)
	}
	return ep
}

// inputSchema converts a YAML mapping to JSON and checks that it is a JSON Schema of
// an object.
func (r *resolver) inputSchema(n *yaml.Node, where string) json.RawMessage {
	if n.Kind != yaml.MappingNode {
		r.probs.add("config file line %d: input_schema of %s must be a mapping (a JSON Schema with type: object)", n.Line, where)
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		r.probs.add("config file line %d: input_schema of %s: %v", n.Line, where, err)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		r.probs.add("config file line %d: input_schema of %s cannot be JSON (keys must be strings): %v", n.Line, where, err)
		return nil
	}
	if t, ok := v.(map[string]any)["type"]; ok && t != "object" {
		r.probs.add("config file line %d: input_schema of %s must have type: object (the tool's arguments are the request body)", n.Line, where)
		return nil
	}
	c := jsonschema.NewCompiler()
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema references are not loaded (%s)", s)
	}
	const id = "mem:///input_schema.json"
	err = c.AddResource(id, bytes.NewReader(b))
	if err == nil {
		_, err = c.Compile(id)
	}
	if err != nil {
		r.probs.add("config file line %d: input_schema of %s is not a valid JSON Schema: %s", n.Line, where, schemaProblem(err))
		return nil
	}
	return b
}

// schemaProblem is the most specific text of a schema compilation error: the
// meta-schema's leaf messages with the place in the schema they refer to.
func schemaProblem(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var leaves []string
	var walk func(*jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		if len(v.Causes) == 0 {
			leaves = append(leaves, fmt.Sprintf("at %s: %s", firstOf(v.InstanceLocation, "/"), v.Message))
		}
		for _, c := range v.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(leaves, "; ")
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sizeUnits are the suffixes parseSize accepts (matched case-insensitively): SI units
// are powers of 1000, IEC units powers of 1024.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"b", 1},
}

// parseSize parses a byte count: 65536, 64KiB, 64KB, 1MiB, 1MB, 1GiB (units are
// case-insensitive and may follow a space; KB and MB are powers of 1000).
func parseSize(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number of bytes, optionally with a unit: 65536, 64KiB, 64KB, 1MiB, 1MB")
	}
	if n > math.MaxInt/mult {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return int(n * mult), nil
}
