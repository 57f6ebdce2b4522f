"""Errors that carry a user-facing message and the exit code SPEC.md assigns to them.

The CLI converts these once, at its boundary, into ``Error: <message>`` and the exit code.
Anything else that escapes is a bug: exit 4 (``INTERNAL``) with one line naming the exception,
never 1, which cron reads as bad data; ``MOVIEDL_DEBUG=1`` adds its traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1  # a data check failed; nothing bad was published
    BAD_INPUT = 2  # bad usage, configuration or input file
    SERVICE = 3  # an external service kept failing or refused credentials
    INTERNAL = 4  # an unexpected error (a bug): please report it
    INTERRUPTED = 130  # SIGINT/SIGTERM; nothing half-written was published


class MoviedlError(Exception):
    """Base class: ``message`` is what the user reads, ``exit_code`` what cron sees."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class ConfigError(MoviedlError):
    """A bad setting: unknown key, bad value, unreadable config file."""

    exit_code = ExitCode.BAD_INPUT


class InputFileError(MoviedlError):
    """A source file that cannot be ingested (missing, empty, misshapen)."""

    exit_code = ExitCode.BAD_INPUT


class UsageError(MoviedlError):
    """Arguments that do not fit together, or a refused operation (e.g. overwrite)."""

    exit_code = ExitCode.BAD_INPUT


class DataCheckError(MoviedlError):
    """A data check failed; nothing was published."""

    exit_code = ExitCode.CHECK_FAILED


class ServiceError(MoviedlError):
    """S3, Athena, Glue or TMDB kept failing after retries, or refused credentials."""

    exit_code = ExitCode.SERVICE


class DiskFullError(MoviedlError):
    """The machine's disk (or the user's quota) is full where moviedl writes: exit 3, the
    machine failing (SPEC "Exit codes"), not the data. ``path`` is where the write failed;
    ``consequence`` says what was (not) published."""

    exit_code = ExitCode.SERVICE

    def __init__(self, path: str, consequence: str = "", *, hint: str | None = None) -> None:
        self.path = path
        super().__init__(
            f"no space left on device at {path} (free space there, or point the scratch or the "
            f"lake elsewhere){consequence}",
            hint=hint or "Scratch: duckdb.temp_directory (DuckDB's spill files) and TMPDIR (refine's "
            "working folder; an S3 lake's staged files and inputs). Local lake: its own file "
            "system (--lake / MOVIEDL_LAKE).",
        )


class EngineError(MoviedlError):
    """A SQL engine (DuckDB, Spark) failed while building a table, for a reason that is neither
    bad data nor an input moviedl could name: exit 3, like any part of the machinery that kept
    failing. The message names the engine, the stage and the table, and the engine's first line;
    the exception's ``__cause__`` (and the debug log) carries the engine's whole message."""

    exit_code = ExitCode.SERVICE
