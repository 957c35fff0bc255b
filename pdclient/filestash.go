package pdclient

// This file owns File Stash downloads: the files an action wrote to its
// stash, read back with the project's credentials
// (docs-v2/pages/connect/components/files.mdx).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// StashFile is a File Stash file, or its first bytes.
type StashFile struct {
	ContentType string
	// Body is at most the limit asked for; Truncated says there was more.
	Body      []byte
	Truncated bool
}

// DownloadFile reads the File Stash file s3Key, at most limit bytes of it
// (the rest is not read; Truncated is set). It is not retried: a failed
// download leaves the file's link, which the caller still has.
//
// Endpoint: GET /v1/connect/{project_id}/file_stash/download?s3_key=
func (c *Client) DownloadFile(ctx context.Context, s3Key string, limit int64) (*StashFile, error) {
	if s3Key == "" || limit <= 0 {
		return nil, errors.New("pdclient: download file: s3 key and a positive limit are required")
	}
	rel, err := c.projectPath("file_stash", "download")
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, rel, url.Values{"s3_key": {s3Key}}, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "*/*")
	path := c.apiPath(req)
	resp, err := c.sendOnce(req, path)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.checkResponse(resp, req.Method, path)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("pdclient: GET %s: reading file: %w", path, err)
	}
	f := &StashFile{ContentType: resp.Header.Get("Content-Type"), Body: data}
	if int64(len(data)) > limit {
		f.Body, f.Truncated = data[:limit], true
	}
	return f, nil
}
