// Checks the MCP Inspector's `tools/list --strict --format json` output for
// the whole sandbox catalog: the Inspector listed every tool the server says
// it serves (`<binary> tools --sandbox --json $INTEROP_EVERY_APP`, every app
// as a direct tool), reported no error-severity
// portability problem, and reported no warning other than "untyped-schema"
// on schemas without a type: props of type `any` and the items of sql
// params (DESIGN.md: `any` -> any JSON value, no type). Prints the warnings
// it accepted.
//
//   node check-strict.mjs <inspector output.json> <binary>
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

const [outFile, bin] = process.argv.slice(2);
const fail = (msg) => { console.error(`FAIL [inspector strict] ${msg}`); process.exit(1); };

const got = JSON.parse(readFileSync(outFile, "utf8"));
const served = JSON.parse(execFileSync(bin, ["tools", "--sandbox", "--json", ...(process.env.INTEROP_EVERY_APP ?? "").split(" ").filter(Boolean)], { stdio: ["ignore", "pipe", "ignore"] })).tools;
const listed = got.result?.tools ?? [];
const names = (ts) => ts.map((t) => t.name).sort().join(",");
if (names(listed) !== names(served)) fail(`the Inspector listed ${listed.length} tools, the server serves ${served.length}`);

// The schema node at an Inspector path such as "properties.query.properties.params.items".
const at = (schema, path) => path.split(".").filter(Boolean).reduce((n, k) => n?.[k], schema);
const schemas = Object.fromEntries(served.map((t) => [t.name, t.inputSchema]));

const accepted = [];
for (const { toolName, findings } of got.schemaFindings ?? []) {
  for (const f of findings) {
    const where = `${toolName} ${f.schema}.${f.path}`;
    if (f.severity === "error") fail(`error: ${where}: ${f.issue}`);
    const node = f.schema === "inputSchema" ? at(schemas[toolName], f.path) : undefined;
    if (f.rule !== "untyped-schema" || !node || "type" in node) {
      fail(`unexpected ${f.severity} (${f.rule}): ${where}: ${f.issue}`);
    }
    accepted.push(where);
  }
}
console.log(`ok   [inspector strict] tools/list: ${listed.length} tools, no errors; ${accepted.length} expected untyped-schema warnings (props of type any): ${accepted.join("; ")}`);
