"""The ``moviedl`` command line: parse options, call the library, render its summary, exit.

Every command takes the shared options ``--lake``, ``--config``, ``--date``, ``--format`` and
``--quiet``. Library errors (:class:`~moviedl.errors.MoviedlError`) become one ``Error:`` line
and their exit code here, and only here; an interrupt (SIGINT/SIGTERM) becomes exit 130 whatever
the work made of it, and any other exception one ``Internal error`` line and exit 4.
``MOVIEDL_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

try:  # recent typer vendors click (and no longer installs it); older typer raises click's own
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover - older typer
    import click.exceptions as _click_exceptions  # type: ignore[no-redef]
from rich.markup import escape

from moviedl import __version__, api, interrupt
from moviedl.config import Settings, load_settings
from moviedl.errors import ExitCode, MoviedlError
from moviedl.output import OutputFormat, render, stderr_console


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
        "  moviedl run movies.csv series.csv --lake ./lake      [dim]# the whole pipeline[/]\n\n"
        "  moviedl validate --lake s3://my-bucket/lake -v      [dim]# every check of every zone[/]\n\n"
        "  moviedl report --lake ./lake -o report.html         [dim]# the offline dashboard[/]"
    ),
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
glue_app = typer.Typer(help="Run refine on Spark as an AWS Glue 5 job: deploy it, start runs, follow them.",
                       no_args_is_help=True)
app.add_typer(glue_app, name="glue-job")

# --- shared options, declared once ---------------------------------------------------------
class LogFormat(StrEnum):
    text = "text"
    json = "json"


_LAKE_PANEL = "Lake and configuration"
_OUTPUT_PANEL = "Output and logs"
LakeOption = Annotated[
    str | None,
    typer.Option("--lake", metavar="FOLDER|S3-URI", rich_help_panel=_LAKE_PANEL, show_default=False,
                 help="Lake: a local folder or s3://bucket/prefix (env MOVIEDL_LAKE; default ./lake)"),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", metavar="FILE", rich_help_panel=_LAKE_PANEL, show_default=False,
                 help="Config file (env MOVIEDL_CONFIG; default ./moviedl.toml)"),
]


def _date_help(text: str) -> Any:
    return typer.Option("--date", metavar="YYYY-MM-DD", rich_help_panel=_LAKE_PANEL, show_default=False,
                        help=f"{text} (env MOVIEDL_DATE)")


# --date means something different per command; each says what.
IngestDateOption = Annotated[str | None, _date_help("Date the files are stored under; default today, UTC")]
TmdbDateOption = Annotated[str | None, _date_help("Date whose Raw CSV titles are looked up; default the latest date ingested")]
RefineDateOption = Annotated[str | None, _date_help("Raw date to refine; default the latest Raw date, plus any date not refined yet")]
ValidateDateOption = Annotated[str | None, _date_help("Date whose Raw and Trusted partitions are checked; default the latest")]
UnusedDateOption = Annotated[str | None, typer.Option("--date", hidden=True)]  # accepted, not used
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", rich_help_panel=_OUTPUT_PANEL,
                               help="Summary as a table (text) or one JSON object (json).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", rich_help_panel=_OUTPUT_PANEL, help="Print only errors.")]
# The global logging options are also accepted after the command: ``moviedl refine -v``.
VerboseOption = Annotated[int, typer.Option("--verbose", "-v", count=True, metavar="", show_default=False, rich_help_panel=_OUTPUT_PANEL,
                                            help="More detail: every check, info logs (-v); debug logs (-vv).")]
LogFormatOption = Annotated[
    LogFormat | None, typer.Option("--log-format", rich_help_panel=_OUTPUT_PANEL, show_default=False,
                                     help="Logs on stderr as human text or one JSON object per line.")
]
LogFileOption = Annotated[Path | None, typer.Option("--log-file", metavar="FILE", rich_help_panel=_OUTPUT_PANEL,
                                                    show_default=False, help="Also append logs to this file.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"moviedl {__version__}")
        raise typer.Exit()


# Logging options apply to the whole invocation, so they sit before the command:
# ``moviedl --log-format json --log-file run.log run``. Kept here until a command loads settings.
_LOGGING: dict[str, Any] = {}


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
    _LOGGING.update(fmt=log_format.value, file=log_file, verbosity=verbose)


_INTERRUPTED = f"[bold red]Interrupted:[/] {interrupt.MESSAGE}."
_REPORTED: list[str] = []  # commands whose interrupt _errors reported (main() reports any other)


@contextlib.contextmanager
def _errors(command: str, format: OutputFormat = OutputFormat.text) -> Iterator[None]:
    """The one place where failures become a message and an exit code.

    * a library error (:class:`MoviedlError`): ``Error: <message>``, its exit code (1, 2, 3);
    * an interrupt (SIGINT/SIGTERM, or DuckDB's "Query interrupted"), whatever the work turned
      it into (a failed check, a :class:`DataCheckError`): ``Interrupted: ...``, exit 130;
    * anything else is a bug: ``Internal error, please report: <Type>: <message>``, exit 4
      (never 1, which cron reads as bad data).

    ``MOVIEDL_DEBUG=1`` re-raises errors and bugs for their traceback. With ``--format json`` a
    failed command still prints its summary on stdout (``ok: false``, the exit code and the
    problem), so a script reading stdout always gets one JSON object.
    """
    debug = bool(os.environ.get("MOVIEDL_DEBUG"))
    try:
        yield
        interrupt.check()  # the work may have swallowed the interrupt: its outcome does not stand
    except (typer.Exit, typer.Abort, _click_exceptions.ClickException):  # typer's ways out: code, usage
        raise
    except BaseException as exc:
        if interrupt.is_interrupt(exc):
            _REPORTED.append(command)
            _fail(command, format, ExitCode.INTERRUPTED, f"interrupted: {interrupt.MESSAGE}", _INTERRUPTED)
        if not isinstance(exc, Exception) or debug:
            raise
        if isinstance(exc, MoviedlError):
            logging.getLogger("moviedl").debug("command failed", extra={"fields": {"error": exc.message}})
            _fail(command, format, exc.exit_code, str(exc), f"[bold red]Error:[/] {escape(str(exc))}")
        logging.getLogger("moviedl").debug("internal error", exc_info=True)
        what = f"internal error, please report: {interrupt.one_line(exc)}"
        _fail(command, format, ExitCode.INTERNAL, what,
              f"[bold red]Internal error[/], please report (MOVIEDL_DEBUG=1 shows the traceback): "
              f"{escape(interrupt.one_line(exc))}")


def _fail(command: str, format: OutputFormat, code: int, problem: str, line: str) -> NoReturn:
    """Print a failure (the JSON summary with ``--format json``, else one line on stderr) and exit."""
    if format is OutputFormat.json:
        from moviedl.summary import Summary

        failed = Summary(command, "", problems=[problem])
        failed.fail(code)  # type: ignore[arg-type]
        render(failed, format)
    else:
        stderr_console().print(line, highlight=False, soft_wrap=True)  # one line, however long
    raise typer.Exit(int(code)) from None


def _settings(
    lake: str | None, config: Path | None, date: str | None,
    logs: tuple[int, LogFormat | None, Path | None] = (0, None, None), **flags: Any,
) -> Settings:
    """The command's settings; ``logs`` are the logging options given after the command name,
    which add to (verbosity) or replace (format, file) those given before it."""
    verbose, log_format, log_file = logs
    _LOGGING["verbosity"] = _LOGGING.get("verbosity", 0) + verbose
    if log_format is not None:
        _LOGGING["fmt"] = log_format.value
    if log_file is not None:
        _LOGGING["file"] = log_file
    settings = load_settings(
        {"lake": lake, "date": date, **flags}, config_path=str(config) if config else None
    )
    from moviedl.logs import setup_logging
    from moviedl.session import secrets_of

    setup_logging(
        fmt=_LOGGING.get("fmt", "text"), file=_LOGGING.get("file"),
        verbosity=_LOGGING.get("verbosity", 0), secrets=secrets_of(settings),
    )
    return settings


@app.command("ingest-csv")
def ingest_csv_command(
    files: Annotated[list[Path], typer.Argument(help="movies.csv / series.csv files to ingest.", show_default=False)],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace different content already stored for the date.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the files and report what would happen; write nothing.")] = False,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: IngestDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Check source CSVs and copy them unchanged, verified, into the Raw zone.

    Each file must be UTF-8, '|'-delimited, with the movies.csv or series.csv header and the
    same number of fields on every row. If any file fails, nothing is ingested (exit 2).

    Example: moviedl ingest-csv movies.csv series.csv --date 2024-05-01
    """
    with _errors("ingest-csv", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file))
        with _byte_progress(files, enabled=format is OutputFormat.text and not quiet) as advance:
            with _live("ingest-csv", quiet, spinner=False):
                summary = api.ingest_csv(settings, files, overwrite=overwrite, dry_run=dry_run, on_bytes=advance)
    _finish(summary, format, quiet)


