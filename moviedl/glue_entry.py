"""The AWS Glue job's script: ``moviedl refine`` on the Spark that Glue runs it in.

``moviedl glue-job deploy`` uploads this file (taken from the wheel it uploads with it, so the
two always match) as the job's script; Glue installs the wheel (``--additional-python-modules``)
and runs the script with the job's arguments::

    --lake s3://bucket/prefix     the lake (a default argument of the job)
    --date YYYY-MM-DD             optional: the Raw date to refine (default: refine's own choice,
                                  the latest Raw date plus any date not refined yet)
    --stage trusted|refined|all   optional, default all
    --moviedl-settings JSON       optional: other settings as {config key: value}
                                  (s3.sse, refine.keep_versions, checks.*...), from the deployer

Glue adds arguments of its own (``--JOB_ID``, ``--JOB_RUN_ID``, ``--TempDir``...): they are
ignored. The script starts no Spark of its own: it takes Glue's session
(``SparkSession.builder.getOrCreate()`` with no master, so Glue's cluster settings hold) before
refine runs, and the Spark engine finds it running and uses it as it is (moviedl's
``spark.master`` and ``spark.driver_memory`` apply only to a session moviedl starts). It prints refine's summary as one JSON line on stdout
(CloudWatch keeps it) and exits with the summary's code, so a failed audit (1), bad input or a
held lake lock (2) or a refusing S3 (3) fails the job run; an unexpected exception fails it with
its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

STAGES = ("trusted", "refined", "all")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The job's own arguments; Glue's (and any other) are left aside."""
    parser = argparse.ArgumentParser(prog="moviedl-glue-job", allow_abbrev=False, add_help=False)
    parser.add_argument("--lake", required=True)
    parser.add_argument("--date")
    parser.add_argument("--stage", default="all", choices=STAGES)
    parser.add_argument("--moviedl-settings", dest="settings", default="{}")
    known, _glue_own = parser.parse_known_args(list(argv))
    return known


def main(argv: Sequence[str] | None = None, *, engine: str = "spark") -> int:
    """Refine the lake named by ``argv`` on ``engine`` (Spark in Glue); the summary's exit code.

    ``engine`` exists so the script's handling of arguments, summary and exit code can be run
    on a machine without Spark; the job itself always runs with the default.
    """
    from moviedl import api
    from moviedl.core.config import OPTIONS_BY_KEY
    from moviedl.core.errors import ConfigError, MoviedlError
    from moviedl.core.logs import setup_logging
    from moviedl.core.summary import Summary

    args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(fmt="json", verbosity=1)  # CloudWatch: one JSON object per line, info and up
    try:
        overrides: dict[str, Any] = json.loads(args.settings or "{}")
        if not isinstance(overrides, dict):
            raise ConfigError(f"--moviedl-settings is not a JSON object: {args.settings!r}")
        unknown = sorted(set(overrides) - set(OPTIONS_BY_KEY))
        if unknown:
            raise ConfigError(f"--moviedl-settings: unknown setting(s) {', '.join(unknown)}")
        settings = api.settings(lake=args.lake, date=args.date, **{**overrides, "refine.engine": engine})
        if engine == "spark":
            from moviedl.engines.spark.session import glue_session

            glue_session()
        summary = api.refine(settings, args.stage)
    except json.JSONDecodeError as exc:
        summary = Summary("refine", args.lake, args.date, problems=[f"--moviedl-settings is not JSON: {exc}"])
        summary.fail(MoviedlError.exit_code)
    except MoviedlError as exc:
        summary = Summary("refine", args.lake, args.date, problems=[str(exc)])
        summary.fail(exc.exit_code)
    sys.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
    return int(summary.exit_code)


if __name__ == "__main__":
    sys.exit(main())
