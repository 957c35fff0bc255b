package pdclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSecretsNeverLeak plants a client secret, access tokens and a Connect
// token (all containing "PLANTED"), has the API echo them back in every kind
// of error, and scans every error string and every debug log line.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const planted = "PLANTED"
	const ctok = "ctok_PLANTEDconnect42"
	var collected []string
	collect := func(err error) {
		t.Helper()
		if err == nil {
			t.Error("want an error")
			return
		}
		collected = append(collected, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		var ae *APIError
		if errors.As(err, &ae) {
			collected = append(collected, fmt.Sprintf("%+v", *ae), string(ae.Details))
			if len(ae.Details) > 0 && !json.Valid(ae.Details) {
				t.Errorf("Details is not valid JSON after redaction: %s", ae.Details)
			}
		}
		var ce *ComponentError
		if errors.As(err, &ce) {
			collected = append(collected, strings.Join(ce.Messages, "\n"))
		}
	}
	bearer := func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") }

	f := newFake(t)
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		switch r.PathValue("id") {
		case "json":
			writeJSON(w, 400, fmt.Sprintf(`{"error":"token %s rejected for client %s","code":"E %s",
				"details":{"authorization":"Bearer %s","client_secret":12345,"echo":%q,"access_token":%q}}`, tok, testSecret, tok, tok, testSecret, tok))
		case "text":
			writeJSON(w, 502, fmt.Sprintf("upstream said: Authorization: Bearer %s; client_secret=%s; ctok %s", tok, testSecret, ctok))
		case "ctok":
			writeJSON(w, 404, fmt.Sprintf(`{"error":"Connect token %s is not valid"}`, ctok))
		case "unauthorized":
			writeJSON(w, 401, fmt.Sprintf(`{"error":"bad token %s"}`, tok))
		}
	})
	f.handle("POST /v1/connect/proj_test1/tokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, fmt.Sprintf(`{"token":%q,"expires_at":"x","connect_link_url":"https://p.test/c?token=%s"}`, ctok, ctok))
	})
	f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, fmt.Sprintf(`{"os":[{"k":"error","err":{"name":"AuthError","message":"token %s and secret %s refused"}}]}`, bearer(r), testSecret))
	})
	f.handle("POST /v1/connect/proj_test1/components/configure", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, fmt.Sprintf(`{"errors":["{\"name\":\"Error\",\"message\":\"bad secret %s\"}"]}`, testSecret))
	})
	logger, logs := debugLogger()
	c := f.client(WithLogger(logger))
	ctx := t.Context()

	if _, err := c.CreateConnectToken(ctx, ConnectTokenRequest{ExternalUserID: "u"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"json", "text", "ctok", "unauthorized"} {
		_, err := c.GetAccount(ctx, id)
		collect(err)
	}
	_, err := c.RunAction(ctx, RunActionRequest{ID: "a", ExternalUserID: "u"})
	collect(err)
	_, err = c.ConfigureProp(ctx, ConfigurePropRequest{ID: "a", ExternalUserID: "u", PropName: "p"})
	collect(err)

	// The token endpoint echoes the client secret.
	tf := newFake(t)
	tf.tokenHook = func(w http.ResponseWriter, r *http.Request) bool {
		_ = r.ParseForm()
		if r.PostForm.Get("client_id") == "json" {
			writeJSON(w, 401, fmt.Sprintf(`{"error":"invalid_client","error_description":"client_secret %s is wrong"}`, r.PostForm.Get("client_secret")))
		} else {
			writeJSON(w, 500, fmt.Sprintf("client_secret=%s&oops", r.PostForm.Get("client_secret")))
		}
		return true
	}
	for _, id := range []string{"json", "text"} {
		cfg := tf.config()
		cfg.ClientID = id
		tc, err := New(cfg, WithRetry(fastRetry), WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		collect(tc.CheckCredentials(ctx))
		_, err = tc.AccessToken(ctx)
		collect(err)
	}

	collected = append(collected, logs.String())
	for _, s := range collected {
		if strings.Contains(s, planted) {
			t.Errorf("a planted secret leaked:\n%s", s)
		}
	}
	if !strings.Contains(strings.Join(collected, "\n"), redacted) {
		t.Error("nothing was redacted: the test did not exercise the echoes")
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := newRedactor("s3cret-value")
	r.add("tok-abc-123")
	tests := []struct{ in, want string }{
		{"plain message", "plain message"},
		{"secret s3cret-value here", "secret [REDACTED] here"},
		{"tok-abc-123", "[REDACTED]"},
		{"Authorization: Bearer eyJhbGciOi.x-y_z", "Authorization: Bearer [REDACTED]"},
		{"link ctok_abc-DEF_1 end", "link [REDACTED] end"},
		{`{"access_token":"zzz","token_type":"bearer"}`, `{"access_token":"[REDACTED]","token_type":"bearer"}`},
		{"grant_type=x&client_secret=abc&client_id=id", "grant_type=x&client_secret=[REDACTED]&client_id=id"},
		{"The Connect token is invalid: expired", "The Connect token is invalid: expired"},
	}
	for _, tt := range tests {
		if got := r.redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
