package tools

// This file turns the File Stash files an action wrote into what an agent can
// use (DESIGN.md "Beyond actions"): each file listed with its download link,
// and small text files and images as MCP resource or image content.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"path"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// StashFile is one file an action wrote to its File Stash.
type StashFile struct {
	Path  string `json:"path,omitempty"`   // the file's path in the action's /tmp
	S3Key string `json:"s3_key,omitempty"` // its File Stash key
	// URL is the presigned download link Pipedream gave (valid 30 minutes).
	URL         string `json:"url,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// Content says how the file came back: "resource" or "image" content
	// after the text, or why not ("too large", "download failed", ...).
	Content string `json:"content,omitempty"`
}

// File content limits: at most maxFileContents files are read back, a text
// file up to the result limit, an image up to maxImageBytes.
const (
	maxFileContents = 4
	maxImageBytes   = 1 << 20
)

// filestashUploads is the exports key Pipedream lists stashed files under.
const filestashUploads = "$filestash_uploads"

// stashUpload is one $filestash_uploads entry.
type stashUpload struct {
	LocalPath string `json:"localPath"`
	S3Key     string `json:"s3Key"`
	GetURL    string `json:"get_url"`
}

// stashFiles reads the files an action's exports or ret name under
// $filestash_uploads (entries without a key are left out).
func stashFiles(exports map[string]json.RawMessage, ret json.RawMessage) []StashFile {
	var lists []json.RawMessage
	if v, ok := exports[filestashUploads]; ok {
		lists = append(lists, v)
	}
	if v := pdclient.JSONField(ret, filestashUploads); v != nil {
		lists = append(lists, v)
	}
	if len(lists) == 0 {
		return nil
	}
	var out []StashFile
	seen := map[string]bool{}
	for _, l := range lists {
		var ups []stashUpload
		if json.Unmarshal(l, &ups) != nil {
			continue
		}
		for _, u := range ups {
			if u.S3Key == "" || seen[u.S3Key] {
				continue
			}
			seen[u.S3Key] = true
			out = append(out, StashFile{Path: u.LocalPath, S3Key: u.S3Key, URL: u.GetURL, ContentType: typeByName(u.LocalPath, u.S3Key)})
		}
	}
	return out
}

// typeByName is the media type a file's name suggests, "" when none.
func typeByName(names ...string) string {
	for _, n := range names {
		if t := mime.TypeByExtension(path.Ext(n)); t != "" {
			return t
		}
	}
	return ""
}

// SandboxFilesNote says what a File Stash link of the sandbox is: it names
// the real File Stash host, but its signature is made up, so it opens
// nothing; the contents shown in the result came through the simulated API.
const SandboxFilesNote = "sandbox: these download links are simulated and open nothing; the file contents shown here came from the sandbox."

// attachFiles lists the files of a run in r, and reads back the small text
// files and images as content after the text. A file that cannot be read
// keeps its link.
func (s *Set) attachFiles(ctx context.Context, t *actionTool, r *Result) {
	r.Files = stashFiles(r.Exports, r.Ret)
	if len(r.Files) == 0 {
		return
	}
	delete(r.Exports, filestashUploads)
	if len(r.Exports) == 0 {
		r.Exports = nil
	}
	if s.opts.Sandbox {
		r.Notes = append(r.Notes, SandboxFilesNote)
	}
	read := 0
	for i := range r.Files {
		f := &r.Files[i]
		kind := contentKind(f.ContentType)
		if kind == "" {
			f.Content = "not shown: not text or an image; use url"
			continue
		}
		if read == maxFileContents {
			f.Content = "not shown: too many files; use url"
			continue
		}
		read++
		limit := int64(s.opts.ResultLimit)
		if kind == "image" {
			limit = maxImageBytes
		}
		got, err := t.conn.Client.DownloadFile(ctx, f.S3Key, limit)
		switch {
		case err != nil:
			s.log.Warn("File Stash download failed", "action", t.component.Key, "err", err)
			f.Content = "not shown: the download failed; use url"
			continue
		case got.Truncated:
			f.Content = "not shown: larger than this server shows; use url"
			continue
		}
		if ct := got.ContentType; ct != "" && !strings.HasPrefix(ct, "application/octet-stream") && !strings.HasPrefix(ct, "binary/") {
			if k := contentKind(ct); k != "" {
				kind, f.ContentType = k, ct
			}
		}
		uri := "filestash:" + f.S3Key
		if kind == "image" {
			r.Attachments = append(r.Attachments, mcp.NewImageContent(base64.StdEncoding.EncodeToString(got.Body), mediaType(f.ContentType)))
		} else {
			r.Attachments = append(r.Attachments, mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: uri, MIMEType: mediaType(f.ContentType), Text: strings.ToValidUTF8(string(got.Body), "\uFFFD")}))
		}
		f.Content = kind
		if kind != "image" {
			f.Content = "resource"
		}
	}
}

// contentKind is "image" for images MCP clients show, "text" for text, or
// "" for anything else.
func contentKind(contentType string) string {
	mt := mediaType(contentType)
	switch {
	case mt == "image/png" || mt == "image/jpeg" || mt == "image/gif" || mt == "image/webp":
		return "image"
	case strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" ||
		strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") || mt == "application/yaml":
		return "text"
	}
	return ""
}

// mediaType is contentType without its parameters, lower case.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	return mt
}

// wantsStash reports whether a run sends stash_id: always for actions that
// need File Stash, and when the caller asked (_stash) for those it is
// optional for.
func wantsStash(stash string, asked bool) bool {
	return stash == pdclient.StashRequired || (stash == pdclient.StashOptional && asked)
}
