package tools

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

var fuzzStatuses = []string{StatusSuccess, StatusError, StatusInvalidArgs, StatusAccountRequired, StatusRateLimited, StatusUpstreamError, StatusTimeout}

// FuzzToolResult: any upstream answer renders as a result that encodes, whose
// isError matches its status, whose text and ret respect the limit (cut on a
// rune boundary, marked truncated), and whose ret is kept whole when it fits.
func FuzzToolResult(f *testing.F) {
	f.Add(uint8(0), "Sent the message", []byte(`{"ok":true,"ts":"1.2","channel":"C1"}`), "", uint16(64))
	f.Add(uint8(1), "", []byte(`"héllo wörld ✓ 🎉"`), "bad field\nother", uint16(7))
	f.Add(uint8(3), "", []byte(`null`), "No connected slack account.", uint16(1))
	f.Add(uint8(0), "big", []byte(`[`+strings.Repeat(`{"id":1,"url":"https://x.example/1"},`, 40)+`{}]`), "", uint16(300))
	f.Add(uint8(5), "ü", []byte("\"\xff\xfe\""), "", uint16(2))
	f.Add(uint8(0), "", []byte(`{"id":12345678901234567890,"html_url":"https://github.com/a/b"}`), "", uint16(65535))
	f.Fuzz(func(t *testing.T, status uint8, summary string, ret []byte, errs string, limit16 uint16) {
		if len(ret) > 0 && !json.Valid(ret) {
			return // upstream answers are decoded JSON
		}
		limit := int(limit16) + 1
		r := Result{Status: fuzzStatuses[int(status)%len(fuzzStatuses)], Summary: summary, Ret: ret, Next: "What to do next."}
		if errs != "" {
			r.Errors = strings.Split(errs, "\n")
		}
		r.Resource = findResource(ret)
		res := toolResult(r, limit)
		if res.IsError != (r.Status != StatusSuccess) {
			t.Fatalf("isError %v for status %s", res.IsError, r.Status)
		}
		wire, err := json.Marshal(res)
		if err != nil {
			t.Fatalf("the result does not encode: %v", err)
		}
		var back struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			Structured struct {
				Status    string          `json:"status"`
				Ret       json.RawMessage `json:"ret"`
				Truncated bool            `json:"truncated"`
			} `json:"structuredContent"`
		}
		if err := json.Unmarshal(wire, &back); err != nil || len(back.Content) != 1 {
			t.Fatalf("the result does not decode: %v %s", err, wire)
		}
		text, sc := back.Content[0].Text, back.Structured
		if sc.Status != r.Status {
			t.Fatalf("structured status %q, want %q", sc.Status, r.Status)
		}
		hasRet := len(ret) > 0 && string(ret) != "null"
		allValid := utf8.Valid(ret) && utf8.ValidString(summary) && utf8.ValidString(errs)
		raw, ok := res.Content[0].(mcp.TextContent)
		if !ok {
			t.Fatalf("content is %T, want text", res.Content[0])
		}
		if allValid && !utf8.ValidString(raw.Text) {
			t.Fatal("the text is not valid UTF-8 although every input was")
		}
		head := len(summary) + len(errs) + 3*len(r.Errors) + 200
		if len(raw.Text) > head+limit+200 {
			t.Fatalf("text of %d bytes for a limit of %d (+%d of head)", len(raw.Text), limit, head)
		}
		switch {
		case !hasRet:
			if sc.Truncated {
				t.Fatal("truncated without a ret")
			}
		case len(ret) > limit:
			var cut string
			maxCut := limit
			if !utf8.Valid(ret) {
				maxCut = 3 * limit // each invalid byte is sent as U+FFFD
			}
			if !sc.Truncated || json.Unmarshal(sc.Ret, &cut) != nil || len(cut) > maxCut {
				t.Fatalf("a ret of %d bytes over a limit of %d: truncated=%v ret=%.100s", len(ret), limit, sc.Truncated, sc.Ret)
			}
			if utf8.Valid(ret) && !utf8.ValidString(cut) {
				t.Fatal("the cut ret splits a rune")
			}
			if !strings.Contains(text, "[truncated: showing") {
				t.Fatal("the text does not say it was cut")
			}
		default:
			if !sameJSON(ret, sc.Ret) {
				t.Fatalf("ret changed: %s -> %s", ret, sc.Ret)
			}
		}
	})
}

