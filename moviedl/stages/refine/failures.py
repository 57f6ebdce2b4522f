"""How a refine that cannot go on says so: what failed, where, and what the lake holds now.

* :func:`disk_full`: a full disk (or quota) anywhere refine writes — the engine's staged files
  and spill files, the working folder, the lake's own files — becomes
  :class:`~moviedl.core.errors.DiskFullError` (exit 3: the machine, not the data), naming the
  path and, from :class:`Progress`, what was published before it stopped.
* :func:`first_line` / :func:`story`: an error's one line for a message, and its whole text
  (every exception it came from, Spark's Java trace included) for the debug log.

The engine failures themselves are worded in :mod:`moviedl.stages.refine.refine`, which knows
the stage and the table being built.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field

from moviedl.core.errors import DiskFullError, MoviedlError

log = logging.getLogger(__name__)

#: the path a lake error names: "cannot write to the lake folder /lake/x.json: No space left..."
_NAMED_PATH = re.compile(r"(?:^|\s)(/\S*?):\s")


@dataclass
class Progress:
    """How far a run got, for the message of a failure that stops it."""

    published: list[str] = field(default_factory=list)  # stages published ("Trusted", "Refined")
    publishing: str | None = None  # the stage being published; "compaction" after the last one

    def consequence(self) -> str:
        """What the lake holds after a stop now (appended to the failure's message)."""
        if self.publishing == "compaction":
            return ("; every stage was published, but the compacted state was not saved (the next "
                    "refine reads every Trusted partition)")
        if self.publishing is not None:
            return (f"; publishing the {self.publishing} stage stopped part-way: every published "
                    "file is whole (its old version or its new one); run 'moviedl refine' again "
                    "once there is space")
        if self.published:
            return (f"; the {' and '.join(self.published)} stage was published, nothing more "
                    "(run 'moviedl refine' again once there is space)")
        return "; nothing was published, the lake is as it was"


def first_line(exc: BaseException) -> str:
    """The first non-blank line of ``exc``'s message (its type's name when it has none)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def story(exc: BaseException) -> str:
    """The whole of ``exc``: its traceback and every exception it came from, their full text."""
    return "".join(traceback.format_exception(exc)).rstrip()


@contextlib.contextmanager
def disk_full(progress: Progress) -> Iterator[None]:
    """A full disk anywhere the block writes as :class:`DiskFullError`: the path, and what the
    lake holds now (``progress``); the original error chained and logged whole (debug)."""
    try:
        yield
    except Exception as exc:
        where = no_space(exc)
        if where is None:
            raise
        error = DiskFullError(where, progress.consequence())
        log.debug("%s\n%s", error.message, story(exc))
        raise error from exc


def no_space(exc: BaseException) -> str | None:
    """Where ``exc`` (or an exception it came from: a lake error raised ``from None`` keeps its
    OS error as context) says the disk is full; None if none does. An OS error that names no
    file (a buffered write's flush) takes the path a lake error of the same chain names."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    full, named = False, []
    while todo:
        found = todo.pop(0)
        if id(found) in seen:
            continue
        seen.add(id(found))
        if isinstance(found, DiskFullError):
            return found.path
        if isinstance(found, OSError) and found.errno in (errno.ENOSPC, errno.EDQUOT):
            if found.filename:
                return str(found.filename)
            full = True
        if isinstance(found, MoviedlError) and (path := _NAMED_PATH.search(found.message)):
            named.append(path.group(1))
        todo += [e for e in (found.__cause__, found.__context__) if e is not None]
    if not full:
        return None
    return named[0] if named else "the disk it wrote to"
