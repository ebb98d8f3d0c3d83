"""The exception hierarchy: one class per core error kind, all subclasses of :class:`ModelportError`.

Every exception carries what the provider said: ``status``, ``code``, ``request_id``,
``retry_after`` (seconds), and ``kind`` / ``error_type`` (the ``session.error`` ``errorType``).
Messages never contain secrets.
"""

from __future__ import annotations

import builtins
from typing import Any, List, Optional


class ModelportError(Exception):
    """Any modelport failure. ``str(error)`` is the message plus the HTTP status, code and request id."""

    kind: str
    """The core error kind: config, auth, permission_denied, not_found, rate_limited, invalid_request,
    context_length, server, timeout, transport, decode, tool, cancelled, limit, session_not_found,
    session_exists, session_busy, storage, hook or invalid_output."""
    message: str
    """The message alone: what was wrong and what to do."""
    error_type: Optional[str]
    """The ``session.error`` ``errorType`` (authentication, quota, rate_limit, ...)."""
    status: Optional[int]
    """The HTTP status, when the provider answered with one."""
    code: Optional[str]
    """The provider's error code (``insufficient_quota``, ``context_length_exceeded``, ...)."""
    request_id: Optional[str]
    """The provider's request id."""
    retry_after: Optional[float]
    """How long the provider asked to wait before retrying, in seconds."""
    timeout_kind: Optional[str]
    """For timeouts: connect, first_byte, idle, total, send_and_wait or server."""

    def __init__(
        self,
        description: str,
        *,
        message: Optional[str] = None,
        kind: str = "unknown",
        error_type: Optional[str] = None,
        status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
        timeout_kind: Optional[str] = None,
    ) -> None:
        super().__init__(description)
        self.message = description if message is None else message
        self.kind = kind
        self.error_type = error_type
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.timeout_kind = timeout_kind


class ConfigError(ModelportError):
    """Bad configuration or arguments; the message names the field and the fix."""


class APIError(ModelportError):
    """Any failure of a call to the provider: an error answer (:class:`APIStatusError`), no answer
    (:class:`APIConnectionError`: the connection failed or timed out), or an answer invalid for its
    wire format (:class:`DecodeError`). Catches what ``openai.APIError`` catches."""


class APIStatusError(APIError):
    """The provider answered with an error status (``status``, also as ``status_code``), or reported
    an error in the middle of a stream (``status`` is then ``None``). Catches what
    ``openai.APIStatusError`` catches."""

    @property
    def status_code(self) -> Optional[int]:
        """The HTTP status (the openai SDK's name for ``status``)."""
        return self.status


class AuthenticationError(APIStatusError):
    """The provider rejected the credentials (HTTP 401), or the bearer token provider failed."""


class PermissionDeniedError(APIStatusError):
    """The credentials are valid but lack access (HTTP 403)."""


class NotFoundError(APIStatusError):
    """The model, deployment or route does not exist (HTTP 404)."""


class RateLimitError(APIStatusError):
    """Too many requests (HTTP 429), after the retries; or the quota is exhausted."""

    @property
    def is_quota(self) -> bool:
        """Whether the quota, not just the rate, is exhausted: retrying will not help."""
        return self.code == "insufficient_quota"


class InvalidRequestError(APIStatusError):
    """The provider rejected the request itself (HTTP 400, 413, 422, ...)."""


BadRequestError = InvalidRequestError
"""The openai SDK's name for :class:`InvalidRequestError` (which also catches 413 and 422)."""


class ContextLengthError(InvalidRequestError):
    """The conversation does not fit the model's context window."""


class ServerError(APIStatusError):
    """The provider failed or is overloaded (HTTP 5xx, 529, 409, or an error event mid-stream)."""


InternalServerError = ServerError
"""The openai SDK's name for :class:`ServerError` (which also catches 409 and mid-stream errors)."""


class DecodeError(APIError):
    """The provider sent something that is not valid for its wire format."""


class APIConnectionError(APIError):
    """No answer from the provider: the connection failed, was reset or timed out
    (:class:`TransportError`, :class:`APITimeoutError`). Catches what ``openai.APIConnectionError``
    catches."""


class TransportError(APIConnectionError):
    """The connection failed, was reset, or the stream ended before the response was complete."""


class TimeoutError(ModelportError, builtins.TimeoutError):
    """A timeout fired (``timeout_kind`` says which); also a built-in ``TimeoutError``.

    ``send_and_wait``'s own timeout raises this class; a timeout of the provider call raises its
    subclass :class:`APITimeoutError`. Not exported by ``from modelport import *``, which would hide
    the built-in: use ``modelport.TimeoutError``."""


class APITimeoutError(APIConnectionError, TimeoutError):
    """The provider call timed out (``timeout_kind`` connect, first_byte, idle, total, or server for
    the provider's own HTTP 408). Catches what ``openai.APITimeoutError`` catches; also a
    :class:`TimeoutError` (and a built-in one)."""


class ToolError(ModelportError):
    """A tool could not be run."""


class CancelledError(ModelportError):
    """The send was aborted by ``abort()`` or ``client.stop()`` (seen by the other waiters).

    Not an ``asyncio.CancelledError``: cancelling the awaiting task raises that one instead.
    """


class LimitError(ModelportError):
    """A safety limit was reached (tool-loop iterations)."""


class SessionNotFoundError(ModelportError):
    """``resume_session`` named a session the session store does not have (not an HTTP 404)."""


class SessionExistsError(ModelportError):
    """``create_session`` named a ``session_id`` the session store already has."""


class SessionBusyError(ModelportError):
    """Another client holds the session (see ``session_lease`` ``wait_ms`` to wait for it), or took
    it over after this one's lease expired."""


class HookError(ModelportError):
    """A session hook failed (it raised, or returned something that is not a valid answer)."""


class InvalidOutputError(ModelportError):
    """Structured output: the model's answer does not match the schema, after the corrective retry."""

    raw_output: str
    """The model's answer as it came."""
    validation_errors: List[str]
    """Why it does not fit the schema."""

    def __init__(
        self,
        description: str,
        *,
        raw_output: str = "",
        validation_errors: Optional[List[str]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(description, **kwargs)
        self.raw_output = raw_output
        self.validation_errors = list(validation_errors or [])


class StorageError(ModelportError):
    """The session store failed (unreachable, corrupt, full or unwritable); the session stays usable
    in memory and nothing it had committed is lost."""


# TimeoutError is left out: `from modelport.errors import *` must not hide the built-in.
__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CancelledError",
    "ConfigError",
    "ContextLengthError",
    "DecodeError",
    "HookError",
    "InternalServerError",
    "InvalidOutputError",
    "InvalidRequestError",
    "LimitError",
    "ModelportError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "SessionBusyError",
    "SessionExistsError",
    "SessionNotFoundError",
    "StorageError",
    "ToolError",
    "TransportError",
]
