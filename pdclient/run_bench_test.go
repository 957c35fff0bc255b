package pdclient_test

// The client's share of a tool call: one actions/run request, its body
// encoded and its result decoded, against a loopback server that answers a
// canned body (so ns/op is mostly this package and net/http). "parallel"
// runs 16 callers at once and counts the TCP connections the client opened:
// a pool that keeps too few idle connections dials again and again.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// runBody is an actions/run answer whose ret holds n records.
func runBody(n int) []byte {
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{
			"id": fmt.Sprintf("rec%06d", i), "createdTime": "2025-01-06T09:00:00.000Z",
			"fields": map[string]any{"Name": fmt.Sprintf("Record %d", i), "Status": "Todo", "Notes": strings.Repeat("lorem ipsum ", 8)},
		}
	}
	b, _ := json.Marshal(map[string]any{
		"exports": map[string]any{"$summary": fmt.Sprintf("Found %d records", n)},
		"os":      []any{map[string]any{"k": "console.log", "ts": 1736153600000, "msg": "fetching"}},
		"ret":     map[string]any{"id": "tbl0001", "url": "https://airtable.com/app/tbl0001", "records": recs},
	})
	return b
}

func runServer(b *testing.B, body []byte) (*httptest.Server, *atomic.Int64) {
	b.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			_, _ = w.Write([]byte(`{"access_token":"at-bench","token_type":"Bearer","expires_in":3600}`))
			return
		}
		_, _ = w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	return srv, &conns
}

func BenchmarkRunAction(b *testing.B) {
	req := pdclient.RunActionRequest{
		ID: "airtable_oauth-list-records", ExternalUserID: "user-1", Version: "0.0.7",
		ConfiguredProps: map[string]any{
			"airtable_oauth": map[string]any{"authProvisionId": "apn_abc1234"},
			"baseId":         "app0001", "tableId": "tbl0001", "maxRecords": 100,
		},
	}
	for _, tc := range []struct {
		name     string
		records  int
		parallel int
	}{
		{"small", 1, 1},
		{"ret=64KiB", 230, 1},
		{"small/parallel=16", 1, 16},
	} {
		body := runBody(tc.records)
		b.Run(tc.name, func(b *testing.B) {
			srv, conns := runServer(b, body)
			cl, err := pdclient.New(pdclient.Config{
				ClientID: "id", ClientSecret: "secret", ProjectID: "proj_bench1", Environment: "development", BaseURL: srv.URL,
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := cl.RunAction(b.Context(), req); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			conns.Store(0)
			if tc.parallel == 1 {
				for b.Loop() {
					if _, err := cl.RunAction(b.Context(), req); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism((tc.parallel + 1) / 2) // GOMAXPROCS is 2 on the reference machine
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := cl.RunAction(b.Context(), req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(conns.Load())/float64(b.N), "dials/op")
		})
	}
}

// TestRunActionResultShapes pins what RunAction reads from the result shapes
// the API may send, now that it splits the body once: the {"data": ...}
// wrapper, top-level error and errors[], and bodies that are not results.
func TestRunActionResultShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answer   string
		wantSum  string
		wantRet  string
		wantErrs []string // a *ComponentError with these messages
		wantFail string   // another error containing this
	}{
		{name: "data wrapped", answer: `{"data":{"exports":{"$summary":"Sent"},"ret":{"ok":true}}}`, wantSum: "Sent", wantRet: `{"ok":true}`},
		{name: "data that is not an object stays", answer: `{"data":[1],"ret":2}`, wantRet: `2`},
		{name: "top-level error", answer: `{"exports":{},"error":"Action timed out"}`, wantErrs: []string{"Action timed out"}},
		{name: "error object", answer: `{"error":{"name":"HTTPError","message":"404 Not Found"}}`, wantErrs: []string{"HTTPError: 404 Not Found"}},
		{name: "errors list and observation", answer: `{"os":[{"k":"error","err":{"name":"Error","message":"bad channel"}}],"errors":["quota exceeded"]}`,
			wantErrs: []string{"bad channel", "quota exceeded"}},
		{name: "empty body", answer: ``},
		{name: "null", answer: `null`},
		{name: "not an object", answer: `[{"ret":1}]`, wantFail: "run response is not an object"},
		{name: "invalid JSON", answer: `{"ret":`, wantFail: "decoding response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if strings.HasSuffix(r.URL.Path, "/oauth/token") {
					_, _ = w.Write([]byte(`{"access_token":"at-test","token_type":"Bearer","expires_in":3600}`))
					return
				}
				_, _ = w.Write([]byte(tt.answer))
			}))
			defer srv.Close()
			cl, err := pdclient.New(pdclient.Config{ClientID: "id", ClientSecret: "secret", ProjectID: "proj_test1", Environment: "development", BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := cl.RunAction(t.Context(), pdclient.RunActionRequest{ID: "a", ExternalUserID: "u"})
			switch {
			case tt.wantFail != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantFail) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantFail)
				}
				return
			case tt.wantErrs != nil:
				var ce *pdclient.ComponentError
				if !errors.As(err, &ce) || !slices.Equal(ce.Messages, tt.wantErrs) {
					t.Fatalf("err = %v, want run errors %q", err, tt.wantErrs)
				}
			case err != nil:
				t.Fatal(err)
			}
			if resp == nil {
				t.Fatal("nil response")
			}
			if resp.Summary() != tt.wantSum || string(resp.Ret) != tt.wantRet {
				t.Errorf("Summary %q Ret %s; want %q %s", resp.Summary(), resp.Ret, tt.wantSum, tt.wantRet)
			}
		})
	}
}
