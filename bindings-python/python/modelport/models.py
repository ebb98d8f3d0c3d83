"""``list_models()`` results and ``on_list_models`` handlers: the Copilot SDK's ``ModelInfo``."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Union


@dataclass(frozen=True)
class ModelSupports:
    """What a model supports."""

    vision: bool = False
    reasoning_effort: bool = False


@dataclass(frozen=True)
class ModelLimits:
    """A model's limits in tokens (``None`` when unknown)."""

    max_context_window_tokens: Optional[int] = None
    max_prompt_tokens: Optional[int] = None


@dataclass(frozen=True)
class ModelCapabilities:
    """What a model can do."""

    supports: ModelSupports = field(default_factory=ModelSupports)
    limits: ModelLimits = field(default_factory=ModelLimits)


@dataclass(frozen=True)
class ModelInfo:
    """A model: the ``id`` to pass as ``model``, a display ``name``, its capabilities."""

    id: str
    name: str
    capabilities: ModelCapabilities = field(default_factory=ModelCapabilities)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        """From the Copilot SDK's dict form (``supports.reasoningEffort`` or ``reasoning_effort``)."""
        caps = data.get("capabilities") or {}
        supports = caps.get("supports") or {}
        limits = caps.get("limits") or {}
        return cls(
            id=data["id"],
            name=data.get("name", data["id"]),
            capabilities=ModelCapabilities(
                supports=ModelSupports(
                    vision=bool(supports.get("vision", False)),
                    reasoning_effort=bool(
                        supports.get("reasoningEffort", supports.get("reasoning_effort", False))
                    ),
                ),
                limits=ModelLimits(
                    max_context_window_tokens=limits.get("max_context_window_tokens"),
                    max_prompt_tokens=limits.get("max_prompt_tokens"),
                ),
            ),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The Copilot SDK's JSON form."""
        limits: Dict[str, int] = {}
        if self.capabilities.limits.max_context_window_tokens is not None:
            limits["max_context_window_tokens"] = self.capabilities.limits.max_context_window_tokens
        if self.capabilities.limits.max_prompt_tokens is not None:
            limits["max_prompt_tokens"] = self.capabilities.limits.max_prompt_tokens
        return {
            "id": self.id,
            "name": self.name,
            "capabilities": {
                "supports": {
                    "vision": self.capabilities.supports.vision,
                    "reasoningEffort": self.capabilities.supports.reasoning_effort,
                },
                "limits": limits,
            },
        }


ModelList = Sequence[Union[ModelInfo, Mapping[str, Any]]]

ListModelsHandler = Callable[[], Union[ModelList, Awaitable[ModelList]]]
"""The application's own model list, sync or async: replaces the provider's endpoint (no fallback)."""


def _from_json(text: str) -> List[ModelInfo]:
    return [ModelInfo.from_dict(m) for m in json.loads(text)]


def _handler_callback(handler: ListModelsHandler) -> Callable[[], Awaitable[str]]:
    """Adapts a user's handler to what the native side calls: ``() -> json``."""

    async def call() -> str:
        models: object = handler()
        if inspect.isawaitable(models):
            models = await models
        if not isinstance(models, Sequence) or isinstance(models, str):
            raise TypeError(
                f"on_list_models returned {type(models).__name__}: return a list of ModelInfo or dicts"
            )
        return json.dumps(
            [(m if isinstance(m, ModelInfo) else ModelInfo.from_dict(m)).to_dict() for m in models]
        )

    return call


__all__ = [
    "ListModelsHandler",
    "ModelCapabilities",
    "ModelInfo",
    "ModelLimits",
    "ModelSupports",
]
