"""Where the lake's bytes live — a local folder or S3 — and the tool's own records in it (the lock,
manifests, run records); :func:`open_lake` opens the one the settings name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moviedl.core.config import Settings
    from moviedl.storage.lake import Lake


def open_lake(settings: Settings) -> Lake:
    """The lake named by ``settings.lake``."""
    if settings.lake.startswith("s3://"):
        from moviedl.storage.s3 import S3Lake

        return S3Lake(settings.lake, settings)
    from moviedl.storage.local import LocalLake

    return LocalLake(settings.lake)
