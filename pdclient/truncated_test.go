package pdclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

// cutBody answers 200 announcing the whole body but sends only its first half,
// then closes the connection: the client sees an unexpected EOF.
func cutBody(w http.ResponseWriter, body string) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body[:len(body)/2])
	_ = bw.Flush()
}

// TestTruncatedBodyRetry: a 2xx body cut off mid-way is retried for reads and
// idempotent runs, never for other runs (the action may have run), and a
// complete body that is not JSON is not retried at all.
func TestTruncatedBodyRetry(t *testing.T) {
	t.Parallel()
	const runOK = `{"exports":{"$summary":"ran"},"ret":{"ok":true}}`
	tests := []struct {
		name       string
		run        bool
		idempotent bool
		notJSON    bool // answer "<html>" once instead of cutting the body
		wantErr    bool
		wantCalls  int32
	}{
		{name: "read retried", wantCalls: 2},
		{name: "idempotent run retried", run: true, idempotent: true, wantCalls: 2},
		{name: "run not retried", run: true, wantErr: true, wantCalls: 1},
		{name: "read with a non-JSON body not retried", notJSON: true, wantErr: true, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			var calls atomic.Int32
			ok := `{"id":"apn_1","name":"x","healthy":true}`
			if tt.run {
				ok = runOK
			}
			h := func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) > 1 {
					writeJSON(w, 200, ok)
					return
				}
				if tt.notJSON {
					writeJSON(w, 200, "<html>login</html>")
					return
				}
				cutBody(w, ok)
			}
			if tt.run {
				f.handle("POST /v1/connect/proj_test1/actions/run", h)
			} else {
				f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
			}
			c := f.client()
			var err error
			if tt.run {
				_, err = c.RunAction(context.Background(), RunActionRequest{ID: "slack-send", ExternalUserID: "u1", Idempotent: tt.idempotent})
			} else {
				_, err = c.GetAccount(context.Background(), "apn_1")
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr && !tt.notJSON && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err = %v, want an unexpected EOF", err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
		})
	}
}
