// Package schema owns the translation of a Pipedream component's configurable_props
// into an MCP tool input schema (JSON Schema), and the validation of tool arguments
// against that schema: coercion of common agent mistakes, error messages written
// for agents, and the mapping of validated arguments back to configured_props.
// It also compiles the JSON Schemas operators write (a workflow's input_schema,
// CompileInputSchema) and checks arguments against them: every JSON Schema
// compile and error walk of the project happens here.
//
// The package is pure: no I/O, no logging, no network. The same props always give
// byte-identical schema bytes, which is what makes the golden tests possible.
//
// Portability rules the schema follows (each is repeated where the code makes the
// choice):
//   - Only the keywords type, properties, required, items, description, title,
//     enum, default, minimum, maximum and additionalProperties appear, at any depth
//     (the intersection of what Claude, OpenAI function calling, Gemini and the MCP
//     Inspector's strict mode accept).
//   - The root is {"type":"object"} with a "properties" member, always present
//     (OpenAI rejects an object schema without properties), and no anyOf, oneOf,
//     allOf, not or $ref anywhere.
//   - Property names match ^[a-zA-Z0-9_.-]{1,64}$ (Claude's rule for property keys);
//     props whose names do not are renamed and the mapping is kept in Arg.
//   - Properties appear in the component's prop order, then the reserved
//     arguments (_dynamic_props_id only where fields depend on others);
//     "required" is sorted.
//   - Nothing is said twice (DESIGN.md "Tool definitions stay lean"): no title
//     that restates the name or the description, the options and
//     dependent-field hints once, in the property, and the reserved arguments
//     explained in the server's instructions rather than in every schema.
//
// Hosts with stricter rules (OpenAI strict mode, Gemini's `parameters`) get
// the schema reshaped by a Profile (ApplyProfile), and the arguments written
// against it mapped back (MapArgsBack), so every profile runs the same call.
package schema