@app.command("ingest-tmdb")
def ingest_tmdb_command(
    kind: Annotated[str | None, typer.Option("--kind", metavar="[movies|series]", help="Only titles of movies.csv or of series.csv.", show_default=False)] = None,
    genre: Annotated[list[str] | None, typer.Option("--genre", help="Only titles with one of these genres (comma list, repeatable, case-insensitive).", show_default=False)] = None,
    year_from: Annotated[int | None, typer.Option("--year-from", help="Only titles released in or after this year.", show_default=False)] = None,
    year_to: Annotated[int | None, typer.Option("--year-to", help="Only titles released in or before this year.", show_default=False)] = None,
    min_votes: Annotated[int | None, typer.Option("--min-votes", min=0, help="Only titles with at least this many IMDb votes.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Look up at most N ids this run (the rest on the next run).", show_default=False)] = None,
    ids_file: Annotated[Path | None, typer.Option("--ids-file", help="Only the IMDb ids listed in FILE (one per line, # comments).", show_default=False)] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch again ids stored on an earlier date.")] = False,
    retry_not_found: Annotated[bool, typer.Option("--retry-not-found", help="Ask again for ids TMDB did not know last time.")] = False,
    append: Annotated[list[str] | None, typer.Option("--append", help="More append_to_response parts, e.g. credits,keywords (repeatable; ≤ 20 with external_ids).", show_default=False)] = None,
    requests_per_second: Annotated[float | None, typer.Option("--requests-per-second", help="Client-side rate limit (config tmdb.requests_per_second; default 40).", show_default=False)] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Concurrent workers (config tmdb.concurrency; default 8).", show_default=False)] = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: TmdbDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Look up the Raw CSV titles on TMDB by IMDb id and store the answers as JSON in the Raw zone.

    Ids come from the Raw CSVs of the date (default: the latest date ingested). Each is looked up
    with /find, then /movie or /tv; answers land in Raw/TMDB/JSON/{Movies,Series}/YYYY/MM/DD/.
    Needs TMDB_READ_ACCESS_TOKEN or TMDB_API_KEY (https://www.themoviedb.org/settings/api).
    Re-running fetches only what is missing. Exit 3 if TMDB refused the credentials or ids
    failed after retries (everything else is saved).

    Example: moviedl ingest-tmdb --genre drama,crime --min-votes 10000 --limit 5000
    """
    from moviedl.ingest_tmdb import TmdbOptions

    with _errors("ingest-tmdb", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file), **{
            "tmdb.requests_per_second": requests_per_second, "tmdb.concurrency": concurrency,
        })
        options = TmdbOptions(
            kind=kind, genres=tuple(genre or ()), year_from=year_from, year_to=year_to,
            min_votes=min_votes, limit=limit, ids_file=ids_file, refresh=refresh,
            retry_not_found=retry_not_found, appends=tuple(a for text in append or () for a in text.split(",")),
        )
        with _tmdb_progress(enabled=format is OutputFormat.text and not quiet) as on_progress:
            with _live("ingest-tmdb", quiet, spinner=False):
                summary = api.ingest_tmdb(settings, options, on_progress=on_progress)
    _finish(summary, format, quiet)


class _TmdbBar:
    """The TMDB lookups bar: its task appears with the first update (inside ``run``, when the
    ingest-tmdb stage starts); ``console`` prints above it without tearing it."""

    def __init__(self, progress: Any) -> None:
        self.progress, self.console, self.task = progress, progress.console, None

    def __call__(self, state: Any) -> None:
        if self.task is None:
            self.task = self.progress.add_task("TMDB lookups", total=None, rps=0.0)
        self.progress.update(self.task, completed=state.done, total=state.total or None,
                             rps=state.requests_per_second)


@contextlib.contextmanager
def _tmdb_progress(enabled: bool) -> Iterator[_TmdbBar | None]:
    """A rich progress bar (done/total, req/s, ETA) for TMDB lookups when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rps]:.1f} req/s"), TimeRemainingColumn(),
        console=stderr_console(), transient=True,
    ) as progress:
        yield _TmdbBar(progress)


