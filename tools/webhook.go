package tools

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// WebhookPath is the path prefix of the Connect webhook; the secret follows it:
// POST /webhooks/pipedream/<secret>.
const WebhookPath = "/webhooks/pipedream/"

// DefaultWebhookMaxBody caps webhook bodies (64 KiB).
const DefaultWebhookMaxBody = 64 << 10

// Connect webhook events (connect-api.md section 9).
const (
	EventConnectionSuccess = "CONNECTION_SUCCESS"
	EventConnectionError   = "CONNECTION_ERROR"
)

// WebhookOptions configure NewWebhookHandler.
type WebhookOptions struct {
	// Secret is the path secret that authenticates Connect (required, at
	// least 16 characters).
	Secret string
	// Invalidate drops the cached accounts of a user for an app and reports
	// how many connections serve the app (Set.InvalidateAccounts).
	Invalidate func(externalUserID, app string) int
	// TokenUser, when set, names the user a Connect token was created for; it
	// is asked when an event's account carries no external_id.
	TokenUser func(connectToken string) string
	// MaxBodyBytes caps the body (default 64 KiB); larger ones get 413.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// webhookEvent is the part of a Connect webhook body the server uses. Other
// fields are ignored, as their types vary in Pipedream's own examples.
type webhookEvent struct {
	Event        string `json:"event"`
	ConnectToken string `json:"connect_token"`
	Environment  string `json:"environment"`
	Account      *struct {
		ID         string `json:"id"`
		ExternalID string `json:"external_id"`
		App        *struct {
			NameSlug string `json:"name_slug"`
		} `json:"app"`
	} `json:"account"`
	Error string `json:"error"`
}

type webhookHandler struct {
	digest [sha256.Size]byte
	opts   WebhookOptions
	log    *slog.Logger
}

// NewWebhookHandler returns the handler of Connect's connection webhooks, to
// be mounted at WebhookPath. A path without the right secret gets 404 (compared
// in constant time). CONNECTION_SUCCESS invalidates the user's cached accounts
// for the app so the next call finds the new account at once;
// CONNECTION_ERROR is logged. A malformed or oversized body gets 4xx and
// changes nothing. The webhook never grants anything: it only drops caches.
func NewWebhookHandler(opts WebhookOptions) (http.Handler, error) {
	if len(opts.Secret) < 16 {
		return nil, errors.New("tools: the webhook secret must be at least 16 characters")
	}
	if opts.Invalidate == nil {
		return nil, errors.New("tools: the webhook needs an Invalidate function")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultWebhookMaxBody
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &webhookHandler{digest: sha256.Sum256([]byte(opts.Secret)), opts: opts, log: opts.Logger}, nil
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	given, ok := strings.CutPrefix(r.URL.Path, WebhookPath)
	d := sha256.Sum256([]byte(given))
	if !ok || subtle.ConstantTimeCompare(d[:], h.digest[:]) != 1 {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		webhookReply(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	limit := h.opts.MaxBodyBytes
	if r.ContentLength > limit {
		webhookReply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		webhookReply(w, http.StatusBadRequest, "could not read the body")
		return
	}
	if int64(len(body)) > limit {
		webhookReply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
		return
	}
	var ev webhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		h.log.Warn("Connect webhook: malformed body ignored", "err", err)
		webhookReply(w, http.StatusBadRequest, "the body is not a Connect webhook event")
		return
	}
	switch ev.Event {
	case EventConnectionSuccess:
		h.success(w, ev)
	case EventConnectionError:
		h.log.Warn("Connect webhook: connecting an account failed", "error", ev.Error, "environment", ev.Environment)
		webhookReply(w, http.StatusOK, "logged")
	case "":
		webhookReply(w, http.StatusBadRequest, "the body has no event")
	default:
		h.log.Info("Connect webhook: unknown event ignored", "event", ev.Event)
		webhookReply(w, http.StatusOK, "ignored")
	}
}

func (h *webhookHandler) success(w http.ResponseWriter, ev webhookEvent) {
	if ev.Account == nil || ev.Account.App == nil || ev.Account.App.NameSlug == "" {
		webhookReply(w, http.StatusBadRequest, "CONNECTION_SUCCESS without account.app.name_slug")
		return
	}
	app := ev.Account.App.NameSlug
	user := ev.Account.ExternalID
	if user == "" && h.opts.TokenUser != nil && ev.ConnectToken != "" {
		user = h.opts.TokenUser(ev.ConnectToken)
	}
	if user == "" {
		webhookReply(w, http.StatusBadRequest, "CONNECTION_SUCCESS without account.external_id")
		return
	}
	n := h.opts.Invalidate(user, app)
	if n == 0 {
		h.log.Info("Connect webhook: account connected for an app this server does not serve", "app", app, "external_user_id", user)
	} else {
		h.log.Info("Connect webhook: account connected; cached accounts dropped", "app", app, "external_user_id", user, "account_id", ev.Account.ID)
	}
	webhookReply(w, http.StatusOK, "ok")
}

func webhookReply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	key := "status"
	if status >= 400 {
		key = "error"
	}
	_ = json.NewEncoder(w).Encode(map[string]string{key: msg})
}

// InvalidateAccounts drops the cached accounts of externalUserID for app on
// every connection serving that app, so the next call lists them afresh, and
// wakes the calls waiting for such an account. It reports how many
// connections serve the app.
func (s *Set) InvalidateAccounts(externalUserID, app string) int {
	defer s.wakeWaiters(externalUserID, app)
	n := 0
	for _, c := range s.conns {
		if c.App == app {
			c.Client.InvalidateAccounts(externalUserID, app)
			n++
		}
	}
	return n
}
