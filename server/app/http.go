package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/server"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// generatedSecretPrefix marks webhook secrets made by ensureWebhookSecret, so
// the log can say "generated" without ever showing the secret.
const generatedSecretPrefix = "gen-"

// ensureWebhookSecret generates the Connect webhook's path secret (crypto
// random) when none is configured. Call it before newRuntime, so the Connect
// tokens the tool set creates carry the webhook URI; serveHTTP calls it too.
func ensureWebhookSecret(cfg *config.Config) {
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = generatedSecretPrefix + strings.ToLower(rand.Text())
	}
}

// connectWebhookURI is the webhook URI Connect tokens carry: the public URL of
// the Connect webhook, or "" when the server has none (stdio, no --public-url).
func connectWebhookURI(cfg *config.Config) string {
	if cfg.PublicURL == "" || cfg.WebhookSecret == "" || cfg.Transport == "stdio" {
		return ""
	}
	return strings.TrimRight(cfg.PublicURL, "/") + tools.WebhookPath + cfg.WebhookSecret
}

// webhookSecretGenerated reports whether the secret came from ensureWebhookSecret.
func webhookSecretGenerated(cfg *config.Config) bool {
	return strings.HasPrefix(cfg.WebhookSecret, generatedSecretPrefix) && len(cfg.WebhookSecret) == len(generatedSecretPrefix)+26
}

// jwksTimeout bounds one fetch of the JWKS.
const jwksTimeout = 10 * time.Second

// newAuthenticator builds the HTTP authentication of cfg.Auth. ctx ends the
// JWKS refresh. With --auth keys the result is a *server.APIKeys, whose
// Reload re-reads the file.
func newAuthenticator(ctx context.Context, cfg *config.Config, log *slog.Logger) (server.Authenticator, error) {
	switch cfg.Auth {
	case "jwt":
		var secret []byte
		if cfg.JWTSecret != "" {
			secret = []byte(cfg.JWTSecret)
		}
		a, err := server.NewJWTAuth(ctx, server.JWTConfig{
			Secret: secret, JWKSURL: cfg.JWKSURL,
			Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, UserClaim: cfg.UserClaim,
			Logger: log,
			// No redirect off the JWKS URL's origin (DESIGN "Non-negotiables").
			HTTPClient: &http.Client{Timeout: jwksTimeout, CheckRedirect: pdclient.SameOriginRedirects},
		})
		if err != nil {
			return nil, &config.Error{Problems: []string{err.Error()}}
		}
		return a, nil
	case "keys":
		k, err := server.LoadAPIKeys(cfg.APIKeysFile)
		if err != nil {
			return nil, &config.Error{Problems: []string{fmt.Sprintf("--api-keys-file: %v", err)}}
		}
		return k, nil
	case "none", "":
		return server.StaticUser(cfg.ExternalUserID), nil
	}
	return nil, usageErrorf("unknown --auth %q (want none, jwt or keys)", cfg.Auth)
}

// serveHTTP serves the sse or http transport on cfg.Addr until ctx ends.
func serveHTTP(ctx context.Context, cfg *config.Config, rt *backend, srv *server.Server, log *slog.Logger) error {
	ensureWebhookSecret(cfg)
	auth, err := newAuthenticator(ctx, cfg, log)
	if err != nil {
		return err
	}
	var certs *server.CertReloader
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if certs, err = server.NewCertReloader(cfg.TLSCert, cfg.TLSKey); err != nil {
			return &config.Error{Problems: []string{fmt.Sprintf("--tls-cert/--tls-key: %v", err)}}
		}
	}
	reloadSecrets(cfg, rt, auth, certs)
	h, err := newHTTPHandler(cfg, rt, srv, auth, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return failf("listen on %s: %v", cfg.Addr, err)
	}
	logEndpoints(cfg, rt, ln.Addr().String(), log)
	return srv.Serve(ctx, ln, h, server.ServeOptions{TLS: certs, ShutdownTimeout: cfg.ShutdownTimeout})
}

