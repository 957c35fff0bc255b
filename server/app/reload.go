// This file keeps the credentials of a running server right: the clients are
// assembled from the configuration (at start and on reload), credential sets
// the start-up check could not reach are checked again in the background, and
// SIGHUP reloads the configuration and every secret file without dropping a
// session. A reload validates everything first and changes nothing when any
// part is invalid; then unchanged credential sets keep their client (token and
// caches), changed ones get a new client, and the tool set swaps its
// connections and workflows in one batch.

package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

const (
	// reloadTimeout bounds one reload's credential checks and catalog loads.
	reloadTimeout = 2 * time.Minute
	// checkTimeout bounds one credential check.
	checkTimeout = 20 * time.Second
	// recheckFirst and recheckMax bound the backoff of background checks.
	recheckFirst = time.Second
	recheckMax   = time.Minute
)

// assemble makes rt's connections (rt.conns) and workflows for rt.cfg, with one
// client per distinct credential set in rt.clients: the client of reuse when it
// has one for the set, so an unchanged set keeps its token and caches, and a new
// one otherwise. Every problem is reported at once.
func (rt *backend) assemble(reuse map[config.Credentials]*pdclient.Client) ([]tools.Workflow, error) {
	cfg := rt.cfg
	clientFor := func(c config.Credentials) (*pdclient.Client, error) {
		if rt.fake != nil {
			c = config.Credentials{ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret, ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment, BaseURL: rt.fake.URL}
		}
		if cl, ok := rt.clients[c]; ok {
			return cl, nil
		}
		if cl, ok := reuse[c]; ok {
			rt.clients[c] = cl
			return cl, nil
		}
		cl, err := newClient(cfg, c, rt.log, rt.observer(), rt.fleetOptions()...)
		if err != nil {
			return nil, err
		}
		rt.clients[c] = cl
		return cl, nil
	}
	var problems []string
	for _, c := range cfg.Connections {
		cl, err := clientFor(c.Credentials)
		if err != nil {
			problems = append(problems, fmt.Sprintf("connection %q: %v", c.Name, err))
			continue
		}
		conn := tools.Connection{
			Name: c.Name, App: c.App, Admin: c.OAuth == "admin", ServiceUser: c.ExternalUserID,
			Include: c.Include, Exclude: c.Exclude, ReadOnly: c.ReadOnly, Confirm: c.ConfirmDestructive, Client: cl,
			Registry: pdclient.Registry(c.Registry), Proxy: c.Proxy, ProxyMethods: c.ProxyMethods,
		}
		if c.App == config.OpenCatalog {
			rt.open = &tools.OpenCatalog{Template: conn, IncludeApps: c.IncludeApps, ExcludeApps: c.ExcludeApps, Directory: cl}
			continue
		}
		rt.conns = append(rt.conns, conn)
	}
	flows, err := rt.workflows(clientFor)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, &config.Error{Problems: problems}
	}
	return flows, nil
}

// pendingCheck is a credential set whose check was inconclusive.
type pendingCheck struct {
	creds  config.Credentials
	names  string // the connections and workflows using it
	client *pdclient.Client
}

// credentialProblem is what err says is wrong with creds, with the fix, or ""
// when err says nothing about them (the API unreachable, a 5xx).
func credentialProblem(creds config.Credentials, names string, err error) string {
	if names == "" {
		names = "none: the default credentials, for Connect Links of workflows"
	}
	switch {
	case errors.Is(err, pdclient.ErrUnauthorized):
		return fmt.Sprintf("Pipedream rejected the OAuth client %q (connections: %s): check the client ID and secret: PIPEDREAM_CLIENT_ID with PIPEDREAM_CLIENT_SECRET or PIPEDREAM_CLIENT_SECRET_FILE, or client_id with client_secret or client_secret_file in the config file", creds.ClientID, names)
	case errors.Is(err, pdclient.ErrNotFound):
		return fmt.Sprintf("project %q was not found for this OAuth client (connections: %s): check PIPEDREAM_PROJECT_ID (or project_id in the config file) and that the client belongs to the project", creds.ProjectID, names)
	}
	return ""
}

