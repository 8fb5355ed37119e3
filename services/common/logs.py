"""JSON-lines logging on stderr: one object per record, ready for a log shipper.

Fields: ``ts`` (ISO 8601 UTC), ``level``, ``service``, ``logger``, ``msg``, then every
``extra=`` field; an exception becomes a single ``exc`` string so a traceback never
spans several lines (multi-line records are split apart by most collectors).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

__all__ = ["JsonFormatter", "configure_logging", "settings_or_exit"]

# Attributes every LogRecord carries; anything else on a record came from ``extra=``.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_BASE_FIELDS = ("ts", "level", "service", "logger", "msg", "exc", "stack")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key in _RESERVED or key.startswith("_"):
                continue
            # Never let an extra silently overwrite a base field.
            out[f"extra.{key}" if key in _BASE_FIELDS else key] = value
        return json.dumps(out, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Resolves ``sys.stderr`` at emit time, so redirection (pytest, daemons) is honoured."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(service: str, level: str | None = None) -> None:
    """Route the root logger to JSON on stderr; safe to call repeatedly.

    ``level`` defaults to ``$LOG_LEVEL`` or INFO.  Only our own handler is replaced on a
    repeated call; foreign handlers (pytest's capture, for one) are left alone.
    """
    resolved = (level or os.environ.get("LOG_LEVEL") or "INFO").strip().upper()
    numeric = logging.getLevelName(resolved)
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {resolved!r}")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter(service))
    root.setLevel(numeric)
    logging.captureWarnings(True)


T = TypeVar("T")


def settings_or_exit(service: str, load: Callable[[], T]) -> T:
    """`load()` (a service's Settings.from_env) with logging configured first, so that its
    warnings are JSON too; a refused setting is one JSON line naming the variable, then
    exit status 2, not a traceback."""
    from services.common.config import ConfigError  # config logs through this module

    configure_logging(service)
    try:
        return load()
    except ConfigError as exc:
        logging.getLogger(service).error(
            "configuration refused", extra={"variable": exc.variable, "reason": exc.reason})
        raise SystemExit(2) from None
