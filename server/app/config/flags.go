// This file defines the flags every command shares.

package config

import (
	"flag"
	"slices"
	"strings"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// appList is the value of the repeatable --app flag; each use may hold a comma list.
type appList []string

func (a *appList) String() string { return strings.Join(*a, ",") }

func (a *appList) Set(s string) error {
	*a = append(*a, splitList(s)...)
	return nil
}

// Flags holds the flag values shared by every command (serve, tools, call, apps,
// accounts, doctor). Durations and sizes are kept as text and parsed by Resolve,
// so a bad value is reported with every other problem instead of alone.
type Flags struct {
	fs *flag.FlagSet

	scaleOut scaleOutFlags

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
	connectWait     string
	resultLimit     string
	toolMode        string
	confirm         confirmFlag
	schemaProfile   string
	maxListItems    string
	maxListBytes    string
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
	metricsAddr     string
	pprof           bool

	// AllowNoConnections lets a command that needs no connection (apps) resolve a
	// configuration without any connection or workflow; the default credentials are
	// then validated instead.
	AllowNoConnections bool
}

// serverFlags are the flags only the server (and doctor, which checks them)
// uses: transport, listener, HTTP authentication and operations.
var serverFlags = []string{
	"transport", "addr", "public-url", "auth", "api-keys-file", "jwks-url", "jwt-issuer",
	"jwt-audience", "user-claim", "webhook-secret", "tls-cert", "tls-key", "shutdown-timeout",
	"trust-client-user", "metrics-addr", "pprof", "redis-url", "budget-reads", "budget-runs", "budget-window",
}

// ServerFlag reports whether the flag name concerns only the server, so the
// other commands' help leaves it out (they still accept it).
func ServerFlag(name string) bool { return slices.Contains(serverFlags, name) }

// RegisterFlags defines the shared flags on fs and returns where their values
// land. There is deliberately no --client-secret flag: command lines are visible to
// every local user, so secrets come only from the environment or files.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	cf := &Flags{fs: fs}
	fs.Var(&cf.apps, "app", "app slug to serve, one connection each; repeat or comma-separate; '*' serves every app of the registry in catalog mode (env "+EnvApps+")")
	fs.StringVar(&cf.externalUserID, "external-user-id", "", "end user of stdio calls and --auth none, and service identity of admin connections (env "+EnvExternalUserID+")")
	fs.StringVar(&cf.environment, "environment", "", "Pipedream project environment: development or production (env "+EnvEnvironment+")")
	fs.StringVar(&cf.oauth, "oauth", defaultOAuth, "OAuth mode of --app connections: user (each caller's accounts) or admin (one service identity)")
	fs.StringVar(&cf.projectID, "project-id", "", "Pipedream project ID, proj_... (env "+EnvProjectID+")")
	fs.StringVar(&cf.clientID, "client-id", "", "OAuth client ID (env "+EnvClientID+"); the secret has no flag: set "+EnvClientSecret+" or "+EnvClientSecretFile)
	fs.StringVar(&cf.baseURL, "base-url", "", "Pipedream API origin (env "+EnvBaseURL+", default "+defaultBaseURL+")")
	fs.StringVar(&cf.configFile, "config", "", "YAML configuration file (connections, workflows, defaults)")
	fs.StringVar(&cf.transport, "transport", defaultTransport, "MCP transport: stdio, sse or http")
	fs.StringVar(&cf.addr, "addr", defaultAddr, "listen address of the sse and http transports")
	fs.StringVar(&cf.publicURL, "public-url", "", "external URL of this server, for Connect webhooks and OAuth metadata")
	fs.StringVar(&cf.logLevel, "log-level", defaultLogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&cf.logFormat, "log-format", defaultLogFormat, "log format: text or json")
	fs.BoolVar(&cf.sandbox, "sandbox", false, "use the embedded simulated Connect API (no Pipedream account needed)")
	fs.StringVar(&cf.callTimeout, "call-timeout", defaultCallTimeout, "deadline of one tool call (Go duration); a client that takes MCP tasks gets a task then, and the run goes on")
	fs.StringVar(&cf.connectWait, "connect-wait", defaultConnectWait, "how long a call waits for the user to connect a missing account, when the client can show them the Connect Link (URL elicitation; Go duration)")
	fs.StringVar(&cf.resultLimit, "result-limit", defaultResultLimit, "largest result text sent to the client (bytes, or with a unit: 64KiB, 1MiB)")
	fs.StringVar(&cf.toolMode, "tool-mode", defaultToolMode, "how actions reach the agent: direct (one tool per action), catalog (search and run tools) or auto (catalog above 40 tools) (env "+EnvToolMode+")")
	fs.Var(&cf.confirm, "confirm-destructive", "ask the user (MCP elicitation) before any destructive action runs: always (the bare flag), if-supported (ask when the client can, else run) or off (env "+EnvConfirmDestructive+"; give the value with =)")
	fs.StringVar(&cf.schemaProfile, "schema-profile", defaultSchemaProfile, "shape of the tools' input schemas: "+strings.Join(schema.ProfileNames(), ", ")+" (for hosts with stricter schema rules; env "+EnvSchemaProfile+")")
	fs.StringVar(&cf.maxListItems, "max-list-items", defaultMaxListItems, "most items one upstream listing (all its pages) may have; past it the listing fails and the last good catalog keeps serving")
	fs.StringVar(&cf.maxListBytes, "max-list-bytes", defaultMaxListBytes, "most bytes one upstream listing (all its pages) may have (bytes, or with a unit: 64MiB)")
	fs.StringVar(&cf.catalogTTL, "catalog-ttl", defaultCatalogTTL, "how long the action catalog is served before a background refresh")
	fs.StringVar(&cf.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "how long calls in flight may finish after SIGINT/SIGTERM")
	fs.BoolVar(&cf.trustClientUser, "trust-client-user", false, "stdio: honour _meta[\"pipedream.com/external_user_id\"] sent by the client")
	fs.StringVar(&cf.auth, "auth", defaultAuth, "HTTP authentication: none (loopback only), jwt or keys")
	fs.StringVar(&cf.apiKeysFile, "api-keys-file", "", "--auth keys: YAML map of API key (or sha256:<hex>) to external user ID")
	fs.StringVar(&cf.jwksURL, "jwks-url", "", "--auth jwt: JWKS URL for RS256/ES256 tokens (HS256 uses "+EnvJWTSecret+" or "+EnvJWTSecretFile+")")
	fs.StringVar(&cf.jwtIssuer, "jwt-issuer", "", "--auth jwt: required iss claim")
	fs.StringVar(&cf.jwtAudience, "jwt-audience", "", "--auth jwt: required aud claim")
	fs.StringVar(&cf.userClaim, "user-claim", defaultUserClaim, "--auth jwt: claim that holds the external user ID")
	fs.StringVar(&cf.webhookSecret, "webhook-secret", "", "path secret of the Connect webhook URL (env "+EnvWebhookSecret+"; default: generated at start)")
	fs.StringVar(&cf.tlsCert, "tls-cert", "", "TLS certificate file (sse/http)")
	fs.StringVar(&cf.tlsKey, "tls-key", "", "TLS private key file (sse/http)")
	fs.StringVar(&cf.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address (host:port), without authentication; needed for stdio, and with sse/http it moves /metrics off the MCP listener (env "+EnvMetricsAddr+")")
	fs.BoolVar(&cf.pprof, "pprof", false, "serve net/http/pprof at /debug/pprof/ on the HTTP listener and the --metrics-addr one, without authentication (env "+EnvPprof+")")
	cf.scaleOut.register(fs)
	return cf
}

// setFlags reports which flags were given on the command line; only those beat the
// environment and the file.
func (cf *Flags) setFlags() map[string]bool {
	set := map[string]bool{}
	if cf.fs != nil {
		cf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	}
	return set
}

// confirmFlag is --confirm-destructive: a policy name, and the bare flag
// means tools.ConfirmAlways (so it takes its value only with =).
type confirmFlag struct{ val string }

func (f *confirmFlag) String() string { return f.val }

// Set takes a policy name; the bare flag arrives as "true".
func (f *confirmFlag) Set(v string) error {
	f.val = confirmPolicy(v)
	return nil
}

// IsBoolFlag lets the flag stand alone.
func (f *confirmFlag) IsBoolFlag() bool { return true }

// confirmPolicy maps the spellings of a confirmation policy to its name:
// true (the bare flag, or YAML true) is always, false is off.
func confirmPolicy(v string) string {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "true":
		return tools.ConfirmAlways
	case "false":
		return tools.ConfirmOff
	}
	return v
}
