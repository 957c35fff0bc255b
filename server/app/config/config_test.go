package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

var testSandboxApps = SandboxApps{Default: []string{"github", "google_sheets", "slack"}, All: []string{"github", "google_sheets", "slack", "trello"}}

// validEnv is a complete real-credential environment for one stdio user.
func validEnv() map[string]string {
	return map[string]string{
		EnvClientID:       "client-id-1",
		EnvClientSecret:   "s3cret-from-env",
		EnvProjectID:      "proj_abc123",
		EnvEnvironment:    "development",
		EnvExternalUserID: "user-1",
	}
}

// resolveWith parses args like a command would, writes yamlText (when not empty) to a
// config file passed with --config, and resolves.
func resolveWith(t *testing.T, args []string, env map[string]string, yamlText string) (*Config, error) {
	t.Helper()
	if yamlText != "" {
		name := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(name, []byte(yamlText), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", name}, args...)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return Resolve(cf, func(k string) string { return env[k] }, testSandboxApps)
}

func mustResolve(t *testing.T, args []string, env map[string]string, yamlText string) *Config {
	t.Helper()
	cfg, err := resolveWith(t, args, env, yamlText)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return cfg
}

// problemsOf returns the problems of a *Error, failing on any other result.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a *Error, got %v", err)
	}
	return ce.Problems
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustResolve(t, []string{"--app", "slack"}, validEnv(), "")
	want := &Config{
		Transport:          "stdio",
		Addr:               "127.0.0.1:8080",
		LogLevel:           slog.LevelInfo,
		LogFormat:          "text",
		CallTimeout:        120 * time.Second,
		ConnectWait:        5 * time.Minute,
		ResultLimit:        64 << 10,
		ToolMode:           "direct",
		ConfirmDestructive: "off",
		SchemaProfile:      schema.ProfilePortable,
		MaxListItems:       10000,
		MaxListBytes:       64 << 20,
		CatalogTTL:         10 * time.Minute,
		ScaleOut:           ScaleOut{BudgetReads: 3000, BudgetRuns: 2000, BudgetWindow: 5 * time.Minute},
		ShutdownTimeout:    30 * time.Second,
		ExternalUserID:     "user-1",
		Auth:               "none",
		UserClaim:          "sub",
		WorkflowDomain:     "m.pipedream.net",
		Defaults: Credentials{ClientID: "client-id-1", ClientSecret: "s3cret-from-env",
			ProjectID: "proj_abc123", Environment: "development", BaseURL: "https://api.pipedream.com"},
		Connections: []Connection{{
			App: "slack", Name: "slack", OAuth: "user", ConfirmDestructive: "off",
			Credentials: Credentials{ClientID: "client-id-1", ClientSecret: "s3cret-from-env",
				ProjectID: "proj_abc123", Environment: "development", BaseURL: "https://api.pipedream.com"},
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("resolved\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	const yamlAll = `
transport: http
addr: 127.0.0.1:9000
call_timeout: 30s
result_limit: 1MiB
log_level: debug
external_user_id: from-yaml
project_id: proj_yaml
client_id: yaml-client
environment: production
connections:
  - app: github
`
	tests := []struct {
		name string
		args []string
		env  map[string]string
		yaml string
		get  func(*Config) any
		want any
	}{
		{"user: flag beats env and yaml", []string{"--external-user-id", "from-flag"}, validEnv(), yamlAll,
			func(c *Config) any { return c.ExternalUserID }, "from-flag"},
		{"user: env beats yaml", nil, validEnv(), yamlAll,
			func(c *Config) any { return c.ExternalUserID }, "user-1"},
		{"user: yaml when no flag or env", nil, with(validEnv(), EnvExternalUserID, ""), yamlAll,
			func(c *Config) any { return c.ExternalUserID }, "from-yaml"},
		{"project: flag beats env", []string{"--project-id", "proj_flag"}, validEnv(), yamlAll,
			func(c *Config) any { return c.Connections[0].ProjectID }, "proj_flag"},
		{"project: env beats yaml top level", nil, validEnv(), yamlAll,
			func(c *Config) any { return c.Connections[0].ProjectID }, "proj_abc123"},
		{"project: yaml top level fills a gap", nil, with(validEnv(), EnvProjectID, ""), yamlAll,
			func(c *Config) any { return c.Connections[0].ProjectID }, "proj_yaml"},
		{"environment: flag beats env", []string{"--app", "slack", "--environment", "production"}, validEnv(), "",
			func(c *Config) any { return c.Defaults.Environment }, "production"},
		{"client id: flag beats env", []string{"--client-id", "flag-client"}, validEnv(), yamlAll,
			func(c *Config) any { return c.Connections[0].ClientID }, "flag-client"},
		{"client id: connection's own beats flag", []string{"--client-id", "flag-client"}, validEnv(),
			"connections:\n  - app: github\n    client_id: own-client\n",
			func(c *Config) any { return c.Connections[0].ClientID }, "own-client"},
		{"transport: flag beats yaml", []string{"--transport", "sse"}, validEnv(), yamlAll,
			func(c *Config) any { return c.Transport }, "sse"},
		{"transport: yaml beats default", nil, validEnv(), yamlAll,
			func(c *Config) any { return c.Transport }, "http"},
		{"addr: yaml beats default", nil, validEnv(), yamlAll,
			func(c *Config) any { return c.Addr }, "127.0.0.1:9000"},
		{"call timeout: flag beats yaml", []string{"--call-timeout", "2m"}, validEnv(), yamlAll,
			func(c *Config) any { return c.CallTimeout }, 2 * time.Minute},
		{"call timeout: yaml beats default", nil, validEnv(), yamlAll,
			func(c *Config) any { return c.CallTimeout }, 30 * time.Second},
		{"result limit: flag beats yaml", []string{"--result-limit", "1000"}, validEnv(), yamlAll,
			func(c *Config) any { return c.ResultLimit }, 1000},
		{"result limit: yaml size syntax", nil, validEnv(), yamlAll,
			func(c *Config) any { return c.ResultLimit }, 1 << 20},
		{"log level: flag beats yaml", []string{"--log-level", "ERROR"}, validEnv(), yamlAll,
			func(c *Config) any { return c.LogLevel }, slog.LevelError},
		{"log level: yaml beats default", nil, validEnv(), yamlAll,
			func(c *Config) any { return c.LogLevel }, slog.LevelDebug},
		{"apps: flag beats PIPEDREAM_APPS", []string{"--app", "github,slack", "--app", "google_sheets"},
			with(validEnv(), EnvApps, "hubspot"), "",
			func(c *Config) any { return connectionNames(c) }, []string{"github", "slack", "google_sheets"}},
		{"apps: PIPEDREAM_APPS comma list", nil, with(validEnv(), EnvApps, " slack , github ,"), "",
			func(c *Config) any { return connectionNames(c) }, []string{"slack", "github"}},
		{"apps: flag apps and yaml connections add up", []string{"--app", "slack"}, validEnv(),
			"connections:\n  - app: github\n",
			func(c *Config) any { return connectionNames(c) }, []string{"slack", "github"}},
		{"sandbox: yaml turns it on", nil, nil, "sandbox: true\n",
			func(c *Config) any { return c.Sandbox }, true},
		{"sandbox: flag false beats yaml true", []string{"--sandbox=false"}, validEnv(), "sandbox: true\nconnections:\n  - app: slack\n",
			func(c *Config) any { return c.Sandbox }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustResolve(t, tt.args, tt.env, tt.yaml)
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func connectionNames(c *Config) []string {
	var out []string
	for _, cn := range c.Connections {
		out = append(out, cn.Name)
	}
	return out
}

func TestConfigProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		yaml string
		want []string
	}{
		{
			name: "nothing configured",
			want: []string{
				"no connections: name an app with --app or PIPEDREAM_APPS, or add connections: or workflows: to a config file (--config)",
			},
		},
		{
			name: "no credentials, grouped over connections",
			args: []string{"--app", "slack,github", "--external-user-id", "u"},
			want: []string{
				`PIPEDREAM_CLIENT_ID is not set (connection "slack", connection "github"): set the environment variable, --client-id, or client_id: in the config file`,
				`PIPEDREAM_CLIENT_SECRET is not set (connection "slack", connection "github"): set it or PIPEDREAM_CLIENT_SECRET_FILE, or client_secret: or client_secret_file: in the config file (there is no flag, so the secret stays out of process lists)`,
				`PIPEDREAM_PROJECT_ID is not set (connection "slack", connection "github"): set the environment variable, --project-id, or project_id: in the config file`,
				`PIPEDREAM_PROJECT_ENVIRONMENT is not set (connection "slack", connection "github"): set the environment variable, --environment, or environment: in the config file (development or production)`,
			},
		},
		{
			name: "registry and proxy methods are checked",
			env:  validEnv(),
			yaml: "connections:\n  - app: github\n    registry: shared\n    proxy: true\n    proxy_methods: [GET, TRACE]\n",
			want: []string{
				`invalid registry (connections item 1 of the config file): "shared" is not a registry: use all, public, private`,
				`invalid proxy_methods entry (connections item 1 of the config file): "TRACE" is not a proxy method: use GET, POST, PUT, PATCH, DELETE`,
			},
		},
		{
			name: "end user IDs are used as written",
			args: []string{"--app", "slack", "--external-user-id", " user-1\t"},
			env:  validEnv(),
			yaml: "connections:\n  - app: github\n    oauth: admin\n    external_user_id: \"bot\\u0000\"\n",
			want: []string{
				`invalid end user " user-1\t" (--external-user-id, PIPEDREAM_EXTERNAL_USER_ID or external_user_id:): it starts or ends with whitespace (user IDs are used exactly as written)`,
				`invalid end user "bot\x00" (external_user_id: of connection "github"): it contains a control character`,
			},
		},
		{
			name: "listing bounds must be above 0",
			args: []string{"--app", "slack", "--max-list-items", "0", "--max-list-bytes", "-1MiB"},
			env:  validEnv(),
			want: []string{
				`invalid listing byte bound "-1MiB" (from --max-list-bytes): want a whole number of bytes, optionally with a unit: 65536, 64KiB, 64KB, 1MiB, 1MB`,
				`invalid listing item bound "0" (from --max-list-items): use a whole number above 0, such as 10000`,
			},
		},
		{
			name: "trust-client-user refused over http",
			args: []string{"--app", "slack", "--transport", "http", "--external-user-id", "u", "--trust-client-user"},
			env:  validEnv(),
			want: []string{
				"--trust-client-user is refused with --transport http: over HTTP and SSE the end user comes from the request's credential alone; remove --trust-client-user (or trust_client_user: from the config file), or use --transport stdio",
			},
		},
		{
			name: "trust_client_user refused over sse from the config file",
			args: []string{"--transport", "sse", "--external-user-id", "u"},
			env:  validEnv(),
			yaml: "trust_client_user: true\nconnections:\n  - app: slack\n",
			want: []string{
				"--trust-client-user is refused with --transport sse: over HTTP and SSE the end user comes from the request's credential alone; remove --trust-client-user (or trust_client_user: from the config file), or use --transport stdio",
			},
		},
		{
			name: "invalid credential values name their source",
			args: []string{"--app", "slack", "--environment", "staging"},
			env:  with(validEnv(), EnvProjectID, "12345", EnvBaseURL, "ftp://user:pw@example.com"),
			want: []string{
				`invalid project ID "12345" (from PIPEDREAM_PROJECT_ID, connection "slack"): it looks like proj_abc123 (Pipedream project settings)`,
				`invalid environment "staging" (from --environment, connection "slack"): use development or production`,
				`invalid base URL "ftp://user:xxxxx@example.com" (from PIPEDREAM_BASE_URL, connection "slack"): use an http:// or https:// origin such as https://api.pipedream.com`,
			},
		},
		{
			name: "stdio user connection without a user",
			args: []string{"--app", "slack"},
			env:  with(validEnv(), EnvExternalUserID, ""),
			want: []string{
				`no end user for stdio (connection "slack"): set --external-user-id or PIPEDREAM_EXTERNAL_USER_ID (or external_user_id: in the config file)`,
			},
		},
		{
			name: "server settings",
			args: []string{"--app", "slack", "--transport", "ftp", "--log-level", "loud", "--log-format", "xml",
				"--call-timeout", "soon", "--catalog-ttl", "-1m", "--shutdown-timeout", "0s", "--result-limit", "lots", "--auth", "magic", "--oauth", "root"},
			env: validEnv(),
			want: []string{
				`invalid transport "ftp" (from --transport): use stdio, sse or http`,
				`invalid log level "loud" (from --log-level): use debug, info, warn or error`,
				`invalid log format "xml" (from --log-format): use text or json`,
				`invalid duration "soon" (from --call-timeout): use a positive Go duration such as 120s, 10m or 1h30m`,
				`invalid duration "-1m" (from --catalog-ttl): use a positive Go duration such as 120s, 10m or 1h30m`,
				`invalid duration "0s" (from --shutdown-timeout): use a positive Go duration such as 120s, 10m or 1h30m`,
				`invalid result limit "lots" (from --result-limit): want a whole number of bytes, optionally with a unit: 65536, 64KiB, 64KB, 1MiB, 1MB`,
				`invalid auth mode "magic" (from --auth): use none, jwt or keys`,
				`invalid --oauth "root": use user or admin`,
			},
		},
		{
			name: "yaml values name the key",
			env:  validEnv(),
			yaml: "transport: carrier-pigeon\ncall_timeout: 5\nresult_limit: 0\nconnections:\n  - app: slack\n",
			want: []string{
				`invalid transport "carrier-pigeon" (from transport: in the config file): use stdio, sse or http`,
				`invalid duration "5" (from call_timeout: in the config file): use a positive Go duration such as 120s, 10m or 1h30m`,
				`invalid result limit "0" (from result_limit: in the config file): it must be more than 0 bytes`,
			},
		},
		{
			name: "auth none on a public address",
			args: []string{"--app", "slack", "--transport", "http", "--addr", "0.0.0.0:8080"},
			env:  validEnv(),
			want: []string{
				`--auth none is allowed only on a loopback address, and the listen address is "0.0.0.0:8080": use --auth jwt or --auth keys, or --addr 127.0.0.1:8080`,
			},
		},
		{
			name: "auth none on all interfaces",
			args: []string{"--app", "slack", "--transport", "sse", "--addr", ":8080"},
			env:  validEnv(),
			want: []string{
				`--auth none is allowed only on a loopback address, and the listen address is ":8080": use --auth jwt or --auth keys, or --addr 127.0.0.1:8080`,
			},
		},
		{
			name: "auth none over http needs a user",
			args: []string{"--app", "slack", "--transport", "http"},
			env:  with(validEnv(), EnvExternalUserID, ""),
			want: []string{
				`no end user for --auth none (connection "slack"): set --external-user-id or PIPEDREAM_EXTERNAL_USER_ID, or use --auth jwt or --auth keys so each request names its user`,
			},
		},
		{
			name: "jwt without a key, keys without a file, half a TLS pair, bad addr",
			args: []string{"--app", "slack", "--transport", "http", "--auth", "jwt", "--addr", "nowhere", "--tls-cert", "c.pem"},
			env:  validEnv(),
			want: []string{
				`invalid listen address "nowhere" (from --addr): use host:port, e.g. 127.0.0.1:8080`,
				`--auth jwt needs a key: set PD_MCP_JWT_SECRET or PD_MCP_JWT_SECRET_FILE (HS256), or --jwks-url (RS256/ES256)`,
				`--tls-cert and --tls-key go together: set both or neither`,
			},
		},
		{
			name: "keys without a file",
			args: []string{"--app", "slack", "--transport", "http", "--auth", "keys", "--addr", "0.0.0.0:80"},
			env:  validEnv(),
			want: []string{`--auth keys needs --api-keys-file (a YAML map of API key to external user ID)`},
		},
		{
			name: "jwks over plain http to a remote host, bad public url, short webhook secret",
			args: []string{"--app", "slack", "--transport", "http", "--auth", "jwt", "--jwks-url", "http://idp.example.com/jwks",
				"--public-url", "example.com", "--webhook-secret", "short"},
			env: validEnv(),
			want: []string{
				`invalid public URL "example.com" (from --public-url): use the http:// or https:// URL clients reach this server at`,
				`the webhook secret (from --webhook-secret) must be at least 16 characters of A-Z, a-z, 0-9, - and _ (it is part of a URL path)`,
				`invalid --jwks-url "http://idp.example.com/jwks": use an https:// URL (http:// only on a loopback host)`,
			},
		},
		{
			name: "connections",
			env:  validEnv(),
			yaml: `
connections:
  - app: Slack
  - app: slack
    name: "bad name!"
  - app: github
    oauth: admin
  - app: github
    include: ["github-[a"]
  - name: orphan
  - app: hubspot
    oauth: owner
`,
			want: []string{
				`invalid app slug "Slack" (connections item 1 of the config file): slugs are lower case, like slack or google_sheets (pipedream-mcp apps QUERY finds them)`,
				`invalid connection name "bad name!" (connections item 2 of the config file): use 1 to 32 of a-z, A-Z, 0-9, _ and -`,
				`connection name "github" is used twice (connections item 3 of the config file and connections item 4 of the config file): give one a different name: in the config file`,
				`connections item 5 of the config file has no app: set app: to an app slug such as slack`,
				`invalid oauth "owner" (connections item 6 of the config file): use user or admin`,
			},
		},
		{
			name: "admin connection without identity, bad glob",
			env:  with(validEnv(), EnvExternalUserID, ""),
			yaml: "connections:\n  - app: github\n    oauth: admin\n    exclude: [\"[\"]\n",
			want: []string{
				`admin connection needs a service identity (connection "github"): set external_user_id: on the connection, --external-user-id or PIPEDREAM_EXTERNAL_USER_ID`,
				`invalid action glob "[" (connections item 1 of the config file): use path.Match syntax, e.g. slack-send-*`,
			},
		},
		{
			name: "same name from the flag and the file",
			args: []string{"--app", "slack"},
			env:  validEnv(),
			yaml: "connections:\n  - app: slack\n",
			want: []string{
				`connection name "slack" is used twice (from --app and connections item 1 of the config file): give one a different name: in the config file`,
			},
		},
		{
			name: "workflows",
			env:  validEnv(),
			yaml: `
workflows:
  - endpoint: en123
  - name: has space
    endpoint: https://en1.m.pipedream.net
  - name: pipedream_accounts
    endpoint: https://en1.m.pipedream.net
  - name: evil
    endpoint: https://evil.example.com/x
  - name: plain
    endpoint: http://en1.m.pipedream.net
  - name: noend
  - name: tok
    endpoint: en456
    auth: bearer
  - name: weird
    endpoint: en789
    auth: magic
    oauth: admin
  - name: tok
    endpoint: en1
`,
			want: []string{
				`workflows item 1 of the config file has no name: set name: to the tool name (1 to 64 of a-z, A-Z, 0-9, _ and -)`,
				`invalid workflow name "has space" (workflows item 2 of the config file): use 1 to 64 of a-z, A-Z, 0-9, _ and -`,
				`workflow name "pipedream_accounts" (workflows item 3 of the config file) is taken by a built-in tool: choose another name`,
				`endpoint host "evil.example.com" (workflow "evil") is not on the workflow domain m.pipedream.net: use a workflow URL, or set workflow_domain: in the config file`,
				`endpoint "http://en1.m.pipedream.net" (workflow "plain") must use https:// (http:// only on a loopback host)`,
				`workflow "noend" has no endpoint: set endpoint: to the workflow's URL or its endpoint ID (en...)`,
				`auth: bearer needs a token (workflow "tok"): set bearer_token: (e.g. ${WORKFLOW_TOKEN}) or bearer_token_file:`,
				`invalid auth "magic" (workflow "weird"): use oauth, bearer or none`,
				`workflow name "tok" is used twice: give each workflow its own name`,
			},
		},
		{
			name: "admin workflow without identity, schema not an object",
			env:  with(validEnv(), EnvExternalUserID, ""),
			yaml: `
workflows:
  - name: a
    endpoint: en1
    oauth: admin
    auth: none
  - name: b
    endpoint: en2
    auth: none
    input_schema: {type: array}
  - name: c
    endpoint: en3
    auth: none
    input_schema: {type: object, properties: {n: {type: integer, minimum: "x"}}}
`,
			want: []string{
				`admin workflow needs a service identity (workflow "a"): set external_user_id: on the workflow, --external-user-id or PIPEDREAM_EXTERNAL_USER_ID`,
				`config file line 10: input_schema of workflow "b" must have type: object (the tool's arguments are the request body)`,
				`config file line 14: input_schema of workflow "c" is not a valid JSON Schema: at /properties/n/minimum: expected number, but got string`,
			},
		},
		{
			name: "unknown keys and wrong types, with lines",
			env:  validEnv(),
			yaml: "connections:\n  - app: slack\n    inclde: [x]\n    read_only: maybe\nworkflowz: []\n",
			want: []string{
				`config file line 3: unknown key "inclde" in connection item 1 (known keys: app, base_url, client_id, client_secret, client_secret_file, confirm_destructive, environment, exclude, exclude_apps, external_user_id, include, include_apps, name, oauth, project_id, proxy, proxy_methods, read_only, registry)`,
				"config file line 5: unknown key \"workflowz\" in the top level (known keys: addr, api_keys_file, auth, base_url, budget_reads, budget_runs, budget_window, call_timeout, catalog_ttl, client_id, client_secret, client_secret_file, confirm_destructive, connect_wait, connections, environment, external_user_id, jwks_url, jwt_audience, jwt_issuer, log_format, log_level, max_list_bytes, max_list_items, metrics_addr, pprof, project_id, public_url, redis_url, result_limit, sandbox, schema_profile, shutdown_timeout, tls_cert, tls_key, tool_mode, transport, trust_client_user, user_claim, webhook_secret, workflow_domain, workflows)",
				"config file line 4: cannot unmarshal !!str `maybe` into bool",
			},
		},
		{
			name: "bad workflow domain",
			env:  validEnv(),
			yaml: "workflow_domain: https://m.pipedream.net/x\nconnections:\n  - app: slack\n",
			want: []string{
				`invalid workflow_domain: "https://m.pipedream.net/x" in the config file: give one host name such as m.pipedream.net (no scheme or path)`,
			},
		},
		{
			name: "top level not a mapping",
			env:  validEnv(),
			yaml: "- app: slack\n",
			want: []string{"config file CONFIG line 1: the top level must be a mapping (connections:, workflows:, ...)"},
		},
		{
			name: "sandbox catalog does not have the app",
			args: []string{"--sandbox", "--app", "hubspot"},
			want: []string{`app "hubspot" is not in the sandbox catalog (from --app): the sandbox has github, google_sheets, slack, trello`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := resolveWith(t, tt.args, tt.env, tt.yaml)
			got := problemsOf(t, err)
			for i, p := range got { // the temp file name differs per run
				if j := strings.Index(p, "config file /"); j >= 0 {
					if k := strings.Index(p[j+len("config file "):], " "); k >= 0 {
						got[i] = p[:j] + "config file CONFIG" + p[j+len("config file ")+k:]
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestConfigErrorText(t *testing.T) {
	t.Parallel()
	err := &Error{Problems: []string{"a is not set", "b is wrong"}}
	if got, want := err.Error(), "invalid configuration:\n  - a is not set\n  - b is wrong"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestConfigMissingFile(t *testing.T) {
	t.Parallel()
	_, err := resolveWith(t, []string{"--config", filepath.Join(t.TempDir(), "nope.yaml")}, validEnv(), "")
	got := problemsOf(t, err)
	if len(got) != 1 || !strings.HasPrefix(got[0], "cannot read the config file (--config): open ") {
		t.Errorf("problems = %q, want only the unreadable file", got)
	}
}

func TestConfigMergeKeys(t *testing.T) {
	t.Parallel()
	yamlText := `
x-creds: &creds
  project_id: proj_shared
connections:
  - &sheets
    app: google_sheets
    <<: *creds
  - <<: *sheets
    name: sheets2
`
	cfg := mustResolve(t, nil, validEnv(), yamlText)
	if got := connectionNames(cfg); !slices.Equal(got, []string{"google_sheets", "sheets2"}) || cfg.Connections[1].ProjectID != "proj_shared" {
		t.Errorf("connections = %+v", cfg.Connections)
	}
	_, err := resolveWith(t, nil, validEnv(), "x: &bad\n  colour: red\nconnections:\n  - app: slack\n    <<: *bad\n")
	got := problemsOf(t, err)
	if len(got) != 2 || !strings.HasPrefix(got[0], `config file line 1: unknown key "x" in the top level`) ||
		!strings.HasPrefix(got[1], `config file line 2: unknown key "colour" in connection item 1`) {
		t.Errorf("problems = %q, want x and the merged colour reported", got)
	}
}

func TestConfigExpansion(t *testing.T) {
	t.Parallel()
	env := with(validEnv(), "SLACK_PROJECT", "proj_fromvar", "RO", "true", "TEAM", "ops")
	yamlText := `
connections:
  - app: slack
    name: slack_${TEAM}
    project_id: ${SLACK_PROJECT}
    read_only: ${RO}
    include: ["$${NOT_A_VAR}"]
`
	cfg := mustResolve(t, nil, env, yamlText)
	c := cfg.Connections[0]
	if c.Name != "slack_ops" || c.ProjectID != "proj_fromvar" || !c.ReadOnly || !slices.Equal(c.Include, []string{"${NOT_A_VAR}"}) {
		t.Errorf("expanded connection = %+v", c)
	}

	_, err := resolveWith(t, nil, validEnv(), `
connections:
  - app: slack
    client_id: ${SLACK_CLIENT_ID}
    project_id: proj_${MISSING}x${ALSO MISSING}
    name: ${UNTERMINATED
`)
	want := []string{
		"config file line 4: environment variable SLACK_CLIENT_ID is not set (used as ${SLACK_CLIENT_ID}): set it, or edit the file",
		"config file line 5: environment variable MISSING is not set (used as ${MISSING}): set it, or edit the file",
		"config file line 5: ${ALSO MISSING} is not a valid variable reference (use ${NAME}, or $${ for a literal ${)",
		"config file line 6: unterminated ${ (write $${ for a literal ${)",
	}
	got := problemsOf(t, err)
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("problems:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range got {
		if strings.Contains(p, "PIPEDREAM_CLIENT_ID is not set") {
			t.Errorf("an unset ${VAR} must not also read as a missing client id: %q", p)
		}
	}
}

// writeSecret writes content to a file with mode and returns its path.
func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
	return name
}

func TestConfigSecretFiles(t *testing.T) {
	t.Parallel()
	const secret = "file-s3cret-Value"
	private := writeSecret(t, secret+"\n\n", 0o600)
	shared := writeSecret(t, secret+"\r\n", 0o644)
	empty := writeSecret(t, "\n", 0o600)

	tests := []struct {
		name       string
		env        map[string]string
		yaml       string
		args       []string
		wantSecret string
		wantWarn   []string
		wantProbs  []string
	}{
		{
			name:       "env file, private, trimmed",
			env:        with(validEnv(), EnvClientSecret, "", EnvClientSecretFile, private),
			wantSecret: secret,
		},
		{
			name:       "env file readable by others warns once",
			env:        with(validEnv(), EnvClientSecret, "", EnvClientSecretFile, shared, EnvApps, "slack,github"),
			wantSecret: secret,
			wantWarn:   []string{"PIPEDREAM_CLIENT_SECRET_FILE " + shared + " is readable by group or others (mode 0644): chmod 600 " + shared},
		},
		{
			name:       "connection file beats env secret",
			env:        validEnv(),
			yaml:       "connections:\n  - app: slack\n    client_secret_file: " + private + "\n",
			wantSecret: secret,
		},
		{
			name: "both secret and file",
			env:  with(validEnv(), EnvClientSecretFile, private),
			wantProbs: []string{
				`both PIPEDREAM_CLIENT_SECRET and PIPEDREAM_CLIENT_SECRET_FILE are set: set only one (connection "slack")`,
			},
		},
		{
			name:      "empty file",
			env:       with(validEnv(), EnvClientSecret, "", EnvClientSecretFile, empty),
			wantProbs: []string{`the secret file ` + empty + ` (from PIPEDREAM_CLIENT_SECRET_FILE) is empty (connection "slack")`},
		},
		{
			name:      "missing file",
			env:       validEnv(),
			yaml:      "connections:\n  - app: slack\n    client_secret_file: /nonexistent/secret\n",
			wantProbs: []string{`cannot read the secret file from client_secret_file: of connection "slack" in the config file: open /nonexistent/secret: no such file or directory (connection "slack")`},
		},
		{
			name:       "jwt secret file",
			args:       []string{"--transport", "http", "--auth", "jwt"},
			env:        with(validEnv(), EnvJWTSecretFile, shared),
			wantSecret: secret,
			wantWarn: []string{
				"PD_MCP_JWT_SECRET_FILE " + shared + " is readable by group or others (mode 0644): chmod 600 " + shared,
				"the HS256 secret from PD_MCP_JWT_SECRET or PD_MCP_JWT_SECRET_FILE is shorter than 32 bytes; use at least 32 random bytes",
			},
		},
		{
			name:      "jwt secret both ways",
			args:      []string{"--transport", "http", "--auth", "jwt"},
			env:       with(validEnv(), EnvJWTSecretFile, private, EnvJWTSecret, "x"),
			wantProbs: []string{"both PD_MCP_JWT_SECRET and PD_MCP_JWT_SECRET_FILE are set: set only one", "--auth jwt needs a key: set PD_MCP_JWT_SECRET or PD_MCP_JWT_SECRET_FILE (HS256), or --jwks-url (RS256/ES256)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := tt.args
			if tt.yaml == "" && tt.env[EnvApps] == "" {
				args = append(args, "--app", "slack")
			}
			cfg, err := resolveWith(t, args, tt.env, tt.yaml)
			if tt.wantProbs != nil {
				if got := problemsOf(t, err); !slices.Equal(got, tt.wantProbs) {
					t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantProbs, "\n"))
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error holds the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Connections[0].ClientSecret
			if cfg.Auth == "jwt" {
				got = cfg.JWTSecret
			}
			if got != tt.wantSecret {
				t.Errorf("secret = %q, want %q", got, tt.wantSecret)
			}
			if !slices.Equal(cfg.Warnings, tt.wantWarn) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(cfg.Warnings, "\n"), strings.Join(tt.wantWarn, "\n"))
			}
			for _, w := range cfg.Warnings {
				if strings.Contains(w, secret) {
					t.Errorf("warning holds the secret: %q", w)
				}
			}
		})
	}
}

func TestConfigFilePathsRelativeToFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "slack.secret"), []byte("rel-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "pd.yaml")
	if err := os.WriteFile(name, []byte("connections:\n  - app: slack\n    client_secret_file: slack.secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustResolve(t, []string{"--config", name}, with(validEnv(), EnvClientSecret, ""), "")
	if got := cfg.Connections[0].ClientSecret; got != "rel-secret" {
		t.Errorf("secret = %q, want the file next to the config file read", got)
	}
	if cfg.ConfigFile != name {
		t.Errorf("ConfigFile = %q, want %q", cfg.ConfigFile, name)
	}
}

func TestConfigAuthFiles(t *testing.T) {
	t.Parallel()
	keys := writeSecret(t, "k: user\n", 0o640)
	cert := writeSecret(t, "cert", 0o644)
	key := writeSecret(t, "key", 0o600)
	cfg := mustResolve(t, []string{"--app", "slack", "--transport", "http", "--addr", "0.0.0.0:443",
		"--auth", "keys", "--api-keys-file", keys, "--tls-cert", cert, "--tls-key", key}, validEnv(), "")
	want := []string{"--api-keys-file " + keys + " is readable by group or others (mode 0640): chmod 600 " + keys}
	if !slices.Equal(cfg.Warnings, want) {
		t.Errorf("warnings = %q, want %q (a certificate is public: no warning)", cfg.Warnings, want)
	}

	_, err := resolveWith(t, []string{"--app", "slack", "--transport", "http", "--auth", "keys",
		"--api-keys-file", "/nonexistent/keys.yaml"}, validEnv(), "")
	if got := problemsOf(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "cannot read --api-keys-file: open /nonexistent/keys.yaml") {
		t.Errorf("problems = %q", got)
	}
}

func TestConfigWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		yaml string
		want []string
	}{
		{"auth on stdio", []string{"--auth", "jwt", "--jwks-url", "https://idp.example.com/jwks"}, "",
			[]string{"--auth jwt has no effect with --transport stdio"}},
		{"external_user_id on a user connection", nil, "connections:\n  - app: github\n    external_user_id: bob\n",
			[]string{`external_user_id: of connection "github" is ignored: oauth: user connections run as the caller (use oauth: admin for a service identity)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := tt.args
			if tt.yaml == "" {
				args = append(args, "--app", "slack")
			}
			cfg := mustResolve(t, args, validEnv(), tt.yaml)
			if !slices.Equal(cfg.Warnings, tt.want) {
				t.Errorf("warnings = %q, want %q", cfg.Warnings, tt.want)
			}
		})
	}
}

func TestConfigIdentity(t *testing.T) {
	t.Parallel()
	noUser := with(validEnv(), EnvExternalUserID, "")
	tests := []struct {
		name string
		args []string
		yaml string
	}{
		{"trusted client user on stdio", []string{"--app", "slack", "--trust-client-user"}, ""},
		{"admin connections only", []string{"--app", "slack", "--oauth", "admin", "--external-user-id", ""}, ""},
		{"jwt over http", []string{"--app", "slack", "--transport", "http", "--auth", "jwt", "--jwks-url", "http://127.0.0.1:9/jwks"}, ""},
		{"auth none on ::1", []string{"--app", "slack", "--transport", "http", "--addr", "[::1]:8080", "--external-user-id", "u"}, ""},
		{"auth none on localhost", []string{"--app", "slack", "--transport", "sse", "--addr", "localhost:8080", "--external-user-id", "u"}, ""},
		{"bearer workflow needs no user", nil, "workflows:\n  - name: w\n    endpoint: en1\n    auth: bearer\n    bearer_token: t\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := resolveWith(t, tt.args, noUser, tt.yaml)
			if tt.name == "admin connections only" {
				// The service identity is the user; without one the admin rule speaks.
				if got := problemsOf(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "admin connection needs a service identity") {
					t.Errorf("problems = %q", got)
				}
				return
			}
			if err != nil {
				t.Errorf("want no problem, got %v", err)
			}
		})
	}
	cfg := mustResolve(t, []string{"--app", "slack", "--oauth", "admin", "--external-user-id", "svc"}, noUser, "")
	if c := cfg.Connections[0]; c.OAuth != "admin" || c.ExternalUserID != "svc" {
		t.Errorf("admin connection = %+v, want the service identity svc", c)
	}
}

func TestConfigSandbox(t *testing.T) {
	t.Parallel()
	t.Run("every sandbox app, demo user, no credentials", func(t *testing.T) {
		t.Parallel()
		cfg := mustResolve(t, []string{"--sandbox"}, nil, "")
		if !cfg.Sandbox || cfg.ExternalUserID != "demo-user" {
			t.Errorf("sandbox = %v, user = %q", cfg.Sandbox, cfg.ExternalUserID)
		}
		if got := connectionNames(cfg); !slices.Equal(got, testSandboxApps.Default) {
			t.Errorf("connections = %q, want every default sandbox app %q", got, testSandboxApps.Default)
		}
		for _, c := range cfg.Connections {
			if c.Credentials != (Credentials{Environment: "development"}) || c.OAuth != "user" {
				t.Errorf("connection %s = %+v, want no credentials, development, user", c.Name, c)
			}
		}
	})
	t.Run("named app, given user, real credentials ignored", func(t *testing.T) {
		t.Parallel()
		env := with(validEnv(), EnvEnvironment, "production", EnvExternalUserID, "alice")
		cfg := mustResolve(t, []string{"--sandbox", "--app", "github"}, env, "")
		if got := connectionNames(cfg); !slices.Equal(got, []string{"github"}) {
			t.Errorf("connections = %q", got)
		}
		if cfg.ExternalUserID != "alice" {
			t.Errorf("user = %q, want alice", cfg.ExternalUserID)
		}
		if c := cfg.Connections[0].Credentials; c.ClientSecret != "" || c.Environment != "development" {
			t.Errorf("credentials = %+v: the sandbox must not carry the real secret, and runs in development", c)
		}
		want := []string{`--sandbox always uses the development environment; ignoring "production" from PIPEDREAM_PROJECT_ENVIRONMENT`}
		if !slices.Equal(cfg.Warnings, want) {
			t.Errorf("warnings = %q, want %q", cfg.Warnings, want)
		}
	})
	t.Run("file connections replace the sandbox list", func(t *testing.T) {
		t.Parallel()
		cfg := mustResolve(t, []string{"--sandbox"}, nil, "connections:\n  - app: slack\n    name: chat\n    oauth: admin\n")
		if got := connectionNames(cfg); !slices.Equal(got, []string{"chat"}) {
			t.Errorf("connections = %q", got)
		}
		if c := cfg.Connections[0]; c.ExternalUserID != "demo-user" {
			t.Errorf("admin sandbox connection identity = %q, want demo-user", c.ExternalUserID)
		}
	})
	t.Run("server checks still apply", func(t *testing.T) {
		t.Parallel()
		_, err := resolveWith(t, []string{"--sandbox", "--transport", "http", "--addr", "0.0.0.0:8080"}, nil, "")
		if got := problemsOf(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "--auth none is allowed only on a loopback address") {
			t.Errorf("problems = %q", got)
		}
	})
}

func TestConfigAllowNoConnections(t *testing.T) {
	t.Parallel()
	run := func(env map[string]string) (*Config, error) {
		fs := flag.NewFlagSet("apps", flag.ContinueOnError)
		cf := RegisterFlags(fs)
		cf.AllowNoConnections = true
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		return Resolve(cf, func(k string) string { return env[k] }, testSandboxApps)
	}
	cfg, err := run(validEnv())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Defaults.ClientSecret != "s3cret-from-env" || cfg.Defaults.ProjectID != "proj_abc123" {
		t.Errorf("defaults = %+v", cfg.Defaults)
	}
	_, err = run(with(validEnv(), EnvClientID, ""))
	want := []string{`PIPEDREAM_CLIENT_ID is not set (the default credentials): set the environment variable, --client-id, or client_id: in the config file`}
	if got := problemsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
}

func TestConfigExampleFile(t *testing.T) {
	t.Parallel()
	env := with(validEnv(),
		"SHEETS_PROJECT_ID", "proj_sheets9",
		"SHEETS_CLIENT_ID", "sheets-client",
		"SHEETS_CLIENT_SECRET", "sheets-s3cret")
	cfg := mustResolve(t, []string{"--config", filepath.Join("testdata", "config", "example.yaml")}, env, "")
	envCreds := Credentials{ClientID: "client-id-1", ClientSecret: "s3cret-from-env", ProjectID: "proj_abc123",
		Environment: "development", BaseURL: "https://api.pipedream.com"}
	want := []Connection{
		{App: "slack", Name: "slack", OAuth: "user", Credentials: envCreds, ConfirmDestructive: "off",
			Include: []string{"slack-send-*", "slack-list-*"}, Exclude: []string{"slack-send-large-message"}},
		{App: "google_sheets", Name: "sheets", OAuth: "admin", ExternalUserID: "reporting-bot", ReadOnly: true, ConfirmDestructive: "off",
			Credentials: Credentials{ClientID: "sheets-client", ClientSecret: "sheets-s3cret", ProjectID: "proj_sheets9",
				Environment: "production", BaseURL: "https://api.pipedream.com"}},
	}
	if !reflect.DeepEqual(cfg.Connections, want) {
		t.Errorf("connections:\n%+v\nwant\n%+v", cfg.Connections, want)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings = %q", cfg.Warnings)
	}

	_, err := resolveWith(t, []string{"--config", filepath.Join("testdata", "config", "example.yaml")}, validEnv(), "")
	got := problemsOf(t, err)
	for _, v := range []string{"SHEETS_PROJECT_ID", "SHEETS_CLIENT_ID", "SHEETS_CLIENT_SECRET"} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "environment variable "+v+" is not set") }) {
			t.Errorf("problems %q do not name the unset %s", got, v)
		}
	}
}

func TestConfigWorkflows(t *testing.T) {
	t.Parallel()
	cfg := mustResolve(t, []string{"--config", filepath.Join("testdata", "config", "workflows.yaml")},
		with(validEnv(), "REPORT_TOKEN", "tok-123"), "")
	if cfg.WorkflowDomain != "127.0.0.1" {
		t.Errorf("domain = %q", cfg.WorkflowDomain)
	}
	if len(cfg.Workflows) != 3 {
		t.Fatalf("workflows = %+v", cfg.Workflows)
	}
	inv, ping, rep := cfg.Workflows[0], cfg.Workflows[1], cfg.Workflows[2]

	var schema map[string]any
	if err := json.Unmarshal(inv.InputSchema, &schema); err != nil {
		t.Fatalf("input schema %s: %v", inv.InputSchema, err)
	}
	wantSchema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"amount":   map[string]any{"type": "number", "minimum": float64(0)},
			"customer": map[string]any{"type": "string"},
		},
		"required": []any{"customer", "amount"},
	}
	if !reflect.DeepEqual(schema, wantSchema) {
		t.Errorf("schema = %v, want %v", schema, wantSchema)
	}
	if inv.Auth != "oauth" || inv.OAuth != "user" || inv.ClientSecret != "s3cret-from-env" || inv.Environment != "development" {
		t.Errorf("invoice workflow = %+v, want oauth with the env credentials", inv)
	}
	if ping.Endpoint != "http://en123abc.127.0.0.1" || ping.Auth != "none" || ping.ClientSecret != "" || ping.Environment != "development" {
		t.Errorf("ping workflow = %+v, want the ID expanded, no credentials, environment kept", ping)
	}
	if rep.BearerToken != "tok-123" || rep.OAuth != "admin" || rep.ExternalUserID != "reporting-bot" || rep.ClientSecret != "" {
		t.Errorf("report workflow = %+v", rep)
	}

	cfg = mustResolve(t, nil, validEnv(), "workflows:\n  - name: w\n    endpoint: eo9Z\n  - name: v\n    endpoint: https://EN1.m.pipedream.net:443/path\n")
	if got := cfg.Workflows[0].Endpoint; got != "https://eo9Z.m.pipedream.net" {
		t.Errorf("endpoint ID expanded to %q", got)
	}
	if cfg.Workflows[1].InputSchema != nil {
		t.Errorf("schema without input_schema = %s, want none", cfg.Workflows[1].InputSchema)
	}
}

func TestConfigLogValueHidesSecrets(t *testing.T) {
	t.Parallel()
	env := with(validEnv(), EnvClientSecret, "top-s3cret-value", EnvWebhookSecret, "hook-s3cret-value-1234")
	cfg := mustResolve(t, []string{"--app", "slack"}, env, "workflows:\n  - name: w\n    endpoint: en1\n    auth: bearer\n    bearer_token: bearer-s3cret-value\n")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("config", "config", cfg, "conn", cfg.Connections[0], "wf", cfg.Workflows[0], "creds", cfg.Defaults)
	out := buf.String()
	for _, s := range []string{"top-s3cret-value", "hook-s3cret-value-1234", "bearer-s3cret-value"} {
		if strings.Contains(out, s) {
			t.Errorf("log holds secret %q: %s", s, out)
		}
	}
	if !strings.Contains(out, `"client_secret_set":true`) || !strings.Contains(out, `"name":"slack"`) {
		t.Errorf("log lacks the useful fields: %s", out)
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"65536", 65536, false},
		{"64KiB", 64 << 10, false},
		{"64kib", 64 << 10, false},
		{"64KB", 64000, false},
		{"1MiB", 1 << 20, false},
		{"1MB", 1000000, false},
		{"2 GiB", 2 << 30, false},
		{"1GB", 1000000000, false},
		{"512B", 512, false},
		{" 10 ", 10, false},
		{"0", 0, false},
		{"", 0, true},
		{"KiB", 0, true},
		{"-1", 0, true},
		{"1.5MiB", 0, true},
		{"64 kilobytes", 0, true},
		{"9223372036854775807GiB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseSize(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAppFlag(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cf := RegisterFlags(fs)
	if err := fs.Parse([]string{"--app", "slack, github", "--app=hubspot", "--app", ","}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"slack", "github", "hubspot"}; !slices.Equal(cf.apps, want) {
		t.Errorf("apps = %q, want %q", cf.apps, want)
	}
	if fs.Lookup("client-secret") != nil {
		t.Error("there must be no --client-secret flag: secrets come from the environment or files")
	}
	if u := fs.Lookup("client-id").Usage; !strings.Contains(u, EnvClientSecretFile) {
		t.Errorf("--client-id usage %q should say where the secret goes", u)
	}
}

func TestConfigSchemaProfile(t *testing.T) {
	t.Parallel()
	tests := []settingCase{
		{name: "default", args: []string{"--app", "slack"}, want: "portable"},
		{name: "flag", args: []string{"--app", "slack", "--schema-profile", "openai-strict"}, want: "openai-strict"},
		{name: "env", args: []string{"--app", "slack"}, env: map[string]string{EnvSchemaProfile: "GEMINI"}, want: "gemini"},
		{name: "file", yaml: "schema_profile: gemini\nconnections:\n  - app: slack\n", want: "gemini"},
		{name: "flag beats env", args: []string{"--app", "slack", "--schema-profile", "portable"}, env: map[string]string{EnvSchemaProfile: "gemini"}, want: "portable"},
		{name: "env beats file", env: map[string]string{EnvSchemaProfile: "openai-strict"}, yaml: "schema_profile: gemini\nconnections:\n  - app: slack\n", want: "openai-strict"},
		{name: "invalid", args: []string{"--app", "slack", "--schema-profile", "strict"},
			want: `invalid schema profile "strict" (from --schema-profile): use portable, openai-strict, gemini`},
		{name: "invalid in the file", yaml: "schema_profile: claude\nconnections:\n  - app: slack\n",
			want: `invalid schema profile "claude" (from schema_profile: in the config file): use portable, openai-strict, gemini`},
	}
	runSettingCases(t, tests, func(c *Config) string { return string(c.SchemaProfile) })
}

func TestConfigConfirmDestructive(t *testing.T) {
	t.Parallel()
	tests := []settingCase{
		{name: "default off", args: []string{"--app", "slack"}, want: "slack=off"},
		{name: "the bare flag is always", args: []string{"--app", "slack", "--confirm-destructive"}, want: "slack=always"},
		{name: "flag with a value", args: []string{"--app", "slack", "--confirm-destructive=if-supported"}, want: "slack=if-supported"},
		{name: "env", args: []string{"--app", "slack"}, env: map[string]string{EnvConfirmDestructive: "ALWAYS"}, want: "slack=always"},
		{name: "flag beats env", args: []string{"--app", "slack", "--confirm-destructive=off"}, env: map[string]string{EnvConfirmDestructive: "always"}, want: "slack=off"},
		{name: "file, and a connection's own", yaml: "confirm_destructive: if-supported\nconnections:\n  - app: slack\n  - app: github\n    confirm_destructive: true\n", want: "slack=if-supported github=always"},
		{name: "invalid flag", args: []string{"--app", "slack", "--confirm-destructive=maybe"},
			want: `invalid destructive-action confirmation (from --confirm-destructive): "maybe" is not a confirmation policy (use off, always, if-supported)`},
		{name: "invalid in a connection", yaml: "connections:\n  - app: slack\n    confirm_destructive: sometimes\n",
			want: `invalid confirm_destructive (connections item 1 of the config file): "sometimes" is not a confirmation policy (use off, always, if-supported)`},
	}
	runSettingCases(t, tests, func(c *Config) string {
		var out []string
		for _, conn := range c.Connections {
			out = append(out, conn.Name+"="+conn.ConfirmDestructive)
		}
		return strings.Join(out, " ")
	})
}

func TestConfigToolMode(t *testing.T) {
	t.Parallel()
	tests := []settingCase{
		{name: "default", args: []string{"--app", "slack"}, want: "direct"},
		{name: "flag", args: []string{"--app", "slack", "--tool-mode", "catalog"}, want: "catalog"},
		{name: "env", args: []string{"--app", "slack"}, env: map[string]string{EnvToolMode: "AUTO"}, want: "auto"},
		{name: "file", yaml: "tool_mode: catalog\nconnections:\n  - app: slack\n", want: "catalog"},
		{name: "flag beats env", args: []string{"--app", "slack", "--tool-mode", "direct"}, env: map[string]string{EnvToolMode: "catalog"}, want: "direct"},
		{name: "the sandbox is in auto mode", args: []string{"--sandbox"}, want: "auto"},
		{name: "the sandbox with one app too", args: []string{"--sandbox", "--app", "slack"}, want: "auto"},
		{name: "the sandbox takes a mode given", args: []string{"--sandbox", "--tool-mode", "direct"}, want: "direct"},
		{name: "the sandbox takes a mode from env", args: []string{"--sandbox"}, env: map[string]string{EnvToolMode: "catalog"}, want: "catalog"},
		{name: "the sandbox takes a mode from the file", yaml: "sandbox: true\ntool_mode: direct\n", want: "direct"},
		{name: "open catalog implies catalog", args: []string{"--app", "*"}, want: "catalog"},
		{name: "open catalog in the file", yaml: "connections:\n  - app: \"*\"\n    include_apps: [\"google_*\", slack]\n    exclude_apps: [gmail]\n", want: "catalog"},
		{name: "invalid", args: []string{"--app", "slack", "--tool-mode", "lazy"},
			want: `invalid tool mode "lazy" (from --tool-mode): use direct, catalog or auto`},
		{name: "open catalog refuses direct", args: []string{"--app", "*", "--tool-mode", "direct"},
			want: `the open catalog (app "*") reaches every app through catalog mode, and the tool mode is direct (from --tool-mode): use --tool-mode catalog or auto`},
		{name: "app globs only on the open catalog", yaml: "connections:\n  - app: slack\n    include_apps: [x]\n",
			want: `include_apps and exclude_apps (connections item 1 of the config file) apply only to the open catalog (app: "*")`},
		{name: "open catalog takes no name", yaml: "connections:\n  - app: \"*\"\n    name: all\n",
			want: `the open catalog (app: "*", connections item 1 of the config file) takes no name: each app's tools are named after the app`},
	}
	runSettingCases(t, tests, func(c *Config) string { return c.ToolMode })
	cfg := mustResolve(t, nil, validEnv(), "connections:\n  - app: \"*\"\n    include_apps: [\"google_*\"]\n    exclude_apps: [gmail]\n")
	if c := cfg.Connections[0]; c.App != OpenCatalog || c.Name != OpenCatalog || !slices.Equal(c.IncludeApps, []string{"google_*"}) || !slices.Equal(c.ExcludeApps, []string{"gmail"}) {
		t.Errorf("open catalog connection = %+v", c)
	}
}

// TestConfigOps: --metrics-addr and --pprof come from the flag, then the
// environment, then the file; a bad address is a problem naming its source.
func TestConfigOps(t *testing.T) {
	t.Parallel()
	app := []string{"--app", "slack"}
	cfg := mustResolve(t, app, validEnv(), "")
	if cfg.MetricsAddr != "" || cfg.Pprof {
		t.Errorf("defaults: metrics addr %q, pprof %v", cfg.MetricsAddr, cfg.Pprof)
	}
	env := validEnv()
	env[EnvMetricsAddr], env[EnvPprof] = "127.0.0.1:9464", "true"
	cfg = mustResolve(t, app, env, "metrics_addr: 127.0.0.1:1\npprof: false\n")
	if cfg.MetricsAddr != "127.0.0.1:9464" || !cfg.Pprof {
		t.Errorf("env over file: metrics addr %q, pprof %v", cfg.MetricsAddr, cfg.Pprof)
	}
	cfg = mustResolve(t, append(app, "--metrics-addr", ":9100", "--pprof=false"), env, "")
	if cfg.MetricsAddr != ":9100" || cfg.Pprof {
		t.Errorf("flags over env: metrics addr %q, pprof %v", cfg.MetricsAddr, cfg.Pprof)
	}
	cfg = mustResolve(t, app, validEnv(), "metrics_addr: 0.0.0.0:9464\npprof: true\n")
	if cfg.MetricsAddr != "0.0.0.0:9464" || !cfg.Pprof {
		t.Errorf("file: metrics addr %q, pprof %v", cfg.MetricsAddr, cfg.Pprof)
	}
	if _, err := resolveWith(t, append(app, "--metrics-addr", "9464"), validEnv(), ""); err == nil || !strings.Contains(err.Error(), `invalid metrics address "9464" (from --metrics-addr)`) {
		t.Errorf("a bad address: %v", err)
	}
}

// settingCase is one way of giving a setting: flags, environment, file, and
// the value it resolves to, or the one problem it must cause.
type settingCase struct {
	name string
	args []string
	env  map[string]string
	yaml string
	want string // the value, or the problem
}

// runSettingCases resolves each case and checks got(cfg), or the problem.
func runSettingCases(t *testing.T, tests []settingCase, got func(*Config) string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := validEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := resolveWith(t, tt.args, env, tt.yaml)
			if err != nil {
				if p := problemsOf(t, err); len(p) != 1 || p[0] != tt.want {
					t.Errorf("problems = %q, want %q", p, tt.want)
				}
				return
			}
			if v := got(cfg); v != tt.want {
				t.Errorf("resolved %q, want %q", v, tt.want)
			}
		})
	}
}