@app.command("refine")
def refine_command(
    stage: Annotated[str, typer.Option("--stage", metavar="[trusted|refined|all]", help="Which stage to run: trusted, refined or all.")] = "all",
    force: Annotated[bool, typer.Option("--force", help="Rebuild every table, even those whose inputs did not change since they were published (which are skipped otherwise).")] = False,
    engine: Annotated[str | None, typer.Option("--engine", metavar="[duckdb|spark]", help="The SQL engine: duckdb (default, one machine) or spark (needs the spark extra: pip install 'moviedl\\[spark]'); config refine.engine.", show_default=False)] = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: RefineDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Turn Raw into typed Trusted Parquet and the Refined star schema; publish only audited data.

    Trusted: the date's CSVs (and TMDB JSON) typed, duplicates dropped and counted, untypeable rows
    quarantined under _moviedl/. Refined: DimFilmes, DimGenero, DimArtista, FatoFilme, FatoElenco
    rebuilt from every Trusted partition. Each table is written aside and audited (rows reconcile,
    schema, keys, foreign keys) before it replaces the previous version; a failed audit publishes
    nothing and exits 1. Without --date: the latest Raw date, plus any date not refined yet.

    Example: moviedl refine --date 2024-05-01
    """
    with _errors("refine", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file), **{"refine.engine": engine})
        with _live("refine", quiet):
            summary = api.refine(settings, stage, force=force)
    _finish(summary, format, quiet)


@app.command("athena-ddl")
def athena_ddl_command(
    database: Annotated[str | None, typer.Option("--database", help="Athena/Glue database (config athena.database; default moviedl).", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the DDL (or the policies) to FILE instead of stdout.", show_default=False)] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Run the statements through Athena (athena.workgroup, athena.output_location) and wait for each.")] = False,
    glue: Annotated[bool, typer.Option("--glue", help="Create or update the tables directly in the Glue Data Catalog (no Athena query rights needed).")] = False,
    dialect: Annotated[str, typer.Option("--dialect", metavar="[athena|duckdb]", help="athena: Athena/Glue DDL; duckdb: views over the Parquet files that DuckDB runs as they are.")] = "athena",
    location: Annotated[str | None, typer.Option("--location", help="s3://bucket/prefix the lake is (or will be) uploaded to; needed for Athena with a local lake.", show_default=False)] = None,
    policy: Annotated[bool, typer.Option("--policy", help="Print least-privilege IAM policies (pipeline; read-only analyst/QuickSight) instead of DDL.")] = False,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: UnusedDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Print (or run in Athena, or register in Glue) the definitions of every Trusted and Refined table.

    Columns and types come from the Parquet files in the lake, checked against the contract
    (a mismatch emits nothing, exit 1). Trusted tables are partitioned by dt with partition
    projection; analysis views (per genre, per decade, budget vs revenue, top titles) follow.
    The DDL goes to stdout (the summary to stderr), or to --output FILE; with --format json it
    is in the summary. A failed Athena statement or Glue call exits 3 with the service's reason.

    Example: moviedl athena-ddl --lake s3://my-bucket/lake --execute
    """
    from moviedl.athena_ddl import DdlOptions

    with _errors("athena-ddl", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file), **{"athena.database": database})
        options = DdlOptions(dialect=dialect, location=location, output=output, execute=execute,
                             glue=glue, policy=policy)
        with _live("athena-ddl", quiet):
            summary = api.athena_ddl(settings, options)
    script = summary.output
    if format is OutputFormat.text and not (output or execute or glue):
        if script:
            sys.stdout.write(script)
            sys.stdout.flush()
        with contextlib.redirect_stdout(sys.stderr):  # stdout is only DDL, for '> ddl.sql'
            _finish(summary, format, quiet)
    else:
        _finish(summary, format, quiet)


