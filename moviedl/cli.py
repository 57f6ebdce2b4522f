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
    typer.Option("--lake", help="Lake: a local folder or s3://bucket/prefix [env MOVIEDL_LAKE; default ./lake]",
                 show_default=False),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Config file [env MOVIEDL_CONFIG; default ./moviedl.toml]",
                 show_default=False),
]
DateOption = Annotated[
    str | None,
    typer.Option("--date", help="Ingestion date YYYY-MM-DD [env MOVIEDL_DATE; default today, UTC]",
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


# --- ingest-tmdb (issue 3) ---

# --- refine (issue 4) ---

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
