"use strict";
// modelport for Node.js: the Copilot SDK's BYOK API, running in-process.

const { Client, approveAll } = require("./client.cjs");
const { Session, EventIterator } = require("./session.cjs");
const { defineTool } = require("./tools.cjs");
const { setLogHandler } = require("./logging.cjs");
const { providerFromEnv } = require("./provider.cjs");
const errors = require("./error.cjs");

module.exports = {
  Client,
  CopilotClient: Client,
  Session,
  CopilotSession: Session,
  EventIterator,
  defineTool,
  approveAll,
  setLogHandler,
  providerFromEnv,
  ModelportError: errors.ModelportError,
  ConfigError: errors.ConfigError,
  AbortError: errors.AbortError,
  APIError: errors.APIError,
  BadRequestError: errors.BadRequestError,
  ContextLengthError: errors.ContextLengthError,
  AuthenticationError: errors.AuthenticationError,
  PermissionDeniedError: errors.PermissionDeniedError,
  NotFoundError: errors.NotFoundError,
  RateLimitError: errors.RateLimitError,
  InternalServerError: errors.InternalServerError,
  APIConnectionError: errors.APIConnectionError,
  APITimeoutError: errors.APITimeoutError,
  InvalidOutputError: errors.InvalidOutputError,
};