@app.command("validate")
def validate_command(
    zone: Annotated[str, typer.Option("--zone", metavar="[raw|trusted|refined|all]", help="Which zone to check: raw, trusted, refined or all.")] = "all",
    strict: Annotated[bool, typer.Option("--strict", help="Warnings (TMDB coverage, freshness, all-NULL columns, no manifest) fail the run too.")] = False,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: ValidateDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Check every zone of the lake against the contract and print what holds and what does not.

    Raw (the --date, default the latest): CSVs present, header and columns, SHA-256 and rows as
    ingest-csv recorded; TMDB JSON parses, <= 100 records and 10 MB per file, one kind per file, no
    IMDb id twice. Trusted (same date): readable, not empty, schema, rows reconcile with Raw, keys
    not NULL, value ranges, IMDb ids. Refined: keys unique, foreign keys resolve, FatoFilme covers
    Trusted, TMDB coverage and freshness (warnings). Exit 1 when a check fails (or warns, with
    --strict). Reads only; the lake is not locked.

    Example: moviedl validate --zone trusted --date 2024-05-01 --format json
    """
    with _errors("validate", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file))
        with _live("validate", quiet):
            summary = api.validate(settings, zone, strict=strict)
    _finish(summary, format, quiet)


@config_app.command("show")
def config_show_command(
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: IngestDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Print every effective setting and where it came from (flag, env, file, default); secrets masked.

    Example: moviedl config show --format json
    """
    with _errors("config show", format):
        summary = api.config_show(_settings(lake, config, date, logs=(verbose, log_format, log_file)))
    _finish(summary, format, quiet)


@app.command("report")
def report_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the HTML file.")] = Path("moviedl-report.html"),
    genre: Annotated[list[str] | None, typer.Option("--genre", metavar="GENRES", help="Only titles with one of these genres (comma list, repeatable, case-insensitive); an unknown genre exits 2 listing the known ones.", show_default=False)] = None,
    year_from: Annotated[int | None, typer.Option("--year-from", help="Only titles released in or after this year.", show_default=False)] = None,
    year_to: Annotated[int | None, typer.Option("--year-to", help="Only titles released in or before this year.", show_default=False)] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100, metavar="ROWS", help="Rows of each top-N table (top-rated, most-voted, artists).")] = 20,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: UnusedDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Build a self-contained HTML dashboard from the Refined zone (opens offline in any browser).

    Every panel reads an analysis view that athena-ddl also emits: genre popularity by decade,
    ratings vs votes, top-rated and most-voted titles, top artists, rating and runtime
    distributions, movies vs series, languages, TMDB budget/revenue/ROI and coverage, cast
    gender, data quality. Filters (genre, decade, type, minimum votes) work in the page itself.

    Example: moviedl report --output report.html --genre drama,crime --year-from 1990
    """
    from moviedl.report import ReportOptions

    with _errors("report", format):
        options = ReportOptions(output=output, genres=tuple(genre or ()), year_from=year_from, year_to=year_to,
                                top_rows=top)
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file))
        with _live("report", quiet):
            summary = api.report(settings, options)
    _finish(summary, format, quiet)


@app.command("run")
def run_command(
    files: Annotated[list[Path] | None, typer.Argument(help="CSV files to ingest first (default: run.sources; none: refine what Raw holds).", show_default=False)] = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: IngestDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """The whole pipeline in order, for cron: ingest-csv, ingest-tmdb, refine.

    ingest-tmdb is skipped (with a notice) when no TMDB credentials are set. The run stops at
    the first failing stage and exits with that stage's code; the run record under
    _moviedl/runs/ holds every stage's summary.

    Example: moviedl --log-format json --log-file /var/log/moviedl.log run movies.csv series.csv
    """
    with _errors("run", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file))
        with _live("run", quiet, spinner=False), _tmdb_progress(format is OutputFormat.text and not quiet) as bar:
            on_stage = None if quiet else functools.partial(_stage_line, console=bar.console if bar else None)
            summary = api.run(settings, files or (), on_stage=on_stage, on_tmdb_progress=bar)
    _finish(summary, format, quiet)


@app.command("runs")
def runs_command(
    last: Annotated[int, typer.Option("--last", min=1, help="How many recent runs to list.")] = 10,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: UnusedDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """List recent runs from their records under _moviedl/runs/, newest first.

    Example: moviedl runs --last 5 --format json
    """
    with _errors("runs", format):
        summary = api.runs(_settings(lake, config, date, logs=(verbose, log_format, log_file)), last)
    _finish(summary, format, quiet)


JobNameOption = Annotated[str | None, typer.Option("--job-name", rich_help_panel=_LAKE_PANEL, show_default=False,
                                                    help="The Glue job (config glue.job_name; default moviedl-refine).")]


@glue_app.command("deploy")
def glue_job_deploy_command(
    wheel: Annotated[Path | None, typer.Option("--wheel", metavar="FILE", help="The moviedl wheel to upload; default: one built from the sources this moviedl runs from (pip wheel).", show_default=False)] = None,
    role_arn: Annotated[str | None, typer.Option("--role-arn", metavar="ARN", help="IAM role the job runs as (config glue.role_arn, env MOVIEDL_GLUE_ROLE_ARN; required).", show_default=False)] = None,
    job_name: JobNameOption = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: UnusedDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Upload moviedl and the job script to the lake's bucket and create or update the Glue job.

    The wheel and the script go to _moviedl/glue/<digest>/ in the lake; the job (Glue 5.0,
    glueetl, glue.worker_type x glue.workers, glue.timeout_minutes) installs the wheel with
    --additional-python-modules and runs refine on Glue's Spark. Deploying again updates the
    job in place. Needs an s3:// lake and glue.role_arn (exit 2 without); refused AWS calls
    exit 3. Takes no lake lock: the job's refine does, when it runs.

    Example: moviedl glue-job deploy --lake s3://my-bucket/lake --role-arn arn:aws:iam::123456789012:role/moviedl-glue-job
    """
    from moviedl.glue_job import DeployOptions

    with _errors("glue-job deploy", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file),
                             **{"glue.role_arn": role_arn, "glue.job_name": job_name})
        with _live("glue-job deploy", quiet):
            summary = api.glue_job_deploy(settings, DeployOptions(wheel=wheel))
    _finish(summary, format, quiet)


