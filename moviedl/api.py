"""moviedl as a library: one call per command, with everything the command line does around it.

Each call opens the lake from ``settings``, takes the lake lock when the command writes, runs the
work, writes the run record under ``_moviedl/runs/`` and returns the command's
:class:`~moviedl.core.summary.Summary` — the same object the CLI prints::

    from moviedl import api

    settings = api.settings(lake="./lake")
    api.ingest_csv(settings, ["movies.csv", "series.csv"])
    summary = api.refine(settings)
    if not summary.ok:
        print(summary.problems)

Expected failures (bad input, a lock held by another run, S3 or TMDB down) raise a
:class:`~moviedl.core.errors.MoviedlError` carrying the message and exit code; a failed *check*
returns a summary whose ``exit_code`` is 1. Read-only calls (:func:`validate`, :func:`report`,
:func:`athena_ddl`, :func:`runs`) take no lock and refuse a lake that does not exist.

Every command's call accepts ``session=``: inside :func:`run` the stages share the run's
session (one lock, one run record) instead of opening their own. The ``glue_job_*`` calls,
never a stage of :func:`run`, take no lock and write no run record (see :mod:`moviedl.stages.glue_job`).

This module is the public surface; the calls live in :mod:`moviedl.app.commands` and
:mod:`moviedl.app.pipeline`.
"""

from __future__ import annotations

from moviedl.app.commands import (
    athena_ddl,
    config_show,
    glue_job_deploy,
    glue_job_start,
    glue_job_status,
    ingest_csv,
    ingest_tmdb,
    init,
    quicksight_deploy,
    quicksight_remove,
    quicksight_status,
    refine,
    report,
    run_show,
    runs,
    settings,
    validate,
)
from moviedl.app.pipeline import dry_run, run

__all__ = [
    "athena_ddl",
    "config_show",
    "dry_run",
    "glue_job_deploy",
    "glue_job_start",
    "glue_job_status",
    "ingest_csv",
    "ingest_tmdb",
    "init",
    "quicksight_deploy",
    "quicksight_remove",
    "quicksight_status",
    "refine",
    "report",
    "run",
    "run_show",
    "runs",
    "settings",
    "validate",
]
