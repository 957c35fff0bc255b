package server

// MCP tasks for tool calls, in both protocol eras mcp-go serves:
//
//   - 2025-11-25 (legacy era): a tools/call with params.task gets a
//     CreateTaskResult at once; tasks/get, tasks/result (waits for the end),
//     tasks/cancel and tasks/list (the caller's own tasks) follow.
//   - 2026-07-28 (modern era, the io.modelcontextprotocol/tasks extension): a
//     tools/call whose client declares the extension runs as usual, and if it
//     outlives the call timeout the answer is a task handle (resultType
//     "task"); tasks/get carries the result inline once the task ends,
//     tasks/cancel and tasks/update are acknowledged.
//
// This package keeps the tasks instead of mcp-go (v1.2.1), whose task store
// runs a task under the context of the request that created it (which ends
// with the response), keeps results without a TTL forever, announces every
// task's status to every session, and does not bind a task to its user. Here
// a task belongs to the user (and endpoint) that created it, every lookup
// checks that, a user has at most MaxRunningTasksPerUser running and
// MaxKeptTasksPerUser kept, and a task is dropped (stopped, if still running)
// when its lifetime ends.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

const (
	// TasksExtension is the 2026-07-28 extension a client declares in a
	// request's capabilities to take a task handle for an answer.
	TasksExtension = "io.modelcontextprotocol/tasks"
	// MaxRunningTasksPerUser bounds the tasks one user has running at once.
	MaxRunningTasksPerUser = 16
	// MaxKeptTasksPerUser bounds the tasks (running or ended) one user has;
	// beyond it the oldest ended task is dropped.
	MaxKeptTasksPerUser = 64
	// DefaultTaskTTL is a task's lifetime (from its creation) when the client
	// asks for none; MinTaskTTL and MaxTaskTTL bound what a client asks.
	DefaultTaskTTL = 15 * time.Minute
	MinTaskTTL     = time.Minute
	MaxTaskTTL     = time.Hour
	// TaskPollInterval is the polling interval suggested to clients.
	TaskPollInterval = 2 * time.Second
)

// TaskOptions configure MCP tasks.
type TaskOptions struct {
	// Wait is how long a call from a client that takes task handles runs
	// before the answer becomes a task (the call timeout). Zero: calls never
	// become tasks on their own (a client's task-augmented call still does).
	Wait time.Duration
	// RunContext, when set, marks the context of a call that may continue as
	// a task with the longest it may run (the task's lifetime), so the tool
	// set lets it run past its own call deadline.
	RunContext func(ctx context.Context, limit time.Duration) context.Context
}

// HeaderTaskID is the HTTP response header that names the task an answer
// created, so that a load balancer can send the requests naming it
// (tasks/*, whose Mcp-Name header is the task id) to the replica that runs it.
const HeaderTaskID = "Mcp-Task-Id"

// createdTask is the id of the task resp created, "" when it created none.
func createdTask(resp any) string {
	r, ok := resp.(mcp.JSONRPCResponse)
	if !ok {
		return ""
	}
	switch res := r.Result.(type) {
	case mcp.CreateTaskResult:
		return res.Task.TaskId
	case modernTask:
		if res.ResultType == "task" {
			return res.TaskID
		}
	}
	return ""
}

// taskStore keeps the tasks of one server.
type taskStore struct {
	srv  *Server
	opts TaskOptions

	mu     sync.Mutex
	tasks  map[string]*task
	owners map[string]*ownerTasks
}

// ownerTasks counts one owner's tasks.
type ownerTasks struct{ running, kept int }

// task is one tool call run as a task. The fields after the first group are
// guarded by taskStore.mu.
type task struct {
	id, owner, tool string
	created         time.Time
	ttl             time.Duration
	cancel          context.CancelFunc
	done            chan struct{} // closed when the task ends
	expiry          *time.Timer

	status  mcp.TaskStatus
	message string
	updated time.Time
	result  json.RawMessage          // completed: the CallToolResult
	rpcErr  *mcp.JSONRPCErrorDetails // failed: the JSON-RPC error
}

