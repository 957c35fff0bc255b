// Drives pipedream-mcp with the official TypeScript SDK client (pinned in
// package.json): list tools, call a tool, receive list_changed after a catalog
// update (a SIGHUP reload that adds a connection), and cancel a slow call.
//
//   node ts-client.mjs stdio <config.yaml> <binary> [args...]
//   node ts-client.mjs http  <url> <server pid> <config.yaml>
//   node ts-client.mjs sse   <url> <server pid> <config.yaml>
//
// AUTH_HEADER (optional) is sent as the Authorization header over HTTP.
// Exits non-zero with a message on the first failed check.
import { readFileSync, writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [mode, ...rest] = process.argv.slice(2);
const fail = (msg) => { console.error(`FAIL [ts-sdk ${mode}] ${msg}`); process.exit(1); };
const ok = (msg) => console.log(`ok   [ts-sdk ${mode}] ${msg}`);

const headers = process.env.AUTH_HEADER ? { Authorization: process.env.AUTH_HEADER } : {};
let transport, pid, configFile;
if (mode === "stdio") {
  const [cfg, bin, ...args] = rest;
  configFile = cfg;
  transport = new StdioClientTransport({ command: bin, args: ["--config", cfg, ...args], stderr: "pipe" });
} else if (mode === "http") {
  const [url, p, cfg] = rest;
  pid = Number(p); configFile = cfg;
  transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
} else if (mode === "sse") {
  const [url, p, cfg] = rest;
  pid = Number(p); configFile = cfg;
  transport = new SSEClientTransport(new URL(url), {
    requestInit: { headers },
    eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers || {}), ...headers } }) },
  });
} else {
  fail(`unknown mode ${mode}`);
}

const client = new Client({ name: "interop-ts", version: "1.0.0" });
let listChanged = 0;
client.setNotificationHandler(ToolListChangedNotificationSchema, () => { listChanged++; });
const timer = setTimeout(() => fail("timed out after 90 s"), 90_000);

await client.connect(transport);
if (mode === "stdio") pid = transport.pid;
ok(`connected, server ${client.getServerVersion()?.name} ${client.getServerVersion()?.version}`);

const names = async () => (await client.listTools()).tools.map((t) => t.name);
let tools = await names();
if (!tools.includes("slack_send_message_to_channel")) fail(`tools/list lacks slack_send_message_to_channel: ${tools}`);
if (tools.includes("github_get_repository")) fail("github must not be served before the reload");
ok(`tools/list: ${tools.length} tools`);

const res = await client.callTool({ name: "slack_send_message_to_channel", arguments: { conversation: "C00001000", text: "interop" } });
if (res.isError || res.structuredContent?.status !== "success") fail(`call failed: ${JSON.stringify(res)}`);
ok(`tools/call: ${res.structuredContent.summary}`);

// list_changed: add a connection to the config file and reload with SIGHUP.
const cfg = readFileSync(configFile, "utf8");
writeFileSync(configFile, cfg + "  - app: github\n");
process.kill(pid, "SIGHUP");
for (let i = 0; i < 100 && listChanged === 0; i++) await new Promise((r) => setTimeout(r, 100));
writeFileSync(configFile, cfg);
if (listChanged === 0) fail("no notifications/tools/list_changed within 10 s of the reload");
tools = await names();
if (!tools.includes("github_get_repository")) fail(`after list_changed, tools/list lacks github_get_repository`);
ok(`list_changed received (${listChanged}), github tools listed`);

// Cancel a slow call: the request is cancelled and the server keeps serving.
const ac = new AbortController();
const started = Date.now();
setTimeout(() => ac.abort(), 300);
try {
  await client.callTool({ name: "pd_edge_slow", arguments: { delay_ms: 20000 } }, undefined, { signal: ac.signal });
  fail("the slow call was not cancelled");
} catch (e) {
  if (Date.now() - started > 5000) fail(`cancellation took ${Date.now() - started} ms`);
}
const after = await client.callTool({ name: "slack_list_channels", arguments: {} });
if (after.isError) fail(`call after cancellation failed: ${JSON.stringify(after)}`);
ok("slow call cancelled; server still serving");

clearTimeout(timer);
await client.close();
ok("closed");
process.exit(0);
