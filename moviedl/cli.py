"""The ``moviedl`` command line: parse options, call the library (the calls :mod:`moviedl.api`
exports, from :mod:`moviedl.app`), render its summary, exit.

Every command takes the shared options (:mod:`moviedl.cli_shared`, declared once). Library
errors (:class:`~moviedl.core.errors.MoviedlError`) become one ``Error:`` line and their exit
code there, and only there (:func:`moviedl.cli_shared.errors`); an interrupt (SIGINT/SIGTERM) becomes exit 130 whatever
the work made of it, and any other exception one ``Internal error`` line and exit 4.
``MOVIEDL_DEBUG=1`` adds the traceback (the exit code stays the same).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from moviedl import __version__, terminal
from moviedl.app import commands, pipeline
from moviedl.cli_shared import (
    INTERRUPTED,
    LAKE_PANEL,
    LOGGING,
    REPORTED,
    IngestDateOption,
    LogFormat,
    RefineDateOption,
    Shared,
    TmdbDateOption,
    UnusedDateOption,
    ValidateDateOption,
    command,
    setting_option,
)
from moviedl.core import interrupt
from moviedl.core.errors import ExitCode, UsageError
from moviedl.core.summary import Summary
from moviedl.output import say, use_json_logs


def _type_words() -> None:
    """Help shows an option's value as a word (N, TEXT, FILE) or nothing for a flag, not typer's
    Python types (``<list[Path]>``, ``<bool>``). An explicit ``metavar`` wins."""
    from typer import core

    words = {"<bool>": "", "<int>": "N", "<float>": "NUMBER", "<str>": "TEXT", "<path>": "PATH",
             "<list[Path]>": "FILE...", "<list[str]>": "TEXT..."}
    plain = core._TyperParameter.display_type

    def display_type(self: Any, ctx: Any) -> str:
        if self.metavar is not None:
            return str(self.metavar)
        shown = plain(self, ctx)
        return words.get(shown, shown.strip("<>"))

    core._TyperParameter.display_type = display_type  # type: ignore[method-assign]


_type_words()

app = typer.Typer(
    name="moviedl",
    help="Build and verify a movies-and-series data lake, locally or on S3.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    epilog=(
        "[bold]Examples[/]\n\n"
        "  [dim]# a starter moviedl.toml, commented[/]\n  moviedl init\n\n"
        "  [dim]# the whole pipeline on two CSV files[/]\n  moviedl run movies.csv series.csv --lake ./lake\n\n"
        "  [dim]# every check of every zone[/]\n  moviedl validate --lake s3://my-bucket/lake -v\n\n"
        "  [dim]# the offline dashboard[/]\n  moviedl report --lake ./lake -o report.html"
    ),
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
glue_app = typer.Typer(help="Run refine on Spark as an AWS Glue 5 job: deploy it, start runs, follow them.",
                       no_args_is_help=True)
app.add_typer(glue_app, name="glue-job")
quicksight_app = typer.Typer(help="The QuickSight dashboard over the Athena views, as code: deploy it, check it, remove it.",
                             no_args_is_help=True)
app.add_typer(quicksight_app, name="quicksight")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"moviedl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", envvar="MOVIEDL_LOG_FORMAT",
                                help="Logs on stderr as human text or one JSON object per line.")
    ] = LogFormat.text,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", envvar="MOVIEDL_LOG_FILE",
                                  help="Also append logs (info and above) to this file.", show_default=False)
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log detail (-v info, -vv debug).")] = 0,
) -> None:
    """Build and verify a movies-and-series data lake, locally or on S3."""
    LOGGING.update(fmt=log_format.value, file=log_file, verbosity=verbose)
    use_json_logs(log_format is LogFormat.json)


def _choices(*values: str) -> Callable[[str], list[str]]:
    """Shell completion for an option whose values the library checks (its message names them)."""
    return lambda incomplete: [v for v in values if v.startswith(incomplete)]


JobNameOption = Annotated[str | None, setting_option("--job-name", "glue.job_name", "The Glue job", rich_help_panel=LAKE_PANEL)]


@command(app, "ingest-csv", date=IngestDateOption)
def ingest_csv_command(
    files: Annotated[list[Path], typer.Argument(help="movies.csv / series.csv files to ingest.", show_default=False)],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace different content already stored for the date.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the files and report what would happen; write nothing.")] = False,
    *,
    shared: Shared,
) -> Summary:
    """Check source CSVs and copy them unchanged, verified, into the Raw zone.

    Each file must be UTF-8, '|'-delimited, with the movies.csv or series.csv header and the
    same number of fields on every row. If any file fails, nothing is ingested (exit 2).

    Example:
      moviedl ingest-csv movies.csv series.csv --date 2024-05-01
    """
    settings = shared.settings()
    with terminal.byte_progress(files, enabled=shared.shows_progress) as advance:
        with shared.live(spinner=False):
            return commands.ingest_csv(settings, files, overwrite=overwrite, dry_run=dry_run, on_bytes=advance)


@command(app, "ingest-tmdb", date=TmdbDateOption)
def ingest_tmdb_command(
    kind: Annotated[str | None, typer.Option("--kind", metavar="[movies|series]", autocompletion=_choices("movies", "series"), help="Only titles of movies.csv or of series.csv.", show_default=False)] = None,
    genre: Annotated[list[str] | None, typer.Option("--genre", help="Only titles with one of these genres (comma list, repeatable, case-insensitive).", show_default=False)] = None,
    year_from: Annotated[int | None, typer.Option("--year-from", help="Only titles released in or after this year.", show_default=False)] = None,
    year_to: Annotated[int | None, typer.Option("--year-to", help="Only titles released in or before this year.", show_default=False)] = None,
    min_votes: Annotated[int | None, typer.Option("--min-votes", min=0, help="Only titles with at least this many IMDb votes.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Look up at most N ids this run (the rest on the next run).", show_default=False)] = None,
    ids_file: Annotated[Path | None, typer.Option("--ids-file", help="Only the IMDb ids listed in FILE (one per line, # comments).", show_default=False)] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch again ids stored on an earlier date.")] = False,
    retry_not_found: Annotated[bool, typer.Option("--retry-not-found", help="Ask again for ids TMDB did not know last time.")] = False,
    no_changes: Annotated[bool, typer.Option("--no-changes", help="Skip TMDB's change lists: do not fetch again the stored titles TMDB changed since the last sync.")] = False,
    append: Annotated[list[str] | None, typer.Option("--append", help="More append_to_response parts, e.g. credits,keywords (repeatable; ≤ 20 with external_ids).", show_default=False)] = None,
    requests_per_second: Annotated[float | None, setting_option("--requests-per-second", "tmdb.requests_per_second", "Client-side rate limit")] = None,
    concurrency: Annotated[int | None, setting_option("--concurrency", "tmdb.concurrency", "Concurrent workers")] = None,
    *,
    shared: Shared,
) -> Summary:
    """Look up the Raw CSV titles on TMDB by IMDb id and store the answers as JSON in the Raw zone.

    Ids come from the Raw CSVs of the date (default: the latest date ingested). Each is looked up
    with /find, then /movie or /tv; answers land in Raw/TMDB/JSON/{Movies,Series}/YYYY/MM/DD/.
    Needs TMDB_READ_ACCESS_TOKEN or TMDB_API_KEY (https://www.themoviedb.org/settings/api).
    Re-running fetches only what is missing, plus the stored titles TMDB's change lists name
    since the last sync (--no-changes skips that). Exit 3 if TMDB refused the credentials or ids
    failed after retries (everything else is saved).

    Example:
      moviedl ingest-tmdb --genre drama,crime --min-votes 10000 --limit 5000
    """
    from moviedl.stages.tmdb.ingest import TmdbOptions

    settings = shared.settings(**{
        "tmdb.requests_per_second": requests_per_second, "tmdb.concurrency": concurrency,
    })
    options = TmdbOptions(
        kind=kind, genres=tuple(genre or ()), year_from=year_from, year_to=year_to,
        min_votes=min_votes, limit=limit, ids_file=ids_file, refresh=refresh,
        retry_not_found=retry_not_found, appends=tuple(a for text in append or () for a in text.split(",")),
        changes=not no_changes,
    )
    with terminal.tmdb_progress(enabled=shared.shows_progress) as on_progress:
        with shared.live(spinner=False):
            return commands.ingest_tmdb(settings, options, on_progress=on_progress)


@command(app, "refine", date=RefineDateOption)
def refine_command(
    stage: Annotated[str, typer.Option("--stage", metavar="[trusted|refined|all]", autocompletion=_choices("trusted", "refined", "all"), help="Which stage to run: trusted, refined or all.")] = "all",
    force: Annotated[bool, typer.Option("--force", help="Rebuild every table, even those whose inputs did not change since they were published (which are skipped otherwise).")] = False,
    engine: Annotated[str | None, setting_option("--engine", "refine.engine", "The SQL engine: duckdb (one machine) or spark (needs the spark extra: pip install 'moviedl\\[spark]')", metavar="[duckdb|spark]")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be read, built and published (or skipped as unchanged); write nothing.")] = False,
    *,
    shared: Shared,
) -> Summary:
    """Turn Raw into typed Trusted Parquet and the Refined star schema; publish only audited data.

    Trusted: the date's CSVs (and TMDB JSON) typed, duplicates dropped and counted, untypeable rows
    quarantined under _moviedl/. Refined: DimFilmes, DimGenero, DimArtista, FatoFilme, FatoElenco
    rebuilt from every Trusted partition. Each table is written aside and audited (rows reconcile,
    schema, keys, foreign keys) before it replaces the previous version; a failed audit publishes
    nothing and exits 1. Without --date: the latest Raw date, plus any date not refined yet.

    Example:
      moviedl refine --date 2024-05-01
    """
    settings = shared.settings(**{"refine.engine": engine})
    with shared.live():
        return commands.refine(settings, stage, force=force, dry_run=dry_run)


@command(app, "athena-ddl", date=UnusedDateOption)
def athena_ddl_command(
    database: Annotated[str | None, setting_option("--database", "athena.database")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the DDL (or the policies) to FILE instead of stdout.", show_default=False)] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Run the statements through Athena (athena.workgroup, athena.output_location) and wait for each.")] = False,
    glue: Annotated[bool, typer.Option("--glue", help="Create or update the tables directly in the Glue Data Catalog (no Athena query rights needed).")] = False,
    dialect: Annotated[str, typer.Option("--dialect", metavar="[athena|duckdb]", autocompletion=_choices("athena", "duckdb"), help="athena: Athena/Glue DDL; duckdb: views over the Parquet files that DuckDB runs as they are.")] = "athena",
    location: Annotated[str | None, typer.Option("--location", help="s3://bucket/prefix the lake is (or will be) uploaded to; needed for Athena with a local lake.", show_default=False)] = None,
    policy: Annotated[bool, typer.Option("--policy", help="Print least-privilege IAM policies (pipeline; read-only analyst/QuickSight) instead of DDL.")] = False,
    *,
    shared: Shared,
) -> Summary:
    """Print (or run in Athena, or register in Glue) the definitions of every Trusted and Refined table.

    Columns and types come from the Parquet files in the lake, checked against the contract
    (a mismatch emits nothing, exit 1). Trusted tables are partitioned by dt with partition
    projection; analysis views (per genre, per decade, budget vs revenue, top titles) follow.
    The DDL goes to stdout (the summary to stderr), or to --output FILE; with --format json it
    is in the summary. A failed Athena statement or Glue call exits 3 with the service's reason.

    Example:
      moviedl athena-ddl --lake s3://my-bucket/lake --execute
    """
    from moviedl.stages.catalog.athena_ddl import DdlOptions

    settings = shared.settings(**{"athena.database": database})
    options = DdlOptions(dialect=dialect, location=location, output=output, execute=execute,
                         glue=glue, policy=policy)
    with shared.live():
        summary = commands.athena_ddl(settings, options)
    if not (output or execute or glue):
        shared.print_product(summary)  # stdout is only DDL, for '> ddl.sql'
    return summary


@command(app, "validate", date=ValidateDateOption)
def validate_command(
    zone: Annotated[str, typer.Option("--zone", metavar="[raw|trusted|refined|all]", autocompletion=_choices("raw", "trusted", "refined", "all"), help="Which zone to check: raw, trusted, refined or all.")] = "all",
    strict: Annotated[bool, typer.Option("--strict", help="Warnings (TMDB coverage, freshness, all-NULL columns, no manifest) fail the run too.")] = False,
    *,
    shared: Shared,
) -> Summary:
    """Check every zone of the lake against the contract and print what holds and what does not.

    Raw (the --date, default the latest): CSVs present, header and columns, SHA-256 and rows as
    ingest-csv recorded; TMDB JSON parses, <= 100 records and 10 MB per file, one kind per file, no
    IMDb id twice. Trusted (same date): readable, not empty, schema, rows reconcile with Raw, keys
    not NULL, value ranges, IMDb ids. Refined: keys unique, foreign keys resolve, FatoFilme covers
    Trusted, TMDB coverage and freshness (warnings). Exit 1 when a check fails (or warns, with
    --strict). Reads only; the lake is not locked.

    Example:
      moviedl validate --zone trusted --date 2024-05-01 --format json
    """
    settings = shared.settings()
    with shared.live():
        return commands.validate(settings, zone, strict=strict)


@command(config_app, "show", date=IngestDateOption, label="config show")
def config_show_command(shared: Shared) -> Summary:
    """Print every effective setting and where it came from (flag, env, file, default); secrets masked.

    Example:
      moviedl config show --format json
    """
    return commands.config_show(shared.settings())


@command(app, "report", date=UnusedDateOption)
def report_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the HTML file.")] = Path("moviedl-report.html"),
    genre: Annotated[list[str] | None, typer.Option("--genre", metavar="GENRES", help="Only titles with one of these genres (comma list, repeatable, case-insensitive); an unknown genre exits 2 listing the known ones.", show_default=False)] = None,
    year_from: Annotated[int | None, typer.Option("--year-from", help="Only titles released in or after this year.", show_default=False)] = None,
    year_to: Annotated[int | None, typer.Option("--year-to", help="Only titles released in or before this year.", show_default=False)] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100, metavar="ROWS", help="Rows of each top-N table (top-rated, most-voted, artists).")] = 20,
    *,
    shared: Shared,
) -> Summary:
    """Build a self-contained HTML dashboard from the Refined zone (opens offline in any browser).

    Every panel reads an analysis view that athena-ddl also emits: genre popularity by decade,
    ratings vs votes, top-rated and most-voted titles, top artists, rating and runtime
    distributions, movies vs series, languages, TMDB budget/revenue/ROI and coverage, cast
    gender, data quality. Filters (genre, decade, type, minimum votes) work in the page itself.

    Example:
      moviedl report --output report.html --genre drama,crime --year-from 1990
    """
    from moviedl.stages.report.report import ReportOptions

    options = ReportOptions(output=output, genres=tuple(genre or ()), year_from=year_from, year_to=year_to,
                            top_rows=top)
    settings = shared.settings()
    with shared.live():
        return commands.report(settings, options)


@command(app, "run", date=IngestDateOption)
def run_command(
    files: Annotated[list[Path] | None, typer.Argument(help="CSV files to ingest first (default: run.sources; none: refine what Raw holds).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the files and say what each stage would do; write nothing (no lock, no run record, no TMDB or AWS request).")] = False,
    *,
    shared: Shared,
) -> Summary:
    """The whole pipeline in order, for cron: ingest-csv, ingest-tmdb, refine, validate, athena-ddl.

    ingest-tmdb is skipped (with a notice) when no TMDB credentials are set. The run stops at
    the first failing stage and exits with that stage's code; the run record under
    _moviedl/runs/ holds every stage's summary.

    Example:
      moviedl --log-format json --log-file /var/log/moviedl.log \\
        run movies.csv series.csv
    """
    settings = shared.settings()
    if dry_run:
        with shared.live():
            return pipeline.dry_run(settings, files or ())
    with terminal.run_progress(shared.command, shared.quiet, shared.shows_progress) as shown:
        on_stage = None if shared.quiet else (shown.stage_line if shown else terminal.stage_line)
        return pipeline.run(settings, files or (), on_stage=on_stage, on_tmdb_progress=shown.tmdb if shown else None)


@command(app, "runs", date=UnusedDateOption)
def runs_command(
    show: Annotated[list[str] | None, typer.Argument(metavar="[show RUN_ID]", help="Show one run in full: each stage, its counts and problems, the checks that did not pass (a unique start of the id will do).", show_default=False)] = None,
    last: Annotated[int, typer.Option("--last", min=1, help="How many recent runs to list.")] = 10,
    *,
    shared: Shared,
) -> Summary:
    """List recent runs from their records under _moviedl/runs/, newest first; or show one.

    Example:
      moviedl runs --last 5 --format json
      moviedl runs show 20240501T021500Z
    """
    if show:
        if len(show) != 2 or show[0] != "show":
            raise UsageError(f"unexpected {' '.join(show)!r}: moviedl runs [--last N], or moviedl runs show RUN_ID")
        return commands.run_show(shared.settings(), show[1])
    return commands.runs(shared.settings(), last)


@command(app, "init", date=UnusedDateOption)
def init_command(
    path: Annotated[Path, typer.Argument(metavar="[FILE]", help="Where to write it.")] = Path("moviedl.toml"),
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    *,
    shared: Shared,
) -> Summary:
    """Write a starter moviedl.toml: every setting commented out, with its help and default.

    The file changes nothing until a line is uncommented; moviedl finds it from this folder or
    any folder below it. Then set the lake, and TMDB credentials in the environment to enrich.

    Example:
      moviedl init && moviedl config show
    """
    return commands.init(path, force=force)


@command(glue_app, "deploy", label="glue-job deploy", date=UnusedDateOption)
def glue_job_deploy_command(
    wheel: Annotated[Path | None, typer.Option("--wheel", metavar="FILE", help="The moviedl wheel to upload; default: one built from the sources this moviedl runs from (pip wheel).", show_default=False)] = None,
    role_arn: Annotated[str | None, setting_option("--role-arn", "glue.role_arn", "IAM role the job runs as; required", metavar="ARN")] = None,
    job_name: JobNameOption = None,
    *,
    shared: Shared,
) -> Summary:
    """Upload moviedl and the job script to the lake's bucket and create or update the Glue job.

    The wheel and the script go to _moviedl/glue/<digest>/ in the lake; the job (Glue 5.0,
    glueetl, glue.worker_type x glue.workers, glue.timeout_minutes) installs the wheel with
    --additional-python-modules and runs refine on Glue's Spark. Deploying again updates the
    job in place. Needs an s3:// lake and glue.role_arn (exit 2 without); refused AWS calls
    exit 3. Takes no lake lock: the job's refine does, when it runs.

    Example:
      moviedl glue-job deploy --lake s3://my-bucket/lake \\
        --role-arn arn:aws:iam::123456789012:role/moviedl-glue-job
    """
    from moviedl.stages.glue_job import DeployOptions

    settings = shared.settings(**{"glue.role_arn": role_arn, "glue.job_name": job_name})
    with shared.live():
        return commands.glue_job_deploy(settings, DeployOptions(wheel=wheel))


@command(glue_app, "start", label="glue-job start", date=RefineDateOption)
def glue_job_start_command(
    stage: Annotated[str, typer.Option("--stage", metavar="[trusted|refined|all]", autocompletion=_choices("trusted", "refined", "all"), help="Which refine stage the run does: trusted, refined or all.")] = "all",
    wait: Annotated[bool, typer.Option("--wait", help="Follow the run to its end: exit 0 when it SUCCEEDED, 1 when it ended otherwise (FAILED, TIMEOUT, STOPPED, ERROR).")] = False,
    job_name: JobNameOption = None,
    *,
    shared: Shared,
) -> Summary:
    """Start a run of the Glue job: refine the lake on Spark for --date (and --stage).

    Prints the run id at once; with --wait it follows the run (at most glue.timeout_minutes
    plus 15 minutes; a run still going then exits 3 and goes on) and exits with its outcome.
    The run's refine takes the lake lock and writes its run record like a local refine.

    Example:
      moviedl glue-job start --lake s3://my-bucket/lake --date 2024-05-01 --wait
    """
    settings = shared.settings(**{"glue.job_name": job_name})
    with shared.live():
        return commands.glue_job_start(settings, stage, wait=wait)


@command(glue_app, "status", label="glue-job status", date=UnusedDateOption)
def glue_job_status_command(
    run_id: Annotated[str | None, typer.Option("--run-id", metavar="ID", help="Only this run (the id glue-job start printed).", show_default=False)] = None,
    last: Annotated[int, typer.Option("--last", min=1, max=200, help="How many recent runs to list.")] = 10,
    job_name: JobNameOption = None,
    *,
    shared: Shared,
) -> Summary:
    """List the Glue job's recent runs, newest first: state, date, start, end, seconds, error.

    Example:
      moviedl glue-job status --last 5 --format json
    """
    settings = shared.settings(**{"glue.job_name": job_name})
    return commands.glue_job_status(settings, run_id, last)


@command(quicksight_app, "deploy", label="quicksight deploy", date=UnusedDateOption)
def quicksight_deploy_command(
    principal: Annotated[str | None, setting_option("--principal", "quicksight.principal", "The QuickSight user or group ARN to share the dashboard and datasets with", metavar="ARN")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print every request body (JSON lines) and call no AWS service.")] = False,
    *,
    shared: Shared,
) -> Summary:
    """Create or update the QuickSight data source, datasets and dashboard over the Athena views.

    An Athena data source (athena.workgroup), one dataset per analysis view (quicksight.mode:
    direct or spice) and a dashboard built from its definition (the report's main panels, with
    genre, decade, type and minimum-votes controls), all shared with the principal. Ids come from
    athena.database: deploying again updates in place. Needs the views (athena-ddl --execute);
    QuickSight subscribed in the account (docs/quicksight.md). Refused AWS calls exit 3.

    Example:
      moviedl quicksight deploy --lake s3://my-bucket/lake \\
        --principal arn:aws:quicksight:us-east-1:123456789012:user/default/analyst
    """
    from moviedl.stages.quicksight.deploy import QuickSightOptions

    settings = shared.settings(**{"quicksight.principal": principal})
    with shared.live():
        summary = commands.quicksight_deploy(settings, QuickSightOptions(dry_run=dry_run))
    if dry_run:
        shared.print_product(summary)  # stdout is only the requests, for '> requests.jsonl'
    return summary


@command(quicksight_app, "status", label="quicksight status", date=UnusedDateOption)
def quicksight_status_command(*, shared: Shared) -> Summary:
    """List each QuickSight resource moviedl deployed, its state and the last SPICE refresh.

    Example:
      moviedl quicksight status --lake s3://my-bucket/lake
    """
    return commands.quicksight_status(shared.settings())


@command(quicksight_app, "remove", label="quicksight remove", date=UnusedDateOption)
def quicksight_remove_command(*, shared: Shared) -> Summary:
    """Delete the dashboard, datasets and data source moviedl deployed, and nothing else.

    The lake records what deploy created (_moviedl/quicksight.json); what is already gone is
    said so. An interrupted remove can be run again.

    Example:
      moviedl quicksight remove --lake s3://my-bucket/lake
    """
    return commands.quicksight_remove(shared.settings())


def main() -> None:
    """The ``moviedl`` entry point. SIGINT and SIGTERM (Ctrl-C, cron's timeout, systemd, kill)
    raise :class:`KeyboardInterrupt` so cleanups run — staged files removed, the lake lock
    released — and are recorded, so the command exits 130 whatever the work made of them."""
    interrupt.install()
    try:
        app()
    except SystemExit as exc:
        # An interrupt outside a command's error boundary (e.g. while a command loads its
        # modules) reaches typer, which exits 130 without a word (or click: "Aborted!", exit 1).
        if interrupt.interrupted() and exc.code not in (0, None) and not REPORTED:
            say(INTERRUPTED, "interrupted", level=logging.ERROR, exit_code=int(ExitCode.INTERRUPTED))
            raise SystemExit(int(ExitCode.INTERRUPTED)) from None
        raise