func newTaskStore(srv *Server, opts TaskOptions) *taskStore {
	return &taskStore{srv: srv, opts: opts, tasks: map[string]*task{}, owners: map[string]*ownerTasks{}}
}

// taskMessage is what the task layer reads of a JSON-RPC message.
type taskMessage struct {
	rpcPeek
	Params struct {
		Name   string `json:"name"`
		TaskID string `json:"taskId"`
		Task   *struct {
			TTL *int64 `json:"ttl"`
		} `json:"task"`
		Meta struct {
			ProtocolVersion    string `json:"io.modelcontextprotocol/protocolVersion"`
			ClientCapabilities *struct {
				Extensions map[string]json.RawMessage `json:"extensions"`
			} `json:"io.modelcontextprotocol/clientCapabilities"`
		} `json:"_meta"`
	} `json:"params"`
}

func (m *taskMessage) modern() bool { return mcp.IsModernProtocol(m.Params.Meta.ProtocolVersion) }

// takesTaskHandles reports a modern request whose client declared the tasks
// extension.
func (m *taskMessage) takesTaskHandles() bool {
	caps := m.Params.Meta.ClientCapabilities
	if !m.modern() || caps == nil {
		return false
	}
	_, ok := caps.Extensions[TasksExtension]
	return ok
}

// mentionsTasks is a cheap test that lets every message that cannot concern
// tasks through without being decoded again.
func mentionsTasks(msg []byte) bool {
	return bytes.Contains(msg, []byte(`"task`)) || bytes.Contains(msg, []byte(`/tasks"`))
}

// peekTaskMessage decodes msg when the task layer answers it: a tasks/*
// request, a legacy tools/call with params.task, or a modern tools/call from
// a client that takes task handles.
func peekTaskMessage(msg []byte) (*taskMessage, bool) {
	if !mentionsTasks(msg) {
		return nil, false
	}
	var m taskMessage
	if json.Unmarshal(msg, &m) != nil || !m.expectsResponse() {
		return nil, false
	}
	switch {
	case len(m.Method) > len("tasks/") && m.Method[:len("tasks/")] == "tasks/":
		return &m, true
	case m.Method == string(mcp.MethodToolsCall):
		return &m, (!m.modern() && m.Params.Task != nil) || m.takesTaskHandles()
	}
	return nil, false
}

