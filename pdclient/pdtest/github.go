package pdtest

// This file simulates a small part of GitHub's REST API (api.github.com) for
// the proxy: the authenticated user, repositories, and their issues (list,
// create, update), with GitHub's error shapes ({"message",
// "documentation_url"}, 422 "Validation Failed" with errors[]).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// githubRepos are the repositories the simulated API knows.
var githubRepos = []string{"octo-org/api", "octo-org/web"}

// githubIssue is an issue as the simulated API stores it.
type githubIssue struct {
	Number    int      `json:"number"`
	Title     string   `json:"title"`
	Body      string   `json:"body"`
	State     string   `json:"state"`
	Labels    []string `json:"labels"`
	User      string   `json:"user"`
	CreatedAt string   `json:"created_at"`
}

// githubAPI is the simulated API's state: the issues of each repository.
type githubAPI struct {
	mu     sync.Mutex
	issues map[string][]*githubIssue
}

func newGitHubAPI() *githubAPI {
	g := &githubAPI{issues: map[string][]*githubIssue{}}
	for _, repo := range githubRepos {
		g.issues[repo] = []*githubIssue{
			{Number: 1, Title: "Login page times out", Body: "Steps to reproduce: ...", State: "open", Labels: []string{"bug"}, User: "octocat", CreatedAt: "2025-01-06T09:00:00Z"},
			{Number: 2, Title: "Document the rate limits", State: "closed", Labels: []string{"docs"}, User: "hubot", CreatedAt: "2025-01-07T10:30:00Z"},
		}
	}
	return g
}

// githubLogin is the user name of an account on the simulated GitHub.
func githubLogin(a Account) string {
	if a.Name != "" {
		return strings.ToLower(strings.ReplaceAll(a.Name, " ", "-"))
	}
	return "user-" + strings.TrimPrefix(a.ID, "apn_")
}

const githubDocs = "https://docs.github.com/rest"

func (g *githubAPI) serve(w http.ResponseWriter, c appCall) {
	if c.url.Host != "api.github.com" {
		githubError(w, http.StatusNotFound, "Not Found")
		return
	}
	if !strings.HasPrefix(c.credential, "gho_") {
		githubError(w, http.StatusUnauthorized, "Requires authentication")
		return
	}
	segs := strings.Split(strings.Trim(c.url.Path, "/"), "/")
	switch {
	case len(segs) == 1 && segs[0] == "user" && c.method == http.MethodGet:
		githubJSON(w, http.StatusOK, map[string]any{"login": c.login, "id": 583231, "type": "User", "html_url": "https://github.com/" + c.login})
	case len(segs) == 3 && segs[0] == "repos" && c.method == http.MethodGet:
		g.repo(w, segs[1]+"/"+segs[2])
	case len(segs) == 4 && segs[0] == "repos" && segs[3] == "issues" && c.method == http.MethodGet:
		g.listIssues(w, segs[1]+"/"+segs[2], c)
	case len(segs) == 4 && segs[0] == "repos" && segs[3] == "issues" && c.method == http.MethodPost:
		g.createIssue(w, segs[1]+"/"+segs[2], c)
	case len(segs) == 5 && segs[0] == "repos" && segs[3] == "issues" && c.method == http.MethodPatch:
		g.updateIssue(w, segs[1]+"/"+segs[2], segs[4], c)
	default:
		githubError(w, http.StatusNotFound, "Not Found")
	}
}

func (g *githubAPI) known(repo string) bool {
	_, ok := g.issues[repo]
	return ok
}

func (g *githubAPI) repo(w http.ResponseWriter, repo string) {
	g.mu.Lock()
	ok := g.known(repo)
	g.mu.Unlock()
	if !ok {
		githubError(w, http.StatusNotFound, "Not Found")
		return
	}
	githubJSON(w, http.StatusOK, map[string]any{"full_name": repo, "private": false, "default_branch": "main", "html_url": "https://github.com/" + repo})
}

func (g *githubAPI) listIssues(w http.ResponseWriter, repo string, c appCall) {
	q := c.url.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 30
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.known(repo) {
		githubError(w, http.StatusNotFound, "Not Found")
		return
	}
	out := []map[string]any{}
	for _, is := range g.issues[repo] {
		if (state == "all" || is.State == state) && len(out) < perPage {
			out = append(out, issueJSON(repo, is))
		}
	}
	githubJSON(w, http.StatusOK, out)
}

type issueInput struct {
	Title  *string  `json:"title"`
	Body   *string  `json:"body"`
	State  *string  `json:"state"`
	Labels []string `json:"labels"`
}

func (g *githubAPI) createIssue(w http.ResponseWriter, repo string, c appCall) {
	var in issueInput
	if err := json.Unmarshal(c.body, &in); err != nil {
		githubError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		githubJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message": "Validation Failed", "documentation_url": githubDocs + "/issues/issues#create-an-issue",
			"errors": []map[string]string{{"resource": "Issue", "code": "missing_field", "field": "title"}},
		})
		return
	}
	g.mu.Lock()
	if !g.known(repo) {
		g.mu.Unlock()
		githubError(w, http.StatusNotFound, "Not Found")
		return
	}
	is := &githubIssue{Number: len(g.issues[repo]) + 1, Title: *in.Title, State: "open", Labels: in.Labels, User: c.login, CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	if in.Body != nil {
		is.Body = *in.Body
	}
	g.issues[repo] = append(g.issues[repo], is)
	out := issueJSON(repo, is)
	g.mu.Unlock()
	w.Header().Set("Location", out["url"].(string))
	githubJSON(w, http.StatusCreated, out)
}

func (g *githubAPI) updateIssue(w http.ResponseWriter, repo, num string, c appCall) {
	var in issueInput
	if err := json.Unmarshal(c.body, &in); err != nil {
		githubError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	n, _ := strconv.Atoi(num)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.known(repo) || n < 1 || n > len(g.issues[repo]) {
		githubError(w, http.StatusNotFound, "Not Found")
		return
	}
	is := g.issues[repo][n-1]
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		githubJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message": "Validation Failed", "documentation_url": githubDocs + "/issues/issues#update-an-issue",
			"errors": []map[string]string{{"resource": "Issue", "code": "invalid", "field": "state"}},
		})
		return
	}
	if in.Title != nil {
		is.Title = *in.Title
	}
	if in.Body != nil {
		is.Body = *in.Body
	}
	if in.State != nil {
		is.State = *in.State
	}
	if in.Labels != nil {
		is.Labels = in.Labels
	}
	githubJSON(w, http.StatusOK, issueJSON(repo, is))
}

func issueJSON(repo string, is *githubIssue) map[string]any {
	labels := make([]map[string]string, 0, len(is.Labels))
	for _, l := range is.Labels {
		labels = append(labels, map[string]string{"name": l})
	}
	return map[string]any{
		"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
		"user":       map[string]string{"login": is.User},
		"html_url":   fmt.Sprintf("https://github.com/%s/issues/%d", repo, is.Number),
		"url":        fmt.Sprintf("https://api.github.com/repos/%s/issues/%d", repo, is.Number),
		"created_at": is.CreatedAt,
	}
}

func githubError(w http.ResponseWriter, status int, msg string) {
	githubJSON(w, status, map[string]string{"message": msg, "documentation_url": githubDocs})
}

// githubJSON answers as GitHub does, with its request id and rate-limit
// headers, and a session cookie no proxy result may show.
func githubJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("X-GitHub-Request-Id", "C0DE:"+randomHex(8))
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("Set-Cookie", "_gh_sess="+randomHex(32)+"; Path=/; Secure; HttpOnly")
	writeJSON(w, status, v)
}