// reloadSecrets has SIGHUP reload what the HTTP transport holds: the API keys
// file, the JWT secret (file) and the JWKS, and the TLS certificate files.
// Each keeps its old state when the new one is invalid.
func reloadSecrets(cfg *config.Config, rt *backend, auth server.Authenticator, certs *server.CertReloader) {
	switch a := auth.(type) {
	case *server.APIKeys:
		rt.OnReload("API keys file", func(context.Context, *config.Config) error { return a.Reload() })
	case *server.JWTAuth:
		rt.OnReload("JWT secret", func(_ context.Context, cfg *config.Config) error {
			return a.SetSecret([]byte(cfg.JWTSecret))
		})
		if cfg.JWKSURL != "" {
			rt.OnReload("JWKS", func(ctx context.Context, _ *config.Config) error { return a.RefreshKeys(ctx) })
		}
	}
	if certs != nil {
		rt.OnReload("TLS certificate", func(context.Context, *config.Config) error { return certs.Reload() })
	}
}

// newHTTPHandler wires the tool set's identity plumbing and the Connect webhook
// into the server's HTTP handler.
func newHTTPHandler(cfg *config.Config, rt *backend, srv *server.Server, auth server.Authenticator, log *slog.Logger) (*server.HTTPHandler, error) {
	webhook, err := tools.NewWebhookHandler(tools.WebhookOptions{
		Secret: cfg.WebhookSecret, Invalidate: rt.set.InvalidateAccounts, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	issuer := ""
	if cfg.Auth == "jwt" {
		issuer = cfg.JWTIssuer
	}
	var metrics http.Handler // /metrics here, unless --metrics-addr serves it
	if rt.metrics != nil && cfg.MetricsAddr == "" {
		metrics = rt.metrics.Handler()
	}
	return srv.NewHTTPHandler(server.HTTPOptions{
		Transport:    cfg.Transport,
		PublicURL:    cfg.PublicURL,
		ReadyDetails: rt.readyDetails,
		Auth:         auth,
		Issuer:       issuer,
		Identity: func(ctx context.Context, user, connection string, params url.Values) context.Context {
			ctx = tools.WithScope(tools.WithUser(ctx, user), connection)
			if mode := params.Get(tools.SessionToolMode); mode != "" {
				ctx = tools.WithToolMode(ctx, mode)
			}
			if s := params.Get(tools.SessionSchemaProfile); s != "" { // most requests: none (and no error to build)
				if p, err := schema.ParseProfile(s); err == nil {
					ctx = tools.WithSchemaProfile(ctx, p)
				}
			}
			return ctx
		},
		SessionParams: map[string]func(string) error{
			tools.SessionToolMode:      tools.CheckToolMode,
			tools.SessionSchemaProfile: tools.CheckSchemaProfile,
		},
		HasConnection:          rt.set.HasConnection,
		Routes:                 map[string]http.Handler{tools.WebhookPath: webhook},
		DNSRebindingProtection: config.IsLoopbackAddr(cfg.Addr),
		Metrics:                metrics,
		Pprof:                  cfg.Pprof,
	})
}

// logEndpoints tells the operator where everything is served. The webhook
// secret is never logged, only whether it was generated.
func logEndpoints(cfg *config.Config, rt *backend, addr string, log *slog.Logger) {
	base := cfg.PublicURL
	if base == "" {
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		base = scheme + "://" + addr
	}
	base = strings.TrimRight(base, "/")
	main, per := "/mcp", "/mcp/"
	if cfg.Transport == "sse" {
		main, per = "/sse", "/sse/"
	}
	log.Info("listening", "addr", addr, "transport", cfg.Transport, "auth", cfg.Auth, "url", base+main, "health", base+"/healthz", "ready", base+"/readyz")
	for _, c := range rt.conns {
		log.Info("connection endpoint", "connection", c.Name, "url", base+per+c.Name)
	}
	secret := "configured"
	if webhookSecretGenerated(cfg) {
		secret = "generated"
	}
	if cfg.PublicURL == "" {
		log.Info("Connect webhook served without --public-url: Connect tokens carry no webhook URI, so new accounts are seen when the account cache expires", "path", tools.WebhookPath+"<secret>", "secret", secret)
	} else {
		log.Info("Connect webhook", "url", base+tools.WebhookPath+"<secret>", "secret", secret)
	}
	if cfg.Auth == "jwt" && cfg.JWTIssuer != "" {
		log.Info("OAuth protected resource metadata", "url", base+"/.well-known/oauth-protected-resource", "authorization_server", cfg.JWTIssuer)
	}
}