// serve answers a message peekTaskMessage accepted, for owner (the user and
// endpoint whose tasks these are). It returns nil when the message is left to
// mcp-go after all: a modern call from a user at the running-task bound runs
// as an ordinary call.
func (ts *taskStore) serve(ctx context.Context, m *taskMessage, raw []byte, owner string) any {
	id := mcp.NewRequestId(m.id())
	modern := m.modern()
	fail := func(code int, msg string) any { return mcp.NewJSONRPCError(id, code, msg, nil) }
	switch m.Method {
	case string(mcp.MethodToolsCall):
		if !ts.srv.serves(ctx, m.Params.Name) {
			// No task for a call that cannot run: the same error mcp-go gives.
			return fail(mcp.INVALID_PARAMS, fmt.Sprintf("tool '%s' not found: call tools/list for the tools this endpoint serves", m.Params.Name))
		}
		if modern {
			return ts.callMayBecomeTask(ctx, m, raw, owner, id)
		}
		t, err := ts.start(ctx, m, raw, owner, clampTTL(m.Params.Task.TTL))
		if err != nil {
			return fail(mcp.INVALID_REQUEST, err.Error())
		}
		return mcp.NewJSONRPCResultResponse(id, mcp.CreateTaskResult{Task: ts.legacyTask(t)})
	case string(mcp.MethodTasksList):
		if modern {
			return fail(mcp.METHOD_NOT_FOUND, "tasks/list was removed in protocol version 2026-07-28: keep the task ids you are given")
		}
		return mcp.NewJSONRPCResultResponse(id, mcp.NewListTasksResult(ts.list(owner)))
	case string(mcp.MethodTasksGet), string(mcp.MethodTasksResult), string(mcp.MethodTasksCancel), "tasks/update":
	default:
		return fail(mcp.METHOD_NOT_FOUND, fmt.Sprintf("method %q not found; the task methods are tasks/get, tasks/cancel and, before protocol version 2026-07-28, tasks/result and tasks/list", m.Method))
	}
	if m.Params.TaskID == "" {
		return fail(mcp.INVALID_PARAMS, "params.taskId is required: the id the task was created with")
	}
	switch m.Method {
	case "tasks/update":
		if !modern {
			return fail(mcp.METHOD_NOT_FOUND, "tasks/update exists from protocol version 2026-07-28 on")
		}
		// This server's tasks never wait for input: nothing to update.
		return mcp.NewJSONRPCResultResponse(id, ack())
	case string(mcp.MethodTasksCancel):
		t, err := ts.cancelTask(owner, m.Params.TaskID)
		switch {
		case modern:
			// The extension acknowledges every cancellation, even of a task
			// unknown or ended: tasks/get shows the outcome.
			return mcp.NewJSONRPCResultResponse(id, ack())
		case err != nil:
			return fail(mcp.INVALID_PARAMS, err.Error())
		}
		return mcp.NewJSONRPCResultResponse(id, mcp.NewCancelTaskResult(ts.legacyTask(t)))
	case string(mcp.MethodTasksResult):
		if modern {
			return fail(mcp.METHOD_NOT_FOUND, "tasks/result was removed in protocol version 2026-07-28: tasks/get carries the result once the task has ended")
		}
		return ts.legacyResult(ctx, owner, m.Params.TaskID, id)
	}
	t := ts.lookup(owner, m.Params.TaskID)
	if t == nil {
		return fail(mcp.INVALID_PARAMS, unknownTask(m.Params.TaskID))
	}
	if modern {
		return mcp.NewJSONRPCResultResponse(id, ts.modernTask(t, "complete", true))
	}
	return mcp.NewJSONRPCResultResponse(id, mcp.NewGetTaskResult(ts.legacyTask(t)))
}

func ack() map[string]any { return map[string]any{"resultType": "complete"} }

func unknownTask(id string) string {
	return fmt.Sprintf("no task %q here: it never existed, belongs to another user, or has ended its lifetime (tasks are kept %s by default, at most %s)", id, DefaultTaskTTL, MaxTaskTTL)
}

// clampTTL turns a legacy task request's ttl (milliseconds) into a lifetime
// within [MinTaskTTL, MaxTaskTTL].
func clampTTL(ms *int64) time.Duration {
	if ms == nil || *ms <= 0 {
		return DefaultTaskTTL
	}
	return min(max(time.Duration(*ms)*time.Millisecond, MinTaskTTL), MaxTaskTTL)
}

// callMayBecomeTask runs a modern call whose client takes task handles: its
// result when it ends within the call timeout, a task handle otherwise.
func (ts *taskStore) callMayBecomeTask(ctx context.Context, m *taskMessage, raw []byte, owner string, id mcp.RequestId) any {
	if ts.opts.Wait <= 0 {
		return nil // an ordinary call
	}
	t, err := ts.start(ctx, m, raw, owner, DefaultTaskTTL)
	if err != nil {
		return nil // at the bound: an ordinary call
	}
	timer := time.NewTimer(ts.opts.Wait)
	defer timer.Stop()
	select {
	case <-t.done:
		// The client never saw this task: answer as an ordinary call.
		ts.drop(t)
		ts.mu.Lock()
		result, rpcErr := t.result, t.rpcErr
		ts.mu.Unlock()
		if rpcErr != nil {
			return mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: *rpcErr}
		}
		return mcp.NewJSONRPCResultResponse(id, result)
	case <-timer.C:
		return mcp.NewJSONRPCResultResponse(id, ts.modernTask(t, "task", false))
	case <-ctx.Done():
		// The client left before either: nobody can reach this task.
		ts.cancelTask(owner, t.id)
		ts.drop(t)
		return nil
	}
}

