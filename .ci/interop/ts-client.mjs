// Drives pipedream-mcp with the official TypeScript SDK client (pinned in
// package.json): connect, list tools, call a tool and read its
// structuredContent, receive notifications/tools/list_changed after a catalog
// update (a SIGHUP reload of a config file that gains `- app: github`), and
// cancel a slow call, checking in the server's log that the server cancelled
// it too. run.sh runs it on every transport.
//
//   node ts-client.mjs stdio <config.yaml> <binary> [server args...]
//   node ts-client.mjs http  <url> <server pid> <config.yaml>
//   node ts-client.mjs sse   <url> <server pid> <config.yaml>
//   node ts-client.mjs profiles <url> <binary>
//   node ts-client.mjs long <url | "stdio"> <binary> [server args...]
//
// The profiles mode checks the schema profiles instead: one Streamable HTTP
// session per profile (<url>?schema_profile=...), and one stdio session with
// --schema-profile, each listing the tools (their schemas in the profile's
// shape) and calling pd_edge_all_prop_types with the same arguments written
// as that profile asks (nulls for absent optionals, a JSON-encoded object):
// the action, which echoes its input, must get the same input every time.
//
// The long mode checks long calls and confirmations (README, "Long calls and
// confirmations") against a server started with --confirm-destructive, over
// Streamable HTTP (<url>) or stdio (the binary, started with --sandbox and
// the args): a call with a progress token hears at least two progress
// notifications, growing, during a 4.5 s run; a task-augmented call (the
// SDK's experimental task client) is created, polled and its result read; a
// destructive action asks the user (form elicitation, answered yes) once and
// then runs.
//
// The config file must end inside its `connections:` list, serve slack and
// pd_edge, and not github. The server must log JSON (--log-format json).
// Environment:
//   AUTH_HEADER  sent as the Authorization header over HTTP (optional)
//   SERVER_LOG   the HTTP server's log file (required for http and sse)
//   EXPECT_USER  the end user the server must run calls as (default demo-user)
// Prints one "ok" line per check; exits 1 with a FAIL line on the first failure.
import { readFileSync, writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [mode, ...rest] = process.argv.slice(2);
const label = `[ts-sdk ${mode}${process.env.AUTH_HEADER ? " jwt" : ""}]`;
const fail = (msg) => { console.error(`FAIL ${label} ${msg}`); process.exit(1); };
const ok = (msg) => console.log(`ok   ${label} ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const expectUser = process.env.EXPECT_USER || "demo-user";
setTimeout(() => fail("timed out after 90 s"), 90_000).unref();

const headers = process.env.AUTH_HEADER ? { Authorization: process.env.AUTH_HEADER } : {};
if (mode === "profiles") await profiles(...rest);
if (mode === "long") await long(...rest);

let transport, pid, configFile;
let stdioLog = "";
const serverLog = () => (mode === "stdio" ? stdioLog : readFileSync(process.env.SERVER_LOG, "utf8"));

if (mode === "stdio") {
  const [cfg, bin, ...args] = rest;
  configFile = cfg;
  transport = new StdioClientTransport({ command: bin, args: ["--config", cfg, ...args], stderr: "pipe" });
  transport.stderr.on("data", (d) => { stdioLog += d; });
} else if (mode === "http" || mode === "sse") {
  const [url, p, cfg] = rest;
  pid = Number(p); configFile = cfg;
  if (!process.env.SERVER_LOG) fail("SERVER_LOG is not set");
  transport = mode === "http"
    ? new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } })
    : new SSEClientTransport(new URL(url), {
      requestInit: { headers },
      eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers || {}), ...headers } }) },
    });
} else {
  fail(`unknown mode ${mode}`);
}

// The client tells the transport the negotiated version; record it.
let negotiated;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => { negotiated = v; setVersion?.(v); };

const client = new Client({ name: "interop-ts", version: "1.0.0" });
let listChanged = 0;
client.setNotificationHandler(ToolListChangedNotificationSchema, () => { listChanged++; });

await client.connect(transport);
if (mode === "stdio") pid = transport.pid;
const server = client.getServerVersion();
if (server?.name !== "pipedream-mcp") fail(`server name ${server?.name}, want pipedream-mcp`);
if (negotiated !== "2025-11-25") fail(`negotiated protocol ${negotiated}, want 2025-11-25`);
if (!client.getInstructions()?.includes("pipedream_list_options")) fail("the initialize result carries no instructions");
if (!client.getServerCapabilities()?.tools?.listChanged) fail("the server does not advertise tools.listChanged");
ok(`connected to ${server.name} ${server.version}, protocol ${negotiated}`);

const names = async () => (await client.listTools()).tools.map((t) => t.name);
let tools = await names();
for (const want of ["slack_send_message_to_channel", "pd_edge_slow", "pipedream_list_options"]) {
  if (!tools.includes(want)) fail(`tools/list lacks ${want}: ${tools}`);
}
if (tools.some((n) => n.startsWith("github_"))) fail("github must not be served before the reload");
ok(`tools/list: ${tools.length} tools`);

const res = await client.callTool({ name: "slack_send_message_to_channel", arguments: { conversation: "C00001000", text: "interop" } });
const sc = res.structuredContent;
if (res.isError || sc?.status !== "success") fail(`call failed: ${JSON.stringify(res)}`);
if (sc.action !== "slack-send-message-to-channel" || !sc.account_id?.startsWith("apn_")) fail(`structuredContent lacks action or account: ${JSON.stringify(sc)}`);
if (!res.content?.[0]?.text?.startsWith(sc.summary)) fail(`the text content does not lead with the summary: ${JSON.stringify(res.content)}`);
ok(`tools/call: ${sc.summary}`);

// list_changed: add a connection to the config file and reload with SIGHUP.
// A notification may already be on its way (the catalog load at start), so
// wait for one after which tools/list shows the new connection.
const cfg = readFileSync(configFile, "utf8");
writeFileSync(configFile, cfg + "  - app: github\n");
let seen = listChanged;
process.kill(pid, "SIGHUP");
let reloaded = false;
for (let i = 0; i < 150 && !reloaded; i++) {
  await sleep(100);
  if (listChanged > seen) {
    seen = listChanged;
    reloaded = (await names()).includes("github_get_repository");
  }
}
writeFileSync(configFile, cfg);
if (!reloaded) fail(`no notifications/tools/list_changed announcing the github tools within 15 s of the reload (${listChanged} received)`);
ok(`list_changed received (${listChanged}); github tools listed after it`);

// Cancel a slow call: the client aborts, the SDK sends notifications/cancelled,
// and the server must stop the upstream run (its log shows the call ending as
// a timeout well before the action's 20 s) and keep serving.
const ac = new AbortController();
const started = Date.now();
setTimeout(() => ac.abort(), 300);
try {
  await client.callTool({ name: "pd_edge_slow", arguments: { delay_ms: 20000 } }, undefined, { signal: ac.signal });
  fail("the slow call was not cancelled");
} catch (e) {
  if (Date.now() - started > 5000) fail(`cancellation took ${Date.now() - started} ms`);
}
let ended;
for (let i = 0; i < 50 && !ended; i++) {
  await sleep(100);
  ended = serverLog().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .find((r) => r.msg === "tool call" && r.action === "pd_edge-slow");
}
if (!ended) fail("the server never logged the end of the cancelled call");
if (ended.status !== "timeout" || ended.duration_ms > 5000) fail(`the server did not cancel the call: ${JSON.stringify(ended)}`);
if (ended.external_user_id !== expectUser) fail(`the call ran as ${ended.external_user_id}, want ${expectUser}`);
const after = await client.callTool({ name: "slack_list_channels", arguments: {} });
if (after.isError) fail(`call after cancellation failed: ${JSON.stringify(after)}`);
ok(`slow call cancelled (server: ${ended.status} after ${ended.duration_ms} ms); server still serving`);

if (mode === "http") await transport.terminateSession();
await client.close();
ok("closed");
process.exit(0);

// profiles runs the profiles mode (see the top) and exits.
async function profiles(url, bin) {
  const want = { secretToken: "s3cret", tier: "pro", count: 4, metadata: { source: "interop", n: 1 } };
  const rets = {};
  const sessions = [
    ...["portable", "openai-strict", "gemini"].map((p) => ({
      name: `http ${p}`, profile: p,
      transport: () => new StreamableHTTPClientTransport(new URL(`${url}?schema_profile=${p}`), { requestInit: { headers } }),
    })),
    { name: "stdio --schema-profile gemini", profile: "gemini",
      transport: () => new StdioClientTransport({ command: bin, args: ["--sandbox", "--schema-profile", "gemini", ...(process.env.INTEROP_EVERY_APP ?? "").split(" ").filter(Boolean)], stderr: "ignore" }) },
  ];
  for (const s of sessions) {
    const c = new Client({ name: "interop-ts-profiles", version: "1.0.0" });
    const t = s.transport();
    await c.connect(t);
    const listed = (await c.listTools()).tools;
    const tool = listed.find((x) => x.name === "pd_edge_all_prop_types");
    if (!tool) fail(`${s.name}: tools/list lacks pd_edge_all_prop_types`);
    const schema = tool.inputSchema, props = schema.properties;
    const args = { ...want };
    if (s.profile === "openai-strict") {
      // Every property required, additionalProperties false, no default.
      const bad = listed.filter((x) => x.inputSchema.additionalProperties !== false
        || (x.inputSchema.required || []).length !== Object.keys(x.inputSchema.properties || {}).length);
      if (bad.length) fail(`${s.name}: not strict: ${bad.map((x) => x.name)}`);
      const withDefault = listed.filter((x) => hasKey(x.inputSchema, "default"));
      if (withDefault.length) fail(`${s.name}: schemas with a default: ${withDefault.map((x) => x.name)}`);
      for (const k of Object.keys(props)) if (!(k in args)) args[k] = null;
    }
    const open = listed.filter((x) => hasKey(x.inputSchema, "additionalProperties"));
    if (s.profile === "gemini" && open.length) fail(`${s.name}: schemas with additionalProperties: ${open.map((x) => x.name)}`);
    if (s.profile !== "portable") {
      if (props.metadata.type === "object" || (Array.isArray(props.metadata.type) && props.metadata.type.includes("object"))) fail(`${s.name}: metadata is still an object: ${JSON.stringify(props.metadata)}`);
      args.metadata = JSON.stringify(want.metadata);
    } else if (props.metadata.type !== "object") {
      fail(`${s.name}: metadata is not an object: ${JSON.stringify(props.metadata)}`);
    }
    const res = await c.callTool({ name: "pd_edge_all_prop_types", arguments: args });
    const sc = res.structuredContent;
    if (res.isError || sc?.status !== "success") fail(`${s.name}: call failed: ${JSON.stringify(res)}`);
    rets[s.name] = JSON.stringify(sc.ret);
    if (typeof t.terminateSession === "function") await t.terminateSession();
    await c.close();
    ok(`${s.name}: ${listed.length} tools; pd_edge_all_prop_types ran with ${rets[s.name]}`);
  }
  const distinct = new Set(Object.values(rets));
  if (distinct.size !== 1) fail(`the profiles ran different calls: ${JSON.stringify(rets)}`);
  if (!rets["http portable"].includes('"metadata":{"n":1,"source":"interop"}') && !rets["http portable"].includes('"metadata":{"source":"interop","n":1}')) {
    fail(`the action did not get metadata as an object: ${rets["http portable"]}`);
  }
  ok("every profile ran the same call");
  process.exit(0);
}

// hasKey reports whether the schema s, or one nested in its properties or
// items, has the keyword k.
function hasKey(s, k) {
  if (!s || typeof s !== "object") return false;
  if (k in s) return true;
  return Object.values(s.properties || {}).some((p) => hasKey(p, k)) || hasKey(s.items, k);
}

// long runs the long mode (see the top) and exits.
async function long(where, bin, ...args) {
  const c = new Client({ name: "interop-ts-long", version: "1.0.0" }, { capabilities: { elicitation: { form: {} }, tasks: { list: {}, cancel: {} } } });
  const asked = [];
  c.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(req.params);
    return { action: "accept", content: { confirm: true } };
  });
  const t = where === "stdio"
    ? new StdioClientTransport({ command: bin, args: ["--sandbox", ...args], stderr: "ignore" })
    : new StreamableHTTPClientTransport(new URL(where), { requestInit: { headers } });
  await c.connect(t);
  const name = where === "stdio" ? "stdio" : "http";

  const progress = [];
  const slow = await c.callTool({ name: "pd_edge_slow", arguments: { delay_ms: 4500 } }, undefined,
    { onprogress: (p) => progress.push(p), timeout: 60_000 });
  if (slow.structuredContent?.status !== "success") fail(`${name}: pd_edge_slow: ${JSON.stringify(slow.structuredContent)}`);
  if (progress.length < 2 || progress.some((p, i) => i > 0 && p.progress <= progress[i - 1].progress)) {
    fail(`${name}: want 2+ growing progress notifications during a 4.5 s run, got ${JSON.stringify(progress)}`);
  }
  ok(`${name}: ${progress.length} progress notifications during a 4.5 s run ("${progress[0].message}")`);

  // A task: the SDK's task client creates it, polls tasks/get and reads
  // tasks/result.
  const seen = [];
  let taskResult;
  for await (const m of c.experimental.tasks.callToolStream({ name: "pd_edge_slow", arguments: { delay_ms: 1500 } }, undefined, { task: { ttl: 60_000 } })) {
    seen.push(m.type);
    if (m.type === "error") fail(`${name}: task: ${m.error?.message}`);
    if (m.type === "result") taskResult = m.result;
  }
  if (seen[0] !== "taskCreated" || taskResult?.structuredContent?.status !== "success") {
    fail(`${name}: want taskCreated ... result success, got ${JSON.stringify(seen)} ${JSON.stringify(taskResult?.structuredContent)}`);
  }
  ok(`${name}: a task-augmented call: ${seen.join(", ")}; the result is a success`);

  const del = await c.callTool({ name: "slack_delete_message", arguments: { conversation: "C00001000", timestamp: "1700000000.000100" } });
  if (asked.length !== 1 || !asked[0].message.includes("slack-delete-message")) fail(`${name}: want one confirmation naming the action, got ${JSON.stringify(asked)}`);
  if (del.structuredContent?.status !== "success") fail(`${name}: slack_delete_message after yes: ${JSON.stringify(del.structuredContent)}`);
  ok(`${name}: slack_delete_message asked the user once ("${asked[0].message.split("\n")[0]}"), then ran`);
  await c.close();
  process.exit(0);
}
