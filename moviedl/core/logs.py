"""Structured logging: human text on stderr by default, or one JSON object per line.

Every record carries the run id and the current stage. Code logs an *event* (a short phrase)
with its details in ``extra={"fields": {...}}``; nothing else is needed at the call site::

    log.warning("S3 call failed", extra={"fields": {"what": "PutObject", "where": uri, "seconds": 1.2}})

Known secret values are replaced by ``****`` in every message and field before it is written.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = "moviedl"
run_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("moviedl_run_id", default="-")
stage_var: contextvars.ContextVar[str] = contextvars.ContextVar("moviedl_stage", default="-")


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    token = stage_var.set(name)
    try:
        yield
    finally:
        stage_var.reset(token)


class _Context(logging.Filter):
    """Adds run id and stage, and masks secrets in the message and fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, "****")
            return value
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = run_id_var.get()
        record.stage = stage_var.get()
        record.msg = self._mask(record.getMessage())
        record.args = ()
        record.fields = self._mask(getattr(record, "fields", {}) or {})
        return True


_masking: list[_Context] = [_Context(())]  # the secrets setup_logging was given


def json_line(event: str, fields: dict[str, Any], level: int = logging.INFO) -> str:
    """One JSON log line (the shape :class:`JsonFormatter` writes, secrets masked) for what the
    command line shows besides log records: stage lines, progress, the error that ended it."""
    record = logging.LogRecord(ROOT, level, "", 0, event, (), None)
    record.fields = fields
    _masking[0].filter(record)
    return JsonFormatter().format(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "run_id": getattr(record, "run_id", "-"),
            "stage": getattr(record, "stage", "-"),
            "event": record.getMessage(),
            "fields": getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = " ".join(f"{k}={v}" for k, v in (getattr(record, "fields", {}) or {}).items())
        text = f"{when} {record.levelname:<7} [{getattr(record, 'stage', '-')}] {record.getMessage()}"
        return f"{text} {fields}" if fields else text


def setup_logging(
    *, fmt: str = "text", file: Path | None = None, verbosity: int = 0, secrets: Iterable[str] = ()
) -> None:
    """Configure the ``moviedl`` logger: ``verbosity`` -1 errors only, 0 warnings, 1 info, 2 debug."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logger = logging.getLogger(ROOT)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    context = _Context(secrets)
    _masking[0] = context
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
        handlers[-1].setLevel(min(level, logging.INFO))  # the file keeps the story of the night
    handlers[0].setLevel(level)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(context)
        logger.addHandler(handler)
    logger.setLevel(min(h.level for h in handlers))
    logger.propagate = False