// start creates a task for the tools/call m and runs it through mcp-go, under
// a context that outlives the request (with ctx's values: the caller's
// identity).
func (ts *taskStore) start(ctx context.Context, m *taskMessage, raw []byte, owner string, ttl time.Duration) (*task, error) {
	msg, err := callWithoutTask(raw)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := ts.runContext(ctx, ttl)
	t, err := ts.register(owner, m.Params.Name, ttl, cancel)
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer cancel()
		ts.finish(t, ts.srv.mcp.HandleMessage(runCtx, msg))
	}()
	return t, nil
}

// taskRunKey marks the context of a call run as a task.
type taskRunKey struct{}

// runContext is the context of a call that runs (or may run) as a task: ctx's
// values without its cancellation, marked, and let run for ttl.
func (ts *taskStore) runContext(ctx context.Context, ttl time.Duration) (context.Context, context.CancelFunc) {
	runCtx, cancel := context.WithCancel(context.WithValue(context.WithoutCancel(ctx), taskRunKey{}, true))
	if ts.opts.RunContext != nil {
		runCtx = ts.opts.RunContext(runCtx, ttl)
	}
	return runCtx, cancel
}

// register creates a working task for owner's call of tool, whose run
// cancel stops; it refuses beyond MaxRunningTasksPerUser.
func (ts *taskStore) register(owner, tool string, ttl time.Duration, cancel context.CancelFunc) (*task, error) {
	now := time.Now()
	t := &task{id: newTaskID(), owner: owner, tool: tool, created: now, ttl: ttl, cancel: cancel,
		done: make(chan struct{}), status: mcp.TaskStatusWorking, updated: now}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	o := ts.owners[owner]
	if o == nil {
		o = &ownerTasks{}
		ts.owners[owner] = o
	}
	if o.running >= MaxRunningTasksPerUser {
		return nil, fmt.Errorf("you have %d tasks running, the most this server runs at once for one user: wait for one to end (tasks/get) or cancel one (tasks/cancel), then call again", MaxRunningTasksPerUser)
	}
	if o.kept >= MaxKeptTasksPerUser {
		ts.evictOldestEndedLocked(owner)
	}
	o.running++
	o.kept++
	ts.tasks[t.id] = t
	t.expiry = time.AfterFunc(ttl, func() { ts.expire(t) })
	ts.srv.log.Debug("task started", "task", t.id, "tool", tool, "ttl", ttl)
	return t, nil
}

// taskOwner is whose tasks a request reaches: the HTTP user at the endpoint,
// or the one stdio client.
func taskOwner(ctx context.Context) string {
	if p, ok := principalFrom(ctx); ok {
		return p.user + "\x00" + p.endpoint
	}
	return stdioTaskOwner
}

// stdioTaskOwner owns the tasks of the one stdio client.
const stdioTaskOwner = "stdio"

