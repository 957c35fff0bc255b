package pdtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// TestFaultEndlessPages checks the EndlessPages fault: every list page is
// full, padded, new, and points to a further page; other endpoints serve
// normally.
func TestFaultEndlessPages(t *testing.T) {
	e := newTestEnv(t, Config{PageSize: 10})
	e.fake.InjectFault(Fault{Endpoint: EndpointAll, EndlessPages: true, ItemBytes: 1000})
	for _, path := range []string{
		"/v1/connect/" + TestProjectID + "/actions?app=github",
		"/v1/connect/" + TestProjectID + "/accounts?external_user_id=u1",
		"/v1/connect/apps",
	} {
		seen := map[string]bool{}
		after := ""
		for page := 0; page < 3; page++ {
			pu, _ := url.Parse(path)
			q := pu.Query()
			if after != "" {
				q.Set("after", after)
			}
			pu.RawQuery = q.Encode()
			u := pu.String()
			status, body := e.do(http.MethodGet, u, nil)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %s", u, status, body)
			}
			var resp struct {
				Data     []json.RawMessage `json:"data"`
				PageInfo pageInfo          `json:"page_info"`
			}
			mustJSON(t, body, &resp)
			if len(resp.Data) != 10 || resp.PageInfo.EndCursor == "" || resp.PageInfo.EndCursor == after {
				t.Fatalf("%s: %d items, end_cursor %q after %q", u, len(resp.Data), resp.PageInfo.EndCursor, after)
			}
			for _, it := range resp.Data {
				if len(it) < 1000 {
					t.Errorf("%s: item of %d bytes, want at least 1000", u, len(it))
				}
				if seen[string(it)] {
					t.Errorf("%s: item served twice", u)
				}
				seen[string(it)] = true
			}
			after = resp.PageInfo.EndCursor
		}
	}
	// Not a list: served normally.
	if status, body := e.do(http.MethodGet, "/v1/connect/apps/github", nil); status != http.StatusOK {
		t.Errorf("app: %d %s", status, body)
	}
}