@glue_app.command("start")
def glue_job_start_command(
    stage: Annotated[str, typer.Option("--stage", metavar="[trusted|refined|all]", help="Which refine stage the run does: trusted, refined or all.")] = "all",
    wait: Annotated[bool, typer.Option("--wait", help="Follow the run to its end: exit 0 when it SUCCEEDED, 1 when it ended otherwise (FAILED, TIMEOUT, STOPPED, ERROR).")] = False,
    job_name: JobNameOption = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: RefineDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """Start a run of the Glue job: refine the lake on Spark for --date (and --stage).

    Prints the run id at once; with --wait it follows the run (at most glue.timeout_minutes
    plus 15 minutes; a run still going then exits 3 and goes on) and exits with its outcome.
    The run's refine takes the lake lock and writes its run record like a local refine.

    Example: moviedl glue-job start --lake s3://my-bucket/lake --date 2024-05-01 --wait
    """
    with _errors("glue-job start", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file), **{"glue.job_name": job_name})
        with _live("glue-job start", quiet):
            summary = api.glue_job_start(settings, stage, wait=wait)
    _finish(summary, format, quiet)


@glue_app.command("status")
def glue_job_status_command(
    run_id: Annotated[str | None, typer.Option("--run-id", metavar="ID", help="Only this run (the id glue-job start printed).", show_default=False)] = None,
    last: Annotated[int, typer.Option("--last", min=1, max=200, help="How many recent runs to list.")] = 10,
    job_name: JobNameOption = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: UnusedDateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    log_format: LogFormatOption = None,
    log_file: LogFileOption = None,
) -> None:
    """List the Glue job's recent runs, newest first: state, date, start, end, seconds, error.

    Example: moviedl glue-job status --last 5 --format json
    """
    with _errors("glue-job status", format):
        settings = _settings(lake, config, date, logs=(verbose, log_format, log_file), **{"glue.job_name": job_name})
        summary = api.glue_job_status(settings, run_id, last)
    _finish(summary, format, quiet)