// continueAsTask lets the call of a 2025-11-25 client that declared the
// tasks capability, but did not ask for a task, run past the call timeout:
// at the timeout a task takes the running call over, and the answer names
// it (tasks/get, tasks/result). Other calls, and calls beyond the user's
// running-task bound, end at the call timeout as before.
func (s *Server) continueAsTask(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if s.tasks.opts.Wait <= 0 || ctx.Value(taskRunKey{}) != nil || !declaresLegacyTasks(ctx) {
			return next(ctx, req)
		}
		ts := s.tasks
		runCtx, cancel := ts.runContext(ctx, DefaultTaskTTL)
		unlink := context.AfterFunc(ctx, cancel) // until a task takes the call over
		type outcome struct {
			res *mcp.CallToolResult
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := next(runCtx, req)
			done <- outcome{res, err}
		}()
		timer := time.NewTimer(ts.opts.Wait)
		defer timer.Stop()
		select {
		case o := <-done:
			unlink()
			cancel()
			return o.res, o.err
		case <-timer.C:
		}
		var t *task
		var refused error
		if unlink() { // the request is still on
			t, refused = ts.register(taskOwner(ctx), req.Params.Name, DefaultTaskTTL, cancel)
		}
		if t == nil {
			cancel()
			o := <-done
			if refused != nil && o.res != nil {
				o.res.Content = append(o.res.Content, mcp.NewTextContent(fmt.Sprintf(
					"It was stopped at the call timeout (%s) instead of continuing as a task: %v", ts.opts.Wait, refused)))
			}
			return o.res, o.err
		}
		go func() {
			o := <-done
			if o.err != nil {
				ts.finish(t, mcp.NewJSONRPCError(mcp.NewRequestId(nil), mcp.INTERNAL_ERROR, o.err.Error(), nil))
				return
			}
			ts.finish(t, mcp.NewJSONRPCResultResponse(mcp.NewRequestId(nil), o.res))
		}()
		res := mcp.NewToolResultText(fmt.Sprintf("The call is still running after %s and continues as task %s: it was not stopped. "+
			"Poll tasks/get with this taskId (every %s); tasks/result returns the call's result once it has ended. The task is kept %s.",
			ts.opts.Wait, t.id, TaskPollInterval, DefaultTaskTTL))
		res.Meta = mcp.NewMetaFromMap(map[string]any{mcp.RelatedTaskMetaKey: map[string]any{"taskId": t.id}})
		return res, nil
	}
}

// declaresLegacyTasks reports a 2025-11-25 session whose client declared the
// tasks capability.
func declaresLegacyTasks(ctx context.Context) bool {
	if info := mcpserver.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return false
	}
	s, ok := mcpserver.ClientSessionFromContext(ctx).(mcpserver.SessionWithClientInfo)
	return ok && s.GetClientCapabilities().Tasks != nil
}

// callWithoutTask is the tools/call raw without params.task: the message run
// as an ordinary call by mcp-go, under an id of its own.
func callWithoutTask(raw []byte) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("tools/call is not a JSON object: %w", err)
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(top["params"], &params); err != nil || params == nil {
		return nil, fmt.Errorf("tools/call needs params with the tool's name and arguments")
	}
	delete(params, "task")
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	top["params"] = p
	top["id"] = json.RawMessage(`"task-run"`)
	return json.Marshal(top)
}

func newTaskID() string { return "task-" + rand.Text() }

// finish records how a task's run ended, unless the task ended first
// (cancelled or expired).
func (ts *taskStore) finish(t *task, resp any) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.status != mcp.TaskStatusWorking {
		return
	}
	switch r := resp.(type) {
	case mcp.JSONRPCResponse:
		b, err := json.Marshal(r.Result)
		if err == nil {
			t.status, t.result = mcp.TaskStatusCompleted, b
			break
		}
		t.status, t.rpcErr = mcp.TaskStatusFailed, &mcp.JSONRPCErrorDetails{Code: mcp.INTERNAL_ERROR, Message: "the result could not be encoded: " + err.Error()}
	case mcp.JSONRPCError:
		t.status, t.rpcErr = mcp.TaskStatusFailed, &r.Error
		t.message = r.Error.Message
	default:
		t.status, t.rpcErr = mcp.TaskStatusFailed, &mcp.JSONRPCErrorDetails{Code: mcp.INTERNAL_ERROR, Message: "the call ended without an answer"}
	}
	ts.endLocked(t)
}

