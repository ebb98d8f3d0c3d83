"""modelport's log records on ``logging.getLogger("modelport")``.

The Rust core's records (retries, HTTP attempts, fallbacks, skipped stream events, failed commits,
...) become ``LogRecord``\\ s of the ``modelport`` logger: error -> ERROR, warn -> WARNING,
info -> INFO, debug -> DEBUG, trace -> ``TRACE`` (level 5, registered as ``"TRACE"``). Each
record's ``target`` attribute (also its ``pathname``) is the Rust module that logged it
(``modelport::transport::call``).

Level: the core produces only the records the ``modelport`` logger would keep (a disabled call site
costs one atomic load). It reads the logger's effective level at import, at each ``Client()``,
``create_session`` and ``resume_session``, and in :func:`set_log_level`; when the logger becomes
less verbose, the first record it refuses lowers the core's level too.

Delivery: records are queued in Rust and emitted by a background thread (``modelport-log``) that
takes the GIL holding no other lock, usually within milliseconds; :func:`flush_logs` emits the
queued ones at once, on the calling thread.
"""

from __future__ import annotations

import logging
import os
from typing import List, Tuple, Union

from . import _native

TRACE = 5
"""The level of the core's trace records (below ``logging.DEBUG``)."""

if logging.getLevelName(TRACE) == f"Level {TRACE}":
    logging.addLevelName(TRACE, "TRACE")

_logger = logging.getLogger("modelport")

_LEVELS = {
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}
# Most verbose first: the core's level is the first one the logger keeps.
_BY_VERBOSITY = sorted(_LEVELS.items(), key=lambda item: item[1])


def _core_level() -> str:
    """The most verbose core level the ``modelport`` logger keeps records of ("off" for none)."""
    for name, level in _BY_VERBOSITY:
        if _logger.isEnabledFor(level):
            return name
    return "off"


def _sync_level() -> None:
    """Sets the core's level from the logger's (called at Client and session creation)."""
    _native._log_set_level(_core_level())


def set_log_level(level: Union[int, str]) -> None:
    """Sets the ``modelport`` logger's level (an int, or a name: ``"DEBUG"``, ``"TRACE"``, ...)
    and the core's with it, at once. Changing the logger's level otherwise (``setLevel``,
    ``logging.basicConfig``, ``caplog``) takes effect at the next ``Client()`` or session."""
    _logger.setLevel(level.upper() if isinstance(level, str) else level)
    _sync_level()


def flush_logs() -> None:
    """Emits the core's queued records now, on this thread (they are otherwise emitted by a
    background thread within milliseconds): call it before reading captured logs."""
    _native.flush_logs()


def _emit(records: List[Tuple[str, str, str]], dropped: int) -> None:
    """Called by the native side with the GIL: ``(level, target, message)`` records, and how many
    were dropped because Python did not take them in time."""
    too_verbose = False
    for level_name, target, message in records:
        level = _LEVELS.get(level_name, logging.INFO)
        if not _logger.isEnabledFor(level):
            too_verbose = True
            continue
        record = _logger.makeRecord(
            _logger.name, level, target, 0, message, (), None, extra={"target": target}
        )
        _logger.handle(record)
    if dropped:
        _logger.warning(
            "%d modelport log records were dropped: the GIL was not available to emit them", dropped
        )
    if too_verbose:
        _sync_level()


def _install() -> None:
    """Installs the core's log sink at the logger's current level (at import)."""
    _native._log_install(_core_level())
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_native._log_before_fork,
            after_in_parent=_native._log_after_fork,
            after_in_child=_native._log_after_fork,
        )


__all__ = ["TRACE", "flush_logs", "set_log_level"]
