package pdtest

// This file owns File Stash: the files a run writes when it has a stash
// (runSpec.Files), listed in exports.$filestash_uploads as the API does, and
// GET .../file_stash/download?s3_key= that serves them back.

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// fileSpec is one file an action writes to its File Stash when it runs with
// a stash_id. Text is a template (see template.go); Base64 is binary content.
type fileSpec struct {
	Path        string `json:"path"` // under /tmp
	ContentType string `json:"content_type"`
	Text        string `json:"text"`
	Base64      string `json:"base64"`
}

// stashedFile is a file in the fake's File Stash.
type stashedFile struct {
	contentType string
	data        []byte
}

// maxStashedFiles bounds the fake's File Stash (the oldest go first).
const maxStashedFiles = 1000

// stashUpload is one exports.$filestash_uploads entry.
type stashUpload struct {
	LocalPath string `json:"localPath"`
	S3Key     string `json:"s3Key"`
	GetURL    string `json:"get_url"`
}

// writeStash stores the files of spec for one run with stash stashID and
// returns their $filestash_uploads entries.
func (f *Fake) writeStash(stashID string, files []fileSpec, tc *templateContext) []stashUpload {
	out := make([]stashUpload, 0, len(files))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fs := range files {
		data := []byte(stringify(tc.renderString(fs.Text)))
		if fs.Base64 != "" {
			data, _ = base64.StdEncoding.DecodeString(fs.Base64) // checked when the catalog loads
		}
		key := "1/" + f.cfg.ProjectID + "/" + stashID + "/" + fs.Path
		if _, ok := f.stash[key]; !ok {
			f.stashOrder = append(f.stashOrder, key)
		}
		f.stash[key] = stashedFile{contentType: fs.ContentType, data: data}
		for len(f.stashOrder) > maxStashedFiles {
			delete(f.stash, f.stashOrder[0])
			f.stashOrder = f.stashOrder[1:]
		}
		out = append(out, stashUpload{
			LocalPath: "/tmp/" + fs.Path,
			S3Key:     key,
			GetURL:    "https://pipedream-file-stash-production.s3.amazonaws.com/" + key + "?X-Amz-Expires=1800&X-Amz-Signature=" + randomHex(64),
		})
	}
	return out
}

// handleStashDownload serves GET .../file_stash/download?s3_key=.
func (f *Fake) handleStashDownload(w http.ResponseWriter, r *http.Request, _ string) {
	key := r.URL.Query().Get("s3_key")
	if key == "" {
		writeError(w, http.StatusBadRequest, "s3_key is required")
		return
	}
	f.mu.Lock()
	file, ok := f.stash[key]
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "file not found (File Stash keeps files 24 hours)")
		return
	}
	ct := file.contentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(file.data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(file.data)
}