// endLocked marks t ended (its status set) and wakes its waiters.
func (ts *taskStore) endLocked(t *task) {
	t.updated = time.Now()
	close(t.done)
	if o := ts.owners[t.owner]; o != nil {
		o.running--
	}
}

// cancelTask cancels owner's running task id.
func (ts *taskStore) cancelTask(owner, id string) (*task, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.tasks[id]
	if t == nil || t.owner != owner {
		return nil, errors.New(unknownTask(id))
	}
	if t.status != mcp.TaskStatusWorking {
		return nil, fmt.Errorf("task %q has already ended (%s): there is nothing to cancel; tasks/result has its outcome", id, t.status)
	}
	t.status = mcp.TaskStatusCancelled
	t.message = "cancelled at the client's request; the upstream request was stopped, so the action may or may not have run"
	t.cancel()
	ts.endLocked(t)
	return t, nil
}

// expire ends a task's lifetime: a running task is stopped, and the task is
// forgotten.
func (ts *taskStore) expire(t *task) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.status == mcp.TaskStatusWorking {
		t.status = mcp.TaskStatusCancelled
		t.message = fmt.Sprintf("stopped: still running at the end of its lifetime (%s)", t.ttl)
		t.cancel()
		ts.endLocked(t)
	}
	ts.forgetLocked(t)
}

// drop forgets an ended task at once.
func (ts *taskStore) drop(t *task) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.forgetLocked(t)
}

func (ts *taskStore) forgetLocked(t *task) {
	if ts.tasks[t.id] != t {
		return
	}
	delete(ts.tasks, t.id)
	t.expiry.Stop()
	if o := ts.owners[t.owner]; o != nil {
		if o.kept--; o.kept == 0 && o.running == 0 {
			delete(ts.owners, t.owner)
		}
	}
}

// evictOldestEndedLocked forgets owner's oldest ended task.
func (ts *taskStore) evictOldestEndedLocked(owner string) {
	var oldest *task
	for _, t := range ts.tasks {
		if t.owner == owner && t.status != mcp.TaskStatusWorking && (oldest == nil || t.created.Before(oldest.created)) {
			oldest = t
		}
	}
	if oldest != nil {
		ts.forgetLocked(oldest)
	}
}

// lookup finds owner's task id; another owner's task is not found.
func (ts *taskStore) lookup(owner, id string) *task {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t := ts.tasks[id]; t != nil && t.owner == owner {
		return t
	}
	return nil
}

// list is owner's tasks, oldest first.
func (ts *taskStore) list(owner string) []mcp.Task {
	ts.mu.Lock()
	var mine []*task
	for _, t := range ts.tasks {
		if t.owner == owner {
			mine = append(mine, t)
		}
	}
	ts.mu.Unlock()
	out := make([]mcp.Task, 0, len(mine))
	for _, t := range mine {
		out = append(out, ts.legacyTask(t))
	}
	slices.SortFunc(out, func(a, b mcp.Task) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.TaskId, b.TaskId))
	})
	return out
}

// legacyResult answers tasks/result: the call's result once the task ends.
func (ts *taskStore) legacyResult(ctx context.Context, owner, taskID string, id mcp.RequestId) any {
	t := ts.lookup(owner, taskID)
	if t == nil {
		return mcp.NewJSONRPCError(id, mcp.INVALID_PARAMS, unknownTask(taskID), nil)
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return mcp.NewJSONRPCError(id, mcp.REQUEST_INTERRUPTED, "the request ended before the task did; call tasks/result again", nil)
	}
	ts.mu.Lock()
	status, message, result, rpcErr := t.status, t.message, t.result, t.rpcErr
	ts.mu.Unlock()
	switch {
	case rpcErr != nil:
		return mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: *rpcErr}
	case status == mcp.TaskStatusCancelled:
		return mcp.NewJSONRPCError(id, mcp.INVALID_PARAMS, fmt.Sprintf("task %q has no result: %s", taskID, message), nil)
	}
	return mcp.NewJSONRPCResultResponse(id, withRelatedTask(result, taskID))
}

