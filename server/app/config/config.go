// This file resolves the configuration of one run. Three sources are merged, flags
// first, then environment variables, then the YAML file named by --config, then the
// built-in defaults; a setting inside a YAML connection or workflow beats all of them
// for that connection or workflow. Every problem is collected and reported at once,
// each naming the setting and the ways to set it, because a server that fails one
// missing variable at a time wastes a restart per variable.

package config

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// Environment variables read by Resolve. The PIPEDREAM_ names are the ones the
// Pipedream SDKs use, so one environment serves both.
const (
	EnvClientID           = "PIPEDREAM_CLIENT_ID"
	EnvClientSecret       = "PIPEDREAM_CLIENT_SECRET"
	EnvClientSecretFile   = "PIPEDREAM_CLIENT_SECRET_FILE"
	EnvProjectID          = "PIPEDREAM_PROJECT_ID"
	EnvEnvironment        = "PIPEDREAM_PROJECT_ENVIRONMENT"
	EnvBaseURL            = "PIPEDREAM_BASE_URL"
	EnvApps               = "PIPEDREAM_APPS"
	EnvExternalUserID     = "PIPEDREAM_EXTERNAL_USER_ID"
	EnvJWTSecret          = "PD_MCP_JWT_SECRET"
	EnvJWTSecretFile      = "PD_MCP_JWT_SECRET_FILE"
	EnvWebhookSecret      = "PD_MCP_WEBHOOK_SECRET"
	EnvToolMode           = "PD_MCP_TOOL_MODE"
	EnvConfirmDestructive = "PD_MCP_CONFIRM_DESTRUCTIVE"
	EnvSchemaProfile      = "PD_MCP_SCHEMA_PROFILE"
	EnvMetricsAddr        = "PD_MCP_METRICS_ADDR"
	EnvPprof              = "PD_MCP_PPROF"
)

// Defaults of the settings that have one.
const (
	defaultTransport       = "stdio"
	defaultAddr            = "127.0.0.1:8080"
	defaultLogLevel        = "info"
	defaultLogFormat       = "text"
	defaultCallTimeout     = "120s"
	defaultConnectWait     = "5m"
	defaultResultLimit     = "64KiB"
	defaultMaxListItems    = "10000"
	defaultMaxListBytes    = "64MiB"
	defaultCatalogTTL      = "10m"
	defaultShutdownTimeout = "30s"
	defaultAuth            = "none"
	defaultUserClaim       = "sub"
	defaultOAuth           = "user"
	defaultWorkflowAuth    = "oauth"
	defaultToolMode        = tools.ToolModeDirect
	defaultSchemaProfile   = string(schema.ProfilePortable)
	defaultBaseURL         = "https://api.pipedream.com"
	defaultWorkflowDomain  = "m.pipedream.net"
	sandboxEnvironment     = "development"
	sandboxExternalUserID  = "demo-user"
)

var (
	projectIDPattern      = regexp.MustCompile(`^proj_[a-zA-Z0-9]+$`)
	connectionNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,32}$`)
	appSlugPattern        = regexp.MustCompile(`^[a-z0-9_]+$`)
	workflowIDPattern     = regexp.MustCompile(`^e[no][a-zA-Z0-9]+$`)
	envNamePattern        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	webhookSecretPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{16,}$`)
)

// Config is the whole resolved configuration of one run.
type Config struct {
	Transport   string        // stdio | sse | http
	Addr        string        // listen address of sse/http, default 127.0.0.1:8080
	PublicURL   string        // external origin of this server, without a trailing slash
	LogLevel    slog.Level    // --log-level debug|info|warn|error, default info
	LogFormat   string        // text | json, default text
	Sandbox     bool          // serve the embedded simulated Connect API
	CallTimeout time.Duration // deadline of one tool call, default 120s
	// ConnectWait is how long a call waits for the user to connect a missing
	// account after a URL-mode elicitation (default 5m).
	ConnectWait time.Duration
	ResultLimit int    // bytes of result text, default 64 KiB
	ToolMode    string // direct | catalog | auto: how actions reach the agent (default direct)
	// ConfirmDestructive is the server's confirmation policy for destructive
	// actions (tools.Confirm*; default off); connections may have their own.
	ConfirmDestructive string
	SchemaProfile      schema.Profile // portable | openai-strict | gemini: the shape of input schemas (default portable)
	MaxListItems       int            // items of one upstream listing (all its pages), default 10,000
	MaxListBytes       int            // bytes of one upstream listing (all its pages), default 64 MiB
	CatalogTTL         time.Duration  // catalog refresh period, default 10m
	ShutdownTimeout    time.Duration  // grace period for calls in flight, default 30s
	ExternalUserID     string         // the stdio end user / default user for --auth none
	TrustClientUser    bool           // --trust-client-user: honour _meta user ids on stdio
	Auth               string         // none | jwt | keys (default none)
	APIKeysFile        string         // --api-keys-file
	JWTSecret          string         // PD_MCP_JWT_SECRET or PD_MCP_JWT_SECRET_FILE (never logged)
	JWKSURL            string         // --jwks-url
	JWTIssuer          string         // --jwt-issuer
	JWTAudience        string         // --jwt-audience
	UserClaim          string         // --user-claim, default sub
	WebhookSecret      string         // --webhook-secret / PD_MCP_WEBHOOK_SECRET (never logged)
	TLSCert            string         // --tls-cert
	TLSKey             string         // --tls-key
	MetricsAddr        string         // --metrics-addr: a listener of its own for /metrics (and /debug/pprof/ with Pprof)
	Pprof              bool           // --pprof: serve /debug/pprof/ on the HTTP listener (and the metrics one)
	WorkflowDomain     string         // yaml workflow_domain, default m.pipedream.net
	ScaleOut           ScaleOut       // --redis-url and the fleet's budget (scaleout.go)
	ConfigFile         string         // --config path (kept for reload)
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

// OpenCatalog is the App of the connection that serves every app of the
// Pipedream registry (--app '*'), found through the app directory and loaded
// on first need; only catalog mode serves it.
const OpenCatalog = "*"

// Connection is one Pipedream app served as a set of tools.
type Connection struct {
	App            string // app slug, e.g. slack; OpenCatalog for every app
	Name           string // tool-name prefix, default the app slug
	OAuth          string // user | admin (default user)
	ExternalUserID string // the service identity of an admin connection; empty for user
	Credentials           // per connection, falling back to flags/env
	Include        []string
	Exclude        []string // globs on the full action key (path.Match syntax)
	ReadOnly       bool     // keep only actions annotated readOnlyHint
	// ConfirmDestructive is the connection's confirmation policy for
	// destructive actions (tools.Confirm*): its own, else the server's.
	ConfirmDestructive string
	// Registry is whose actions are served: all (when empty), public or
	// private.
	Registry string
	// Proxy serves the app's API through pipedream_proxy_request with the
	// methods of ProxyMethods (default GET; a read-only connection only GET).
	Proxy        bool
	ProxyMethods []string
	// IncludeApps and ExcludeApps are globs on app slugs that narrow an open
	// catalog (App OpenCatalog).
	IncludeApps, ExcludeApps []string
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

// Error lists every configuration problem; main maps it to exit status 2.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}