// recheckCredentials checks, with backoff until ctx ends, each credential set
// whose check was inconclusive, and logs the outcome once it is known: rejected
// credentials cannot stop a server that is already serving, so they are logged
// as an error with the fix. The tool set retries its catalogs on its own, and
// readiness waits for them.
func (rt *backend) recheckCredentials(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range rt.unchecked {
		wg.Go(func() {
			wait := recheckFirst
			for {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				cctx, cancel := context.WithTimeout(ctx, checkTimeout)
				err := p.client.CheckCredentials(cctx)
				cancel()
				if err == nil {
					rt.log.Info("Pipedream credentials checked", "connections", p.names)
					return
				}
				if msg := credentialProblem(p.creds, p.names, err); msg != "" {
					rt.log.Error(msg)
					return
				}
				if ctx.Err() != nil {
					return
				}
				rt.log.Debug("Pipedream credentials still unchecked", "connections", p.names, "err", err, "retry_in", wait*2)
				wait = min(wait*2, recheckMax)
			}
		})
	}
	wg.Wait()
}

// reloadHook is something reloaded with the configuration that the tool set
// does not own, such as the API keys file of --auth keys.
type reloadHook struct {
	name   string
	reload func(ctx context.Context, cfg *config.Config) error
}

// OnReload registers reload to run on every successful configuration reload
// (SIGHUP), after the connections were swapped, with the new configuration.
// name says what it reloads in the log. The HTTP transport registers the API
// keys file, the JWT secret and JWKS, and the TLS certificate here; reload
// must keep the old state when the new one is invalid and say why in its error.
func (rt *backend) OnReload(name string, reload func(ctx context.Context, cfg *config.Config) error) {
	rt.hookMu.Lock()
	defer rt.hookMu.Unlock()
	rt.hooks = append(rt.hooks, reloadHook{name, reload})
}

func (rt *backend) reloadHooks() []reloadHook {
	rt.hookMu.Lock()
	defer rt.hookMu.Unlock()
	return slices.Clone(rt.hooks)
}

// reloader applies a new configuration to the running server. It keeps its
// own record of the configuration and clients in force; the backend's fields
// describe the start and are not changed, so the code that read them at start
// needs no locks.
type reloader struct {
	args   []string // the serve command's arguments, parsed again each time
	getenv func(string) string
	rt     *backend
	log    *slog.Logger

	mu      sync.Mutex // one reload at a time
	cfg     *config.Config
	clients map[config.Credentials]*pdclient.Client
}

// newReloader returns a reloader for the server rt serves, started with args
// and the configuration cfg.
func newReloader(args []string, getenv func(string) string, rt *backend, cfg *config.Config) *reloader {
	cur := *cfg
	return &reloader{args: slices.Clone(args), getenv: getenv, rt: rt, log: rt.log, cfg: &cur, clients: maps.Clone(rt.clients)}
}

// watch reloads on every signal from hup until ctx ends. Signals that arrive
// during a reload are folded into one more reload.
func (r *reloader) watch(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.reload(ctx)
		}
	}
}

