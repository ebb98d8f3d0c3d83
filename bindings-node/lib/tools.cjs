"use strict";
// Tools: `defineTool` sugar and the conversion to the native tool definition (src/session/tools.rs).

const native = require("./native.cjs");
const { jsonCallback } = require("./callbacks.cjs");
const { configError } = require("./error.cjs");

/**
 * Defines a tool. `parameters` is a JSON schema object or any schema with `toJSONSchema()` (zod 4);
 * with a schema that has `safeParse` (zod), arguments are validated and the handler receives the
 * parsed value. The handler may be sync or async; what it throws becomes a failure result.
 */
function defineTool(name, config) {
  if (typeof name !== "string" || name === "") throw configError("defineTool: give the tool a name");
  if (!config || typeof config.handler !== "function") {
    throw configError(`defineTool("${name}"): give a handler function`);
  }
  return { name, ...config };
}

/** The JSON schema of `parameters`. */
function jsonSchema(parameters) {
  if (parameters == null) return { type: "object", properties: {} };
  const schema =
    typeof parameters.toJSONSchema === "function" ? parameters.toJSONSchema() : parameters;
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw configError("tool parameters must be a JSON schema object or have toJSONSchema()");
  }
  const { $schema, ...rest } = schema;
  return rest;
}

/** The failure result for arguments a schema with `safeParse` rejected (its text comes from core). */
function invalidArguments(name, error) {
  const issues = Array.isArray(error?.issues)
    ? error.issues.map((i) => `${(i.path ?? []).join(".") || "(root)"}: ${i.message}`).join("; ")
    : String(error?.message ?? error);
  return JSON.parse(native.invalidArguments(name, issues));
}

/** The native definition of a tool (`defineTool` result or a plain `{name, description, parameters, handler}`). */
function toNative(tool) {
  if (!tool || typeof tool.name !== "string" || typeof tool.handler !== "function") {
    throw configError("tools: each tool needs a name and a handler (use defineTool)");
  }
  const { name, handler, parameters } = tool;
  const validate = typeof parameters?.safeParse === "function" ? parameters : null;
  return {
    name,
    description: tool.description ?? "",
    parameters: JSON.stringify(jsonSchema(parameters)),
    skipPermission: tool.skipPermission === true,
    handler: jsonCallback(async ({ arguments: args, invocation }) => {
      if (validate) {
        const parsed = await (typeof validate.safeParseAsync === "function"
          ? validate.safeParseAsync(args)
          : validate.safeParse(args));
        if (!parsed.success) return invalidArguments(name, parsed.error);
        return handler(parsed.data, invocation);
      }
      return handler(args, invocation);
    }),
  };
}

module.exports = { defineTool, toNative };
