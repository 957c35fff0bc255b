package app

// End-to-end tests of File Stash files in results: an action that needs File
// Stash lists its files with their links, a small text file comes back as an
// embedded resource and a binary one only as a link; an action whose File
// Stash is optional takes _stash, and its image comes back as image content.

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

func TestFileStashResults(t *testing.T) {
	s := startServer(t, serverOptions{apps: "pd_edge,openai"})
	user := s.newUser("pd_edge", "openai")
	c := s.dial(t, user, "/mcp", dialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("text file as a resource, binary as a link", func(t *testing.T) {
		r := s.call(ctx, c, user, "pd_edge_upload_file", `{"file":"report.pdf"}`)
		if r.isError {
			t.Fatalf("upload: %v", r)
		}
		files := resultFiles(t, r, 2)
		for _, f := range files {
			if !strings.HasPrefix(f["url"].(string), "https://") || f["s3_key"] == "" {
				t.Errorf("file %v: want its s3_key and download url", f)
			}
		}
		if files[0]["path"] != "/tmp/receipt.txt" || files[0]["content"] != "resource" {
			t.Errorf("files[0] = %v, want receipt.txt shown as a resource", files[0])
		}
		if files[1]["path"] != "/tmp/upload.bin" || !strings.Contains(files[1]["content"].(string), "not shown") {
			t.Errorf("files[1] = %v, want upload.bin as a link only", files[1])
		}
		if !strings.Contains(r.text, "/tmp/receipt.txt: https://") || !strings.Contains(r.text, "/tmp/upload.bin: https://") {
			t.Errorf("the text does not link the files:\n%s", r.text)
		}
		if len(r.more) != 1 {
			t.Fatalf("%d contents after the text, want 1: %v", len(r.more), r.more)
		}
		res, ok := r.more[0].(mcp.EmbeddedResource)
		if !ok {
			t.Fatalf("content = %T, want an embedded resource", r.more[0])
		}
		text, _ := res.Resource.(mcp.TextResourceContents)
		if !strings.Contains(text.Text, "file: report.pdf") || text.MIMEType != "text/plain" || !strings.HasPrefix(text.URI, "filestash:") {
			t.Errorf("resource = %+v", text)
		}
		if ex, _ := r.sc["exports"].(map[string]any); ex["$filestash_uploads"] != nil {
			t.Errorf("exports still carry $filestash_uploads: %v", r.sc["exports"])
		}
	})

	t.Run("_stash on an optional File Stash", func(t *testing.T) {
		args := `{"model":"dall-e-3","prompt":"a lighthouse at dusk"`
		r := s.call(ctx, c, user, "openai_create_image", args+`}`)
		if r.isError || r.sc["files"] != nil || len(r.more) != 0 {
			t.Fatalf("without _stash: %v, want no files", r)
		}
		if runs := s.fake.Runs(); runs[len(runs)-1].HasStashID {
			t.Error("without _stash, the run sent stash_id")
		}
		r = s.call(ctx, c, user, "openai_create_image", args+`,"`+schema.ArgStash+`":true}`)
		if r.isError || r.sc["stash_id"] == nil {
			t.Fatalf("with _stash: %v", r)
		}
		if f := resultFiles(t, r, 1)[0]; f["content"] != "image" || f["content_type"] != "image/png" {
			t.Errorf("file = %v, want a png shown as an image", f)
		}
		img, ok := r.more[0].(mcp.ImageContent)
		if !ok || img.MIMEType != "image/png" {
			t.Fatalf("content = %#v, want a png image", r.more[0])
		}
		if b, err := base64.StdEncoding.DecodeString(img.Data); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
			t.Errorf("image data is not the png (%v)", err)
		}
	})
}

// resultFiles is the result's files, which must number n.
func resultFiles(t *testing.T, r toolResult, n int) []map[string]any {
	t.Helper()
	list, _ := r.sc["files"].([]any)
	if len(list) != n {
		t.Fatalf("files = %v, want %d", r.sc["files"], n)
	}
	out := make([]map[string]any, n)
	for i, f := range list {
		out[i], _ = f.(map[string]any)
	}
	return out
}
