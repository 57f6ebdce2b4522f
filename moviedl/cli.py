"""The ``moviedl`` command line: parse options, call the library, render its summary, exit.

Every command takes the shared options ``--lake``, ``--config``, ``--date``, ``--format`` and
``--quiet``. Library errors (:class:`~moviedl.errors.MoviedlError`) become one ``Error:`` line
and their exit code here, and only here; ``MOVIEDL_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from moviedl import __version__
from moviedl.config import Settings, load_settings
from moviedl.errors import ExitCode, MoviedlError
from moviedl.output import OutputFormat, render, stderr_console

app = typer.Typer(
    name="moviedl",
    help="Build and verify a movies-and-series data lake, locally or on S3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

# --- shared options, declared once ---------------------------------------------------------
LakeOption = Annotated[
    str | None,
    typer.Option("--lake", help="Lake: a local folder or s3://bucket/prefix (env MOVIEDL_LAKE; default ./lake)",
                 show_default=False),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (env MOVIEDL_CONFIG; default ./moviedl.toml)",
                 show_default=False),
]
DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Ingestion date YYYY-MM-DD (env MOVIEDL_DATE; default today, UTC)",
                 show_default=False),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="Summary as a table (text) or one JSON object (json).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"moviedl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Build and verify a movies-and-series data lake, locally or on S3."""


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """The one place where library errors become a message and an exit code."""
    try:
        yield
    except MoviedlError as exc:
        if os.environ.get("MOVIEDL_DEBUG"):
            raise
        stderr_console().print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        stderr_console().print("[bold red]Interrupted[/]: nothing half-written was published.")
        raise typer.Exit(130) from None


def _settings(lake: str | None, config: Path | None, date: str | None, **flags: Any) -> Settings:
    return load_settings(
        {"lake": lake, "date": date, **flags}, config_path=str(config) if config else None
    )


@app.command("ingest-csv")
def ingest_csv_command(
    files: Annotated[list[Path], typer.Argument(help="movies.csv / series.csv files to ingest.", show_default=False)],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace different content already stored for the date.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the files and report what would happen; write nothing.")] = False,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: DateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
) -> None:
    """Check source CSVs and copy them unchanged, verified, into the Raw zone.

    Each file must be UTF-8, '|'-delimited, with the movies.csv or series.csv header and the
    same number of fields on every row. If any file fails, nothing is ingested (exit 2).

    Example: moviedl ingest-csv movies.csv series.csv --date 2024-05-01
    """
    from moviedl.ingest_csv import ingest_csv
    from moviedl.lake import open_lake

    with _errors():
        settings = _settings(lake, config, date)
        store = open_lake(settings)
        with _byte_progress(files, enabled=format is OutputFormat.text and not quiet) as advance:
            summary = ingest_csv(settings, store, files, overwrite=overwrite, dry_run=dry_run, on_bytes=advance)
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
    date: DateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
) -> None:
    """Look up the Raw CSV titles on TMDB by IMDb id and store the answers as JSON in the Raw zone.

    Ids come from the Raw CSVs of the date (default: the latest date ingested). Each is looked up
    with /find, then /movie or /tv; answers land in Raw/TMDB/JSON/{Movies,Series}/YYYY/MM/DD/.
    Needs TMDB_READ_ACCESS_TOKEN or TMDB_API_KEY (https://www.themoviedb.org/settings/api).
    Re-running fetches only what is missing. Exit 3 if TMDB refused the credentials or ids
    failed after retries (everything else is saved).

    Example: moviedl ingest-tmdb --genre drama,crime --min-votes 10000 --limit 5000
    """
    from moviedl.ingest_tmdb import TmdbOptions, ingest_tmdb
    from moviedl.lake import open_lake

    with _errors():
        settings = _settings(lake, config, date, **{
            "tmdb.requests_per_second": requests_per_second, "tmdb.concurrency": concurrency,
        })
        options = TmdbOptions(
            kind=kind, genres=tuple(genre or ()), year_from=year_from, year_to=year_to,
            min_votes=min_votes, limit=limit, ids_file=ids_file, refresh=refresh,
            retry_not_found=retry_not_found, appends=tuple(a for text in append or () for a in text.split(",")),
        )
        store = open_lake(settings)
        with _tmdb_progress(enabled=format is OutputFormat.text and not quiet) as on_progress:
            summary = ingest_tmdb(settings, store, options, on_progress=on_progress)
    _finish(summary, format, quiet)


