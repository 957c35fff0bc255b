package tools

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

func TestRefusedHeader(t *testing.T) {
	tests := []struct {
		name, want string // want: a word of the reason, "" when allowed
	}{
		{"Accept", ""},
		{"X-GitHub-Api-Version", ""},
		{"Content-Type", ""},
		{"If-None-Match", ""},
		{"Authorization", "credentials"},
		{"proxy-authorization", "credentials"},
		{"Cookie", "credentials"},
		{"X-Api-Key", "credentials"},
		{"X-Slack-Token", "credentials"},
		{"Client-Secret", "credentials"},
		{"X-Basic-Auth", "credentials"},
		{"Connection", "hop-by-hop"},
		{"Keep-Alive", "hop-by-hop"},
		{"Transfer-Encoding", "hop-by-hop"},
		{"Upgrade", "hop-by-hop"},
		{"TE", "hop-by-hop"},
		{"Host", "transport header"},
		{"Content-Length", "transport header"},
		{"x-pd-environment", "Pipedream"},
		{"X-PD-Proxy-Accept", "Pipedream"},
		{"", "not a header"},
		{"Bad Name", "not a header"},
		{"a:b", "not a header"},
	}
	for _, tc := range tests {
		got := refusedHeader(tc.name)
		if (got == "") != (tc.want == "") || (tc.want != "" && !strings.Contains(got, tc.want)) {
			t.Errorf("refusedHeader(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOnDomains(t *testing.T) {
	domains := []string{"api.github.com", "*.slack.com"}
	tests := []struct {
		host string
		want bool
	}{
		{"api.github.com", true},
		{"API.GitHub.com.", true},
		{"uploads.api.github.com", true},
		{"github.com", false},
		{"api.github.com.evil.example", false},
		{"evilapi.github.com", false},
		{"slack.com", true},
		{"acme.slack.com", true},
		{"slack.com.evil", false},
	}
	for _, tc := range tests {
		if got := onDomains(tc.host, domains); got != tc.want {
			t.Errorf("onDomains(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestAppMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"message":"Not Found","documentation_url":"x"}`, ": Not Found"},
		{`{"ok":false,"error":"channel_not_found"}`, ": channel_not_found"},
		{`{"error":{"code":1},"error_description":"bad token"}`, ": bad token"},
		{`{"errors":[{"message":"title is required"}]}`, ": title is required"},
		{`"plain text failure"`, ": plain text failure"},
		{`{"unrelated":1}`, ""},
		{``, ""},
	}
	for _, tc := range tests {
		if got := appMessage(json.RawMessage(tc.body)); got != tc.want {
			t.Errorf("appMessage(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestProxyBodyJSON(t *testing.T) {
	tests := []struct {
		name, ct, body string
		truncated      bool
		want           string
	}{
		{"json", "application/json; charset=utf-8", `{"a":1}`, false, `{"a":1}`},
		{"json without a type", "", `[1,2]`, false, `[1,2]`},
		{"text", "text/plain", "hello", false, `"hello"`},
		{"cut json is text", "application/json", `{"a":`, true, `"{\"a\":\n…[truncated at the server's result limit]"`},
		{"binary", "application/pdf", "%PDF", false, `"[binary body (application/pdf), 4 bytes, not shown]"`},
	}
	for _, tc := range tests {
		resp := &pdclient.ProxyResponse{StatusCode: 200, Header: http.Header{}, Body: []byte(tc.body), Truncated: tc.truncated}
		if tc.ct != "" {
			resp.Header.Set("Content-Type", tc.ct)
		}
		got, _ := proxyBodyJSON(resp)
		if string(got) != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestStashFiles(t *testing.T) {
	exports := map[string]json.RawMessage{
		"$summary":           json.RawMessage(`"done"`),
		"$filestash_uploads": json.RawMessage(`[{"localPath":"/tmp/a.txt","s3Key":"k/a.txt","get_url":"https://s3/a"},{"localPath":"/tmp/nokey"}]`),
	}
	ret := json.RawMessage(`{"$filestash_uploads":[{"localPath":"/tmp/b.png","s3Key":"k/b.png"},{"localPath":"/tmp/a.txt","s3Key":"k/a.txt"}]}`)
	got := stashFiles(exports, ret)
	want := []StashFile{
		{Path: "/tmp/a.txt", S3Key: "k/a.txt", URL: "https://s3/a", ContentType: "text/plain; charset=utf-8"},
		{Path: "/tmp/b.png", S3Key: "k/b.png", ContentType: "image/png"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stashFiles = %+v, want %+v", got, want)
	}
	if f := stashFiles(map[string]json.RawMessage{"$filestash_uploads": json.RawMessage(`"not a list"`)}, nil); f != nil {
		t.Errorf("a malformed list gave %v", f)
	}
}

func TestContentKind(t *testing.T) {
	for ct, want := range map[string]string{
		"text/plain; charset=utf-8": "text",
		"text/csv":                  "text",
		"application/json":          "text",
		"application/vnd.api+json":  "text",
		"image/png":                 "image",
		"IMAGE/JPEG":                "image",
		"image/svg+xml":             "text",
		"image/tiff":                "",
		"application/pdf":           "",
		"":                          "",
	} {
		if got := contentKind(ct); got != want {
			t.Errorf("contentKind(%q) = %q, want %q", ct, got, want)
		}
	}
}