@contextlib.contextmanager
def _live(command: str, quiet: bool, *, spinner: bool = True) -> Iterator[None]:
    """Never a silent long step: on a terminal a status line (what is being done, elapsed) when
    ``spinner`` (commands with their own progress bar pass False); off a terminal (cron, a log
    file) a line on stderr every ``MOVIEDL_PROGRESS_SECONDS`` (default 30) while it runs."""
    from moviedl import progress

    if quiet:
        yield
        return
    console = stderr_console()
    with progress.stage(command):  # from the start: opening the lake and taking the lock count
        if sys.stderr.isatty():
            if not spinner:
                yield
                return
            with console.status(f"moviedl {command}") as status:
                with progress.Ticker(lambda line: status.update(f"moviedl {command}: {escape(line)}"), every=0.5):
                    yield
            return
        every = float(os.environ.get("MOVIEDL_PROGRESS_SECONDS") or 30)
        with progress.Ticker(lambda line: console.print(f"moviedl {command}: {escape(line)}", highlight=False,
                                                        soft_wrap=True), every=every):
            yield


def _stage_line(event: Any, console: Any = None) -> None:
    """dbt-style: ``1 of 5 START ingest-csv`` ... ``1 of 5 OK ingest-csv in 1.2s``."""
    word = {"start": "START", "ok": "OK", "failed": "FAILED", "degraded": "DEGRADED",
            "skipped": "SKIP", "not run": "NOT RUN"}.get(event.status, event.status.upper())
    style = {"OK": "green", "FAILED": "bold red", "DEGRADED": "yellow"}.get(word, "")
    took = f" in {event.seconds:.1f}s" if event.seconds is not None else ""
    shown = f"[{style}]{word}[/]" if style else word
    (console or stderr_console()).print(f"{event.index} of {event.total} {shown} {event.name}{took}",
                           highlight=False, soft_wrap=True)


def _finish(summary: Any, format: OutputFormat, quiet: bool) -> None:
    render(summary, format, quiet, verbose=_LOGGING.get("verbosity", 0))  # -v: every check
    if summary.exit_code != ExitCode.OK:
        raise typer.Exit(int(summary.exit_code))


@contextlib.contextmanager
def _byte_progress(files: list[Path], enabled: bool) -> Iterator[Any]:
    """A rich progress bar over the total bytes of ``files`` when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    total = sum(p.stat().st_size for p in files if p.is_file())
    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), console=stderr_console(), transient=True,
    ) as progress:
        task = progress.add_task("checking and copying", total=total)
        yield lambda n: progress.advance(task, n)


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
        if interrupt.interrupted() and exc.code not in (0, None) and not _REPORTED:
            stderr_console().print(_INTERRUPTED, highlight=False)
            raise SystemExit(int(ExitCode.INTERRUPTED)) from None
        raise
