package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

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
	if keys, ok := auth.(*server.APIKeys); ok {
		// SIGHUP re-reads the API keys file; an invalid file keeps the old keys.
		rt.OnReload("API keys file", keys.Reload)
	}
	h, err := newHTTPHandler(cfg, rt, srv, auth, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return failf("listen on %s: %v", cfg.Addr, err)
	}
	logEndpoints(cfg, rt, ln.Addr().String(), log)
	return srv.Serve(ctx, ln, h, server.ServeOptions{
		TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, ShutdownTimeout: cfg.ShutdownTimeout,
	})
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
	return srv.NewHTTPHandler(server.HTTPOptions{
		Transport: cfg.Transport,
		PublicURL: cfg.PublicURL,
		Auth:      auth,
		Issuer:    issuer,
		Identity: func(ctx context.Context, user, connection string) context.Context {
			return tools.WithScope(tools.WithUser(ctx, user), connection)
		},
		HasConnection:          rt.set.HasConnection,
		Routes:                 map[string]http.Handler{tools.WebhookPath: webhook},
		DNSRebindingProtection: config.IsLoopbackAddr(cfg.Addr),
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
