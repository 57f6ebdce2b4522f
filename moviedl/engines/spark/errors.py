"""Spark's failures as moviedl's: every failure leaves as :class:`SparkError` (its first line is
Spark's message without the error-class decoration); unreadable input as
:class:`SparkInputError`; a full disk as :class:`~moviedl.core.errors.DiskFullError`; memory exhaustion (a Java heap, a YARN kill, a local JVM that stopped
itself) as :class:`SparkOutOfMemory`. Where Spark would type or word a value otherwise than
DuckDB (the SQL raises a ``moviedl refused:`` error, see :mod:`moviedl.engines.spark.sql`),
:class:`SparkRefusal`: an input error (exit 2) that sends the user to the DuckDB engine.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from moviedl.core.errors import DiskFullError, InputFileError
from moviedl.engines.spark.sql import REFUSED

if TYPE_CHECKING:

    pass


_CLASS = re.compile(r"^\[([A-Z_.]+)\]\s*")


_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+\s*$")


#: The JVM's words for a write the file system refused for lack of space, and a path before them
_NO_SPACE = re.compile(r"No space left on device|Disk quota exceeded")
_PATH_BEFORE = re.compile(r"(/[^\s:()'\"]+)[\s:(]*(?:No space left on device|Disk quota exceeded)")


_INPUT_CONDITIONS = ("USER_RAISED_EXCEPTION", "PATH_NOT_FOUND", "FAILED_READ_FILE", "MALFORMED_RECORD")


class SparkError(Exception):
    """A Spark statement failed (its message, without Spark's error-class decoration)."""


class SparkInputError(SparkError):
    """An input file could not be read as the statement asked."""


class SparkOutOfMemory(SparkError):
    """The Spark driver or an executor ran out of memory."""


def no_space(text: str) -> str | None:
    """Where Spark's message ``text`` says the disk is full (the file it names, else Spark's
    local folders); None when it says something else."""
    if not _NO_SPACE.search(text):
        return None
    named = _PATH_BEFORE.search(text)
    return named.group(1) if named else "Spark's local folders (spark.local.dir) or refine's scratch"


class SparkRefusal(InputFileError):
    """The data holds a value Spark would type or word otherwise than DuckDB (a date written
    '2024/05/01', a number Java spells 1.0E-5 in a quarantine reason): the Spark engine stops
    rather than publish something else than DuckDB would."""


def classify(exc: BaseException, text: str | None = None) -> Exception:
    """Spark's exception (whose text is ``text``, when known) as the engine's: a refusal, input,
    out of memory, or any other failure."""
    text = _text(exc) if text is None else text
    said = text.split("== SQL", 1)[0]  # a syntax error echoes the statement, its literals too
    refused = re.search(rf"(?<!')(?<!concat\(){re.escape(REFUSED)}", said)
    if refused:
        reason = said[refused.end():].splitlines()[0]
        reason = _SQLSTATE.sub("", reason).strip()
        return SparkRefusal(
            f"the Spark engine cannot refine this as DuckDB does: {reason}",
            hint="Refine this date with --engine duckdb (docs/refine.md, 'Running on Spark', lists "
            "what the Spark engine refuses).",
        )
    full = no_space(said)
    if full is not None:  # the machine, not Spark and not the data
        return DiskFullError(full)
    condition = ""
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    if getter is not None:
        try:
            condition = getter() or ""
        except Exception:
            condition = ""
    message = _first_line_of(text) or type(exc).__name__
    memory = _out_of_memory(text)
    if memory is not None or condition.startswith("UNABLE_TO_ACQUIRE_MEMORY"):
        return SparkOutOfMemory(memory or message)
    if any(condition.startswith(c) for c in _INPUT_CONDITIONS):
        return SparkInputError(message)
    return SparkError(message)


#: What Spark's and the JVM's messages say when memory ran out (anywhere in the message or
#: its Java causes): the JVM's heap, a task's memory, the results the driver may collect, a
#: container a cluster manager killed for its memory.
_MEMORY = re.compile(
    r"java\.lang\.OutOfMemoryError[^\n]*|SparkOutOfMemoryError[^\n]*|Java heap space"
    r"|GC overhead limit exceeded|Total size of serialized results[^\n]*?spark\.driver\.maxResultSize[^\n]*"
    r"|Not enough memory to build and broadcast the table[^\n]*"
    r"|Container killed [^\n]*(?:memory|exit code: 137)[^\n]*|UNABLE_TO_ACQUIRE_MEMORY[^\n]*"
)


def _out_of_memory(text: str) -> str | None:
    """The line of ``text`` that says memory ran out (None when none does)."""
    found = _MEMORY.search(text)
    if found is None:
        return None
    line = found.group(0).strip()
    line = re.sub(r"^(?:Caused by: )?(?:[\w.$]+(?:Exception|Error): )+(?=\S)", "", line) or line
    return _SQLSTATE.sub("", _CLASS.sub("", line)).strip()


#: The exit code of a Spark JVM that stopped itself on an OutOfMemoryError (SparkExitCode.OOM):
#: in local mode, a task out of memory stops the whole JVM, and Python only sees its connection
#: to it refused.
_JVM_OOM_EXIT = 52


_JVM_GONE = ("Connection refused", "Answer from Java side is empty", "Error while sending or receiving",
             "Error while receiving", "Java side is empty")


def _jvm_stopped(exc: BaseException, text: str, wait: float = 5.0) -> SparkError | None:
    """When ``exc`` (whose text is ``text``) comes from the Spark JVM this process started
    having exited: why (out of memory, killed, or its exit code); else None. A connection
    refused, or an error the JVM could not describe, waits up to ``wait`` seconds for the JVM
    to finish exiting, a Java error PySpark did not convert 2 s; any other error only looks."""
    import time

    if _out_of_memory(text) is not None:
        return None  # the JVM said so itself: classify() words it
    gone = not text or isinstance(exc, ConnectionError) or any(t in text for t in _JVM_GONE)
    # a Java error PySpark did not convert (a JVM Error, not an Exception, like an OOM) while
    # the JVM may be exiting: look a moment longer (a failure path only)
    raw = type(exc).__name__ == "Py4JJavaError"
    try:
        from pyspark import SparkContext

        proc = getattr(SparkContext._gateway, "proc", None)
    except Exception:
        proc = None
    if proc is None:  # a JVM this process did not start (Glue's): nothing more to know
        return None
    deadline = time.monotonic() + (wait if gone else 2.0 if raw else 0.0)
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    code = proc.poll()
    if code is None:
        return None
    if code == _JVM_OOM_EXIT:
        return SparkOutOfMemory("java.lang.OutOfMemoryError: the Spark JVM ran out of memory and stopped")
    if code in (-9, 137):
        return SparkOutOfMemory("the Spark JVM was killed (SIGKILL), most likely by the system for lack of memory")
    return SparkError(f"the Spark JVM stopped unexpectedly (exit code {code})")


def _text(exc: BaseException) -> str:
    """``str(exc)``, or "" when that fails (a Py4J error asks the JVM, which may be gone)."""
    try:
        return str(exc)
    except Exception:
        return ""


def _first_line(exc: BaseException) -> str:
    return _first_line_of(_text(exc)) or type(exc).__name__


def _first_line_of(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return _SQLSTATE.sub("", _CLASS.sub("", lines[0].strip())) if lines else ""
