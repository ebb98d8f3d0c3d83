"use strict";
// modelport for Node.js: the Copilot SDK's BYOK API, running in-process.

const { Client, approveAll } = require("./client.cjs");
const { Session, EventIterator } = require("./session.cjs");
const { defineTool } = require("./tools.cjs");
const { ModelportError } = require("./error.cjs");

module.exports = {
  Client,
  CopilotClient: Client,
  Session,
  CopilotSession: Session,
  EventIterator,
  defineTool,
  approveAll,
  ModelportError,
};
