"""Runs, on the asyncio event loop, the Python callbacks the native runtime hands over."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Tuple


async def invoke(fn: Callable[..., Any], args: Tuple[str, ...]) -> Any:
    """Calls ``fn(*args)``; awaits the result when it is awaitable (sync and async callbacks alike)."""
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result
