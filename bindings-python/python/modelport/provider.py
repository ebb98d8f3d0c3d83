"""Provider configuration: the Copilot SDK's ``ProviderConfig`` in snake_case (camelCase keys work
too), plus ``bearer_token_provider``, extra headers, a wire model name, an output cap, retries and
timeouts. Validation and routing happen in the core when a session is created.
"""

from __future__ import annotations

import datetime as _dt
import inspect
from dataclasses import dataclass, field
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Literal,
    Mapping,
    Optional,
    Tuple,
    TypedDict,
    Union,
    cast,
)

from . import _native


class AzureOptions(TypedDict, total=False):
    """Azure settings."""

    api_version: str
    """``api-version``: default "2024-10-21" for completions; "v1" selects the /openai/v1/ route."""


class RetryPolicy(TypedDict, total=False):
    """When and how often a failed model call is retried (defaults like the official SDKs)."""

    max_retries: int
    """Retries after the first attempt (default 2)."""
    initial_backoff_ms: int
    """The first backoff (default 500); doubled each retry."""
    max_backoff_ms: int
    """The largest backoff (default 8000)."""
    max_retry_after_ms: int
    """The largest retry-after honoured (default 60000)."""


class Timeouts(TypedDict, total=False):
    """How long each phase of a model call may take, in milliseconds."""

    connect_ms: int
    """Opening the connection (default 10000)."""
    first_byte_ms: int
    """From sending to the first byte of the response (default 120000)."""
    idle_ms: int
    """The longest gap between two chunks of a stream (default 120000)."""
    total_ms: int
    """One whole model call, retries excluded (default 600000)."""


@dataclass(frozen=True)
class BearerToken:
    """A token from a ``bearer_token_provider``, optionally with its expiry: it is then reused until
    60 s before it instead of asking again before every request."""

    token: str = field(repr=False)
    expires_at: Optional[Union[float, _dt.datetime]] = None
    """A POSIX timestamp or an aware datetime."""


TokenProvider = Callable[[], Union[str, BearerToken, Awaitable[Union[str, BearerToken]]]]
"""A sync or async callable returning a bearer token (a str or a :class:`BearerToken`); called
before every request, retries included (e.g. ``azure.identity.get_bearer_token_provider(...)``)."""


class ProviderConfig(TypedDict, total=False):
    """Where and how to reach a model provider."""

    type: Literal["openai", "azure", "anthropic"]
    """"openai" (default; also Ollama, vLLM, LiteLLM, llama.cpp, Foundry Local), "azure", "anthropic"."""
    base_url: str
    """Required. openai: includes /v1; azure: just the host; anthropic: https://api.anthropic.com."""
    api_key: str
    """Optional for local servers."""
    bearer_token: str
    """A static token; wins over ``api_key``."""
    bearer_token_provider: TokenProvider
    """A callable returning tokens; wins over both."""
    wire_api: Literal["completions", "responses"]
    """"completions" (default) or "responses"; ignored for anthropic."""
    azure: AzureOptions
    headers: Mapping[str, str]
    """Extra headers on every request to this provider."""
    wire_model: str
    """The model name sent on the wire, when it differs from the session's model."""
    max_output_tokens: int
    """Anthropic ``max_tokens`` (default 8192); OpenAI ``max_completion_tokens``/``max_output_tokens``."""
    max_prompt_tokens: int
    """The model's prompt window in tokens: sessions compact their history before it fills up (see
    ``SessionConfig.infinite_sessions``). Keep a margin below the model's real window."""
    native_structured_output: bool
    """Anthropic: structured answers (``response_format``) through Anthropic's native
    ``output_format`` (a beta) instead of a forced answer tool (default False)."""
    retry: RetryPolicy
    timeouts: Timeouts


def _epoch(expires_at: Union[None, float, _dt.datetime]) -> Optional[float]:
    if isinstance(expires_at, _dt.datetime):
        return expires_at.timestamp()
    return None if expires_at is None else float(expires_at)


def _token_callback(
    provider: TokenProvider,
) -> Callable[[], Awaitable[Tuple[str, Optional[float]]]]:
    """Adapts a user's token provider to what the native side calls: ``() -> (token, expiry)``."""

    async def call() -> Tuple[str, Optional[float]]:
        token: object = provider()
        if inspect.isawaitable(token):
            token = await token
        if isinstance(token, BearerToken):
            return token.token, _epoch(token.expires_at)
        if isinstance(token, str):
            return token, None
        raise TypeError(
            f"bearer_token_provider returned {type(token).__name__}: return a str or a BearerToken"
        )

    return call


def _split(
    provider: Mapping[str, Any],
) -> Tuple[Dict[str, Any], Optional[Callable[[], Awaitable[Tuple[str, Optional[float]]]]]]:
    """The JSON part of a provider config, and its token provider adapted for the native side."""
    data = {k: v for k, v in provider.items() if v is not None}
    token_provider = data.pop("bearer_token_provider", None) or data.pop(
        "bearerTokenProvider", None
    )
    return data, None if token_provider is None else _token_callback(token_provider)


class _Secret(str):
    """A key read from the environment: the value itself, but ``[redacted]`` in a repr (so printing
    the provider dict does not show it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[redacted]'"


def provider_from_env() -> Optional[Tuple[ProviderConfig, str]]:
    """The provider and model named by the environment, only when ``MODELPORT_PROVIDER`` is set
    (openai | azure | anthropic), with ``MODELPORT_BASE_URL``, ``MODELPORT_API_KEY`` (falling back
    to ``OPENAI_API_KEY`` / ``AZURE_OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``) and ``MODELPORT_MODEL``.
    Nothing is picked up implicitly."""
    found = _native.provider_from_env()
    if found is None:
        return None
    provider, model = found
    if "api_key" in provider:
        provider["api_key"] = _Secret(provider["api_key"])
    return cast(ProviderConfig, provider), model


__all__ = [
    "AzureOptions",
    "BearerToken",
    "ProviderConfig",
    "RetryPolicy",
    "Timeouts",
    "TokenProvider",
    "provider_from_env",
]
