"""Local-file helpers shared by the lake and the commands: SHA-256 digests and all-or-nothing
writes."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

CHUNK_SIZE = 8 << 20


def sha256_stream(stream: IO[bytes], stop: Callable[[], bool] | None = None) -> str:
    """The hex SHA-256 of everything left to read in ``stream``, read in chunks; with ``stop``,
    reading ends early (a partial digest) once it returns True, checked before each chunk."""
    digest = hashlib.sha256()
    while not (stop and stop()) and (chunk := stream.read(CHUNK_SIZE)):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of the local file ``path``."""
    with open(path, "rb") as stream:
        return sha256_stream(stream)


def b64_sha256(data: bytes) -> str:
    """The base64 SHA-256 of ``data``, as S3 checksum headers carry it."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """Write ``path`` all at once: the bytes go to a hidden ``.part`` file beside it, which
    replaces ``path`` in one step (``os.replace``) when the block ends without an error; on an
    error it is removed and ``path`` is left as it was. The folder must exist."""
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        with open(part, "wb") as out:
            yield out
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