// reload re-resolves the configuration from the same flags, environment and
// config file, re-reading every secret file, and applies it. An invalid
// configuration, a client that cannot be built, or new credentials that
// Pipedream rejects refuse the reload: each problem is logged and returned,
// and the old configuration keeps serving. Settings that only a restart can
// change keep their old values, and each change is logged.
func (r *reloader) reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	r.log.Info("reloading the configuration", "config_file", r.cfg.ConfigFile)

	cfg, err := r.resolve()
	if err != nil {
		return r.refuse(err)
	}
	for _, w := range cfg.Warnings {
		r.log.Warn(w)
	}
	for _, name := range keepRestartSettings(r.cfg, cfg) {
		r.log.Warn("a reload cannot change this setting; restart the server to apply it (the old value stays in force)", "setting", name)
	}

	next := &backend{cfg: cfg, log: r.log, fake: r.rt.fake, clients: map[config.Credentials]*pdclient.Client{}}
	flows, err := next.assemble(r.clients)
	if err != nil {
		return r.refuse(err)
	}
	fresh := map[config.Credentials]*pdclient.Client{}
	for creds, cl := range next.clients {
		if r.clients[creds] != cl {
			fresh[creds] = cl
		}
	}
	lctx, cancel := context.WithTimeout(ctx, reloadTimeout)
	defer cancel()
	if err := next.checkClients(lctx, fresh); err != nil {
		return r.refuse(err)
	}
	if err := r.rt.set.Reconfigure(lctx, next.conns, flows); err != nil {
		return r.refuse(err)
	}
	r.cfg, r.clients = cfg, next.clients
	go next.recheckCredentials(ctx)

	for _, h := range r.rt.reloadHooks() {
		if err := h.reload(lctx, cfg); err != nil {
			r.log.Error("reload failed; the previous one stays in force", "what", h.name, "err", err)
		} else {
			r.log.Info("reloaded", "what", h.name)
		}
	}
	r.log.Info("configuration reloaded", "connections", len(cfg.Connections), "workflows", len(cfg.Workflows), "new_credential_sets", len(fresh), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// resolve parses the serve command's arguments again and resolves the
// configuration, which re-reads the config file and every secret file.
func (r *reloader) resolve() (*config.Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := config.RegisterFlags(fs)
	if err := fs.Parse(r.args); err != nil {
		return nil, err
	}
	return config.Resolve(cf, r.getenv, sandboxApps())
}

// refuse logs why a reload was refused, one line per problem, and returns err.
func (r *reloader) refuse(err error) error {
	const msg = "reload refused; the previous configuration keeps serving"
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			r.log.Error(msg, "problem", p)
		}
		return err
	}
	r.log.Error(msg, "problem", err.Error())
	return err
}

// reloadable are the config.Config fields a reload applies. Every other field is
// built into the running server once (listener, authentication, logging, the
// tool set's options), so a change to it needs a restart.
var reloadable = []string{"Connections", "Workflows", "WorkflowDomain", "Defaults", "Warnings", "ConfigFile", "JWTSecret"}

// settingNames are the names the log uses for the other config.Config fields.
var settingNames = map[string]string{
	"Transport": "--transport", "Addr": "--addr", "PublicURL": "--public-url",
	"LogLevel": "--log-level", "LogFormat": "--log-format", "Sandbox": "--sandbox",
	"CallTimeout": "--call-timeout", "ConnectWait": "--connect-wait", "ResultLimit": "--result-limit", "CatalogTTL": "--catalog-ttl",
	"ToolMode": "--tool-mode", "ConfirmDestructive": "--confirm-destructive",
	"MaxListItems": "--max-list-items", "MaxListBytes": "--max-list-bytes",
	"ShutdownTimeout": "--shutdown-timeout", "ExternalUserID": "--external-user-id",
	"TrustClientUser": "--trust-client-user", "Auth": "--auth", "APIKeysFile": "--api-keys-file",
	"JWTSecret": config.EnvJWTSecret + " / " + config.EnvJWTSecretFile, "JWKSURL": "--jwks-url",
	"JWTIssuer": "--jwt-issuer", "JWTAudience": "--jwt-audience", "UserClaim": "--user-claim",
	"WebhookSecret": "--webhook-secret / " + config.EnvWebhookSecret, "TLSCert": "--tls-cert", "TLSKey": "--tls-key",
	"SchemaProfile": "--schema-profile",
}

// keepRestartSettings gives cfg the old values of every setting a reload cannot
// change, and returns the names of those that differed (never their values,
// some are secrets).
func keepRestartSettings(old, cfg *config.Config) []string {
	kept := *old
	src, dst := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(&kept).Elem()
	for _, f := range reloadable {
		dst.FieldByName(f).Set(src.FieldByName(f))
	}
	if cfg.WebhookSecret == "" && webhookSecretGenerated(old) {
		cfg.WebhookSecret = old.WebhookSecret // generated at start, not configured
	}
	var changed []string
	for i := range dst.NumField() {
		f := dst.Type().Field(i)
		if !reflect.DeepEqual(src.Field(i).Interface(), dst.Field(i).Interface()) {
			name := settingNames[f.Name]
			if name == "" {
				name = f.Name
			}
			changed = append(changed, name)
		}
	}
	*cfg = kept
	return changed
}
