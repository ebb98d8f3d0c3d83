// ES module entry: the same objects as the CommonJS entry (index.cjs).
import modelport from "./index.cjs";

export const {
  Client,
  CopilotClient,
  Session,
  CopilotSession,
  EventIterator,
  defineTool,
  approveAll,
  setLogHandler,
  providerFromEnv,
  ModelportError,
  ConfigError,
  AbortError,
  APIError,
  BadRequestError,
  ContextLengthError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APITimeoutError,
  InvalidOutputError,
} = modelport;
export default modelport;