func sameJSON(a, b []byte) bool {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// FuzzWebhook: any body posted to the webhook gets 200, 400 or 413; the
// accounts of a user are dropped only for a CONNECTION_SUCCESS naming that
// user and app, and a path without the secret gets 404 and drops nothing.
func FuzzWebhook(f *testing.F) {
	const secret = "fuzz-webhook-secret-0123456789"
	for _, body := range []string{
		`{"event":"CONNECTION_SUCCESS","connect_token":"ctok_1","environment":"development","connect_session_id":1,"account":{"id":"apn_1","name":null,"external_id":"u1","healthy":true,"dead":false,"app":{"id":"app_1","name_slug":"notion","name":"Notion"}}}`,
		`{"event":"CONNECTION_SUCCESS","connect_token":"ctok_known","account":{"id":"apn_2","app":{"name_slug":"slack"}}}`,
		`{"event":"CONNECTION_ERROR","connect_token":"ctok_1","environment":"production","error":"User denied access"}`,
		`{"event":"SOMETHING_NEW"}`, `{"event":""}`, `{}`, `[]`, `null`, `{"event":`, `{"event":"CONNECTION_SUCCESS","account":{"app":null}}`,
		`{"event":"CONNECTION_SUCCESS","account":{"external_id":7,"app":{"name_slug":["x"]}}}`,
	} {
		f.Add([]byte(body), secret)
	}
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`{}`), secret+"/x")
	f.Add([]byte(`{}`), strings.ToUpper(secret))
	f.Fuzz(func(t *testing.T, body []byte, pathSecret string) {
		type drop struct{ user, app string }
		var drops []drop
		h, err := NewWebhookHandler(WebhookOptions{
			Secret:       secret,
			MaxBodyBytes: 4096,
			Invalidate:   func(user, app string) int { drops = append(drops, drop{user, app}); return 1 },
			TokenUser: func(tok string) string {
				if tok == "ctok_known" {
					return "token-user"
				}
				return ""
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.URL.Path = WebhookPath + pathSecret
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if strings.Contains(rec.Body.String(), secret) {
			t.Fatal("the answer shows the secret")
		}
		if pathSecret != secret {
			if rec.Code != http.StatusNotFound || len(drops) > 0 {
				t.Fatalf("wrong secret %q: HTTP %d, %d drops", pathSecret, rec.Code, len(drops))
			}
			return
		}
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("HTTP %d", rec.Code)
		}
		if len(body) > 4096 && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("a %d-byte body: HTTP %d, want 413", len(body), rec.Code)
		}
		var ev struct {
			Event        string `json:"event"`
			ConnectToken string `json:"connect_token"`
			Account      *struct {
				ExternalID string `json:"external_id"`
				App        *struct {
					NameSlug string `json:"name_slug"`
				} `json:"app"`
			} `json:"account"`
		}
		decoded := json.Unmarshal(body, &ev) == nil
		if len(drops) == 0 {
			return
		}
		if len(drops) > 1 || rec.Code != http.StatusOK || !decoded || ev.Event != EventConnectionSuccess || ev.Account == nil || ev.Account.App == nil {
			t.Fatalf("accounts dropped %v for HTTP %d, body %q", drops, rec.Code, body)
		}
		wantUser := ev.Account.ExternalID
		if wantUser == "" && ev.ConnectToken == "ctok_known" {
			wantUser = "token-user"
		}
		if d := drops[0]; d.user != wantUser || d.app != ev.Account.App.NameSlug || d.user == "" || d.app == "" {
			t.Fatalf("dropped %+v, want user %q app %q", d, wantUser, ev.Account.App.NameSlug)
		}
	})
}
