"""The SQL engines refine runs on, behind one seam (:class:`moviedl.engines.base.Engine`):
DuckDB (:mod:`moviedl.engines.duck`, one machine) and Spark (:mod:`moviedl.engines.spark`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from moviedl.core.config import Settings
    from moviedl.engines.base import Engine


def open_engine(settings: Settings, scratch: Path, name: str | None = None) -> Engine:
    """The engine ``name`` (default: the one ``refine.engine`` names, ``duckdb`` or ``spark``),
    opened with its settings; ``scratch`` is a local folder for its temporary files. The only
    place that chooses one."""
    if (name or settings.refine_engine) == "spark":
        from moviedl.engines.spark.engine import SparkEngine

        return SparkEngine.open(settings, scratch)
    from moviedl.engines.duck import DuckDBEngine

    return DuckDBEngine.open(settings, scratch)
