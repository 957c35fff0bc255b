package pdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// ConnectTokenRequest asks for a Connect token for an end user.
type ConnectTokenRequest struct {
	ExternalUserID string `json:"external_user_id"`
	// WebhookURI receives CONNECTION_SUCCESS / CONNECTION_ERROR events.
	WebhookURI string `json:"webhook_uri,omitempty"`
	// SuccessRedirectURI and ErrorRedirectURI are where Connect Link sends
	// the user afterwards.
	SuccessRedirectURI string `json:"success_redirect_uri,omitempty"`
	ErrorRedirectURI   string `json:"error_redirect_uri,omitempty"`
	// ExpiresIn is the lifetime in seconds (API default and maximum 4h).
	ExpiresIn int `json:"expires_in,omitempty"`
}

// ConnectToken is a short-lived, single-use token that lets one end user
// connect an account. Token and ConnectLinkURL are secrets meant only for
// that user; String, GoString and LogValue redact them.
type ConnectToken struct {
	Token          string `json:"token"`
	ExpiresAt      string `json:"expires_at"`
	ConnectLinkURL string `json:"connect_link_url"`
}

// String describes the token without revealing it.
func (t ConnectToken) String() string {
	return fmt.Sprintf("ConnectToken{Token: %s, ExpiresAt: %s}", redacted, t.ExpiresAt)
}

// GoString is String, so that %#v does not reveal the token either.
func (t ConnectToken) GoString() string { return t.String() }

// LogValue implements slog.LogValuer without revealing the token.
func (t ConnectToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redacted), slog.String("expires_at", t.ExpiresAt))
}

// CreateConnectToken creates a Connect token for an end user. The token is
// remembered so that it is redacted from this client's errors and logs.
//
// Endpoint: POST /v1/connect/{project_id}/tokens
func (c *Client) CreateConnectToken(ctx context.Context, req ConnectTokenRequest) (*ConnectToken, error) {
	if req.ExternalUserID == "" {
		return nil, errors.New("pdclient: create connect token: external user ID is required")
	}
	rel, err := c.projectPath("tokens")
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := c.post(ctx, rel, req, retryRead, &raw); err != nil {
		return nil, err
	}
	var tok ConnectToken
	if err := json.Unmarshal(unwrapData(raw), &tok); err != nil {
		return nil, fmt.Errorf("pdclient: POST /%s: decoding token: %w", rel, err)
	}
	if tok.Token == "" {
		return nil, fmt.Errorf("pdclient: POST /%s: the response has no token", rel)
	}
	c.redact.add(tok.Token)
	return &tok, nil
}

// ConnectLink returns the Connect Link URL that connects an account of app:
// connect_link_url + "&app=" + the escaped slug. It is "" for a nil token or
// a token without a link.
func ConnectLink(tok *ConnectToken, app string) string {
	if tok == nil || tok.ConnectLinkURL == "" {
		return ""
	}
	sep := "&"
	if !strings.Contains(tok.ConnectLinkURL, "?") {
		sep = "?"
	}
	return tok.ConnectLinkURL + sep + "app=" + url.QueryEscape(app)
}