// withRelatedTask adds the related-task _meta to a stored result.
func withRelatedTask(result json.RawMessage, taskID string) json.RawMessage {
	var fields map[string]json.RawMessage
	if json.Unmarshal(result, &fields) != nil || fields == nil {
		return result
	}
	var meta map[string]any
	_ = json.Unmarshal(fields["_meta"], &meta)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[mcp.RelatedTaskMetaKey] = map[string]string{"taskId": taskID}
	b, err := json.Marshal(meta)
	if err != nil {
		return result
	}
	fields["_meta"] = b
	out, err := json.Marshal(fields)
	if err != nil {
		return result
	}
	return out
}

// legacyTask is t as the 2025-11-25 Task.
func (ts *taskStore) legacyTask(t *task) mcp.Task {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ttl, poll := t.ttl.Milliseconds(), TaskPollInterval.Milliseconds()
	return mcp.Task{TaskId: t.id, Status: t.status, StatusMessage: t.message,
		CreatedAt: stamp(t.created), LastUpdatedAt: stamp(t.updated), TTL: &ttl, PollInterval: &poll}
}

// modernTask is a 2026-07-28 task result: a CreateTaskResult (resultType
// "task") or, with detail, a tasks/get answer with the result or error of an
// ended task inline.
type modernTask struct {
	ResultType    string                   `json:"resultType"`
	TaskID        string                   `json:"taskId"`
	Status        mcp.TaskStatus           `json:"status"`
	StatusMessage string                   `json:"statusMessage,omitempty"`
	CreatedAt     string                   `json:"createdAt"`
	LastUpdatedAt string                   `json:"lastUpdatedAt"`
	TTLSeconds    int64                    `json:"ttlSeconds"`
	PollInterval  int64                    `json:"pollIntervalMilliseconds"`
	Result        json.RawMessage          `json:"result,omitempty"`
	Error         *mcp.JSONRPCErrorDetails `json:"error,omitempty"`
}

func (ts *taskStore) modernTask(t *task, resultType string, detail bool) modernTask {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	mt := modernTask{ResultType: resultType, TaskID: t.id, Status: t.status, StatusMessage: t.message,
		CreatedAt: stamp(t.created), LastUpdatedAt: stamp(t.updated),
		TTLSeconds: int64(t.ttl / time.Second), PollInterval: TaskPollInterval.Milliseconds()}
	if mt.Status == mcp.TaskStatusWorking && mt.StatusMessage == "" {
		mt.StatusMessage = fmt.Sprintf("%s is still running; poll tasks/get every %s", t.tool, TaskPollInterval)
	}
	if detail {
		mt.Result, mt.Error = t.result, t.rpcErr
	}
	return mt
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// cancelAll stops every running task (shutdown).
func (ts *taskStore) cancelAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.tasks {
		if t.status == mcp.TaskStatusWorking {
			t.status = mcp.TaskStatusCancelled
			t.message = "stopped: the server shut down"
			t.cancel()
			ts.endLocked(t)
		}
	}
}

// serves reports whether the tool name is served to ctx's caller (once the
// catalogs are in, or ListWait has passed).
func (s *Server) serves(ctx context.Context, name string) bool {
	if !s.tools.Ready() { // as a call does (New's hook): a cold start's tools
		s.tools.WaitReady(ctx, s.listWait)
	}
	st := s.mcp.GetTool(name)
	return st != nil && len(s.tools.Filter(ctx, []mcp.Tool{st.Tool})) == 1
}

// Tasks is the number of tasks kept (running or ended), for tests.
func (s *Server) Tasks() int {
	_, kept := s.tasks.counts()
	return kept
}

// counts is how many tasks run and how many are kept.
func (ts *taskStore) counts() (running, kept int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, o := range ts.owners {
		running += o.running
	}
	return running, len(ts.tasks)
}
