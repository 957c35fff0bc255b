package pdclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	longBody := strings.Repeat("x", 5000)
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		wantIs   error // nil: none of the sentinels
		wantMsg  string
		wantCode string
		wantDet  string
		wantBody string
		wantRA   time.Duration // exact, or checked as a range when rangeRA
		rangeRA  bool
		calls    int32
	}{
		{name: "400 with code and details", status: 400,
			body:    `{"error":"app is required","code":"bad_request","details":{"field":"app"}}`,
			wantMsg: "app is required", wantCode: "bad_request", wantDet: `{"field":"app"}`, calls: 1},
		{name: "400 error object", status: 400, body: `{"error":{"message":"bad prop","code":"E_PROP"}}`,
			wantMsg: "bad prop", wantCode: "E_PROP", calls: 1},
		{name: "404", status: 404, body: `{"error":"component not found"}`, wantIs: ErrNotFound,
			wantMsg: "component not found", calls: 1},
		{name: "429 retry-after seconds beyond max delay", status: 429, header: map[string]string{"Retry-After": "120"},
			body: `{"error":"too many requests"}`, wantIs: ErrRateLimited, wantMsg: "too many requests", wantRA: 120 * time.Second, calls: 1},
		{name: "429 retry-after http date", status: 429,
			header: map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)},
			body:   `{}`, wantIs: ErrRateLimited, wantBody: `{}`, wantRA: time.Hour, rangeRA: true, calls: 1},
		{name: "500 after retries", status: 500, body: `{"message":"internal"}`, wantMsg: "internal", calls: 4},
		{name: "non-JSON body", status: 502, body: "<html>Bad Gateway</html>", wantBody: "<html>Bad Gateway</html>", calls: 4},
		{name: "long body capped", status: 400, body: longBody, wantBody: longBody[:maxBodyText] + "…(truncated)", calls: 1},
		{name: "failed run observations", status: 400, body: `{"data":{"os":[{"k":"error","err":{"name":"TypeError","message":"boom"}}]}}`,
			wantMsg: "TypeError: boom", calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				writeJSON(w, tt.status, tt.body)
			})
			_, err := f.client().GetAccount(t.Context(), "apn_1")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.StatusCode != tt.status || ae.Method != "GET" || ae.Path != "/v1/connect/proj_test1/accounts/apn_1" {
				t.Errorf("status, method, path = %d %s %s", ae.StatusCode, ae.Method, ae.Path)
			}
			for _, s := range []error{ErrNotFound, ErrUnauthorized, ErrRateLimited} {
				if got, want := errors.Is(err, s), s == tt.wantIs; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
			if ae.Message != tt.wantMsg || ae.Code != tt.wantCode || string(ae.Details) != tt.wantDet || ae.Body != tt.wantBody {
				t.Errorf("Message %q Code %q Details %s Body %q; want %q %q %s %q",
					ae.Message, ae.Code, ae.Details, ae.Body, tt.wantMsg, tt.wantCode, tt.wantDet, tt.wantBody)
			}
			if tt.rangeRA {
				if ae.RetryAfter < tt.wantRA-5*time.Second || ae.RetryAfter > tt.wantRA {
					t.Errorf("RetryAfter = %v, want about %v", ae.RetryAfter, tt.wantRA)
				}
			} else if ae.RetryAfter != tt.wantRA {
				t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, tt.wantRA)
			}
			if got := f.apiCalls.Load(); got != tt.calls {
				t.Errorf("requests = %d, want %d", got, tt.calls)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Error() = %q lacks the message", err)
			}
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	e := &APIError{StatusCode: 429, Message: "slow down", Code: "rate_limited", RetryAfter: 2 * time.Second,
		Method: "POST", Path: "/v1/connect/proj_x/actions/run"}
	want := "pdclient: POST /v1/connect/proj_x/actions/run: 429 Too Many Requests: slow down (code rate_limited), retry after 2s"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header, ms string
		want       time.Duration
	}{
		{header: "3", want: 3 * time.Second},
		{header: "0.5", want: 500 * time.Millisecond},
		{header: now.Add(10 * time.Second).Format(http.TimeFormat), want: 10 * time.Second},
		{header: now.Add(-10 * time.Second).Format(http.TimeFormat), want: 0},
		{header: "soon", want: 0},
		{header: "-1", want: 0},
		{ms: "250", want: 250 * time.Millisecond},
		{want: 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		if tt.ms != "" {
			h.Set("Retry-After-Ms", tt.ms)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%q, ms %q) = %v, want %v", tt.header, tt.ms, got, tt.want)
		}
	}
}

func TestComponentErrorString(t *testing.T) {
	t.Parallel()
	e := &ComponentError{Op: "run", Messages: []string{"TypeError: x is undefined", "second"}}
	if got, want := e.Error(), "pdclient: run: TypeError: x is undefined; second"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