@contextlib.contextmanager
def _tmdb_progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar (done/total, req/s, ETA) for ingest-tmdb when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rps]:.1f} req/s"), TimeRemainingColumn(),
        console=stderr_console(), transient=True,
    ) as progress:
        task = progress.add_task("TMDB lookups", total=None, rps=0.0)

        def update(state: Any) -> None:
            progress.update(task, completed=state.done, total=state.total or None, rps=state.requests_per_second)

        yield update


@app.command("refine")
def refine_command(
    stage: Annotated[str, typer.Option("--stage", help="Which stage to run: trusted, refined or all.")] = "all",
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: DateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
) -> None:
    """Turn Raw into typed Trusted Parquet and the Refined star schema; publish only audited data.

    Trusted: the date's CSVs (and TMDB JSON) typed, duplicates dropped and counted, untypeable rows
    quarantined under _moviedl/. Refined: DimFilmes, DimGenero, DimArtista, FatoFilme, FatoElenco
    rebuilt from every Trusted partition. Each table is written aside and audited (rows reconcile,
    schema, keys, foreign keys) before it replaces the previous version; a failed audit publishes
    nothing and exits 1. Without --date: the latest Raw date, plus any date not refined yet.

    Example: moviedl refine --date 2024-05-01
    """
    from moviedl.lake import open_lake
    from moviedl.refine import RefineOptions, refine

    with _errors():
        settings = _settings(lake, config, date)
        options = RefineOptions.from_environment(stage, settings)
        summary = refine(settings, open_lake(settings), options)
    _finish(summary, format, quiet)


# --- athena-ddl (issue 6) ---

@config_app.command("show")
def config_show_command(
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: DateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
) -> None:
    """Print every effective setting and where it came from (flag, env, file, default); secrets masked.

    Example: moviedl config show --format json
    """
    from moviedl.summary import Summary

    with _errors():
        settings = _settings(lake, config, date)
    summary = Summary("config show", settings.lake, settings.date.isoformat(), ["key", "value", "source"])
    summary.rows = settings.describe()
    summary.counts = {"settings": len(summary.rows)}
    if settings.config_file:
        summary.notes.append(f"config file: {settings.config_file}")
    _finish(summary, format, quiet)


@app.command("report")
def report_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the HTML file.")] = Path("moviedl-report.html"),
    genre: Annotated[str | None, typer.Option("--genre", help="Only titles of this genre (case-insensitive).", show_default=False)] = None,
    year_from: Annotated[int | None, typer.Option("--year-from", help="Only titles released in or after this year.", show_default=False)] = None,
    year_to: Annotated[int | None, typer.Option("--year-to", help="Only titles released in or before this year.", show_default=False)] = None,
    lake: LakeOption = None,
    config: ConfigOption = None,
    date: DateOption = None,
    format: FormatOption = OutputFormat.text,
    quiet: QuietOption = False,
) -> None:
    """Build a self-contained HTML dashboard from the Refined zone (opens offline in any browser).

    Headline figures, titles and ratings per genre, titles per decade, rating distribution,
    budget vs revenue, popularity vs rating, cast gender share per genre, top titles by votes.

    Example: moviedl report --output report.html --genre Drama --year-from 1990
    """
    from moviedl.lake import open_lake
    from moviedl.report import ReportOptions, build_report

    with _errors():
        settings = _settings(lake, config, date)
        options = ReportOptions(output=output, genre=genre, year_from=year_from, year_to=year_to)
        summary = build_report(settings, open_lake(settings), options)
    _finish(summary, format, quiet)


def _finish(summary: Any, format: OutputFormat, quiet: bool) -> None:
    render(summary, format, quiet)
    if summary.exit_code != ExitCode.OK:
        raise typer.Exit(int(summary.exit_code))


@contextlib.contextmanager
def _byte_progress(files: list[Path], enabled: bool) -> Iterator[Any]:
    """A rich progress bar over the total bytes of ``files`` when stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    total = sum(p.stat().st_size for p in files if p.is_file())
    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), console=stderr_console(), transient=True,
    ) as progress:
        task = progress.add_task("checking and copying", total=total)
        yield lambda n: progress.advance(task, n)


def main() -> None:
    app()
