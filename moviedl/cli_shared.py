"""What every command of the command line shares, declared once: the options (``--lake``,
``--config``, ``--date``, ``--format``, ``--quiet``, ``-v``, ``--log-format``, ``--log-file``), the
settings they resolve to, the one boundary where failures become a message and an exit code, and
the end of a command (its summary rendered, its exit code). :func:`command` adds them all to a
command function, which receives them as one :class:`Shared`. Help of options that set a setting
comes from the setting's declaration (:mod:`moviedl.core.config`), default and variable included.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

try:  # recent typer vendors click (and no longer installs it); older typer raises click's own
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover - older typer
    import click.exceptions as _click_exceptions  # type: ignore[no-redef]
from rich.markup import escape

from moviedl import terminal
from moviedl.core import interrupt
from moviedl.core.config import (
    CONFIG_ENV,
    DEFAULT_CONFIG_FILE,
    OPTIONS_BY_KEY,
    Settings,
    load_settings,
)
from moviedl.core.errors import ExitCode, MoviedlError
from moviedl.core.summary import Summary
from moviedl.output import Display, OutputFormat, display, render, say, use_json_logs


class LogFormat(StrEnum):
    text = "text"
    json = "json"


LAKE_PANEL = "Lake and configuration"
OUTPUT_PANEL = "Output and logs"


def setting_help(key: str, text: str = "") -> str:
    """Help for an option that sets the setting ``key``: ``text`` (default: the setting's own
    help), then where else it can be set and its default, from the setting's declaration."""
    option = OPTIONS_BY_KEY[key]
    where = [f"env {option.env[0]}"] if option.env else []
    where.append(f"config {key}")
    default = option.default
    if default is not None and not callable(default):
        where.append(f"default {default}")
    described = text or option.help[:1].upper() + option.help[1:]
    return f"{described} ({'; '.join(where)})."


def setting_option(flag: str, key: str, text: str = "", **kwargs: Any) -> Any:
    """A ``typer.Option`` for the setting ``key`` (help from :func:`setting_help`)."""
    return typer.Option(flag, help=setting_help(key, text), show_default=False, **kwargs)


LakeOption = Annotated[
    str | None,
    typer.Option("--lake", metavar="FOLDER|S3-URI", rich_help_panel=LAKE_PANEL, show_default=False,
                 help=setting_help("lake", "Lake: a local folder or s3://bucket/prefix")),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", metavar="FILE", rich_help_panel=LAKE_PANEL, show_default=False,
                 help=f"Config file (env {CONFIG_ENV}; default the nearest {DEFAULT_CONFIG_FILE} here or in a parent folder)"),
]


def _date_help(text: str) -> Any:
    return typer.Option("--date", metavar="YYYY-MM-DD", rich_help_panel=LAKE_PANEL, show_default=False,
                        help=f"{text} (env {OPTIONS_BY_KEY['date'].env[0]})")


# --date means something different per command; each says what.
IngestDateOption = Annotated[str | None, _date_help("Date the files are stored under; default today, UTC")]
TmdbDateOption = Annotated[str | None, _date_help("Date whose Raw CSV titles are looked up; default the latest date ingested")]
RefineDateOption = Annotated[str | None, _date_help("Raw date to refine; default the latest Raw date, plus any date not refined yet")]
ValidateDateOption = Annotated[str | None, _date_help("Date whose Raw and Trusted partitions are checked; default the latest")]
UnusedDateOption = Annotated[str | None, typer.Option("--date", hidden=True)]  # accepted, not used
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", rich_help_panel=OUTPUT_PANEL,
                               help="Summary as a table (text) or one JSON object (json).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", rich_help_panel=OUTPUT_PANEL, help="Print only errors.")]
# The global logging options are also accepted after the command: ``moviedl refine -v``.
VerboseOption = Annotated[int, typer.Option("--verbose", "-v", count=True, metavar="", show_default=False, rich_help_panel=OUTPUT_PANEL,
                                            help="More detail: every check, info logs (-v); debug logs (-vv).")]
LogFormatOption = Annotated[
    LogFormat | None, typer.Option("--log-format", rich_help_panel=OUTPUT_PANEL, show_default=False,
                                     help="Logs on stderr as human text or one JSON object per line.")
]
LogFileOption = Annotated[Path | None, typer.Option("--log-file", metavar="FILE", rich_help_panel=OUTPUT_PANEL,
                                                    show_default=False, help="Also append logs to this file.")]

# Logging options apply to the whole invocation, so they sit before the command:
# ``moviedl --log-format json --log-file run.log run``. Kept here until a command loads settings.
LOGGING: dict[str, Any] = {}

INTERRUPTED = f"[bold red]Interrupted:[/] {interrupt.MESSAGE}."
REPORTED: list[str] = []  # commands whose interrupt _errors reported (main() reports any other)


@contextlib.contextmanager
def errors(command: str, format: OutputFormat = OutputFormat.text) -> Iterator[None]:
    """The one place where failures become a message and an exit code.

    * a library error (:class:`MoviedlError`): ``Error: <message>``, its exit code (1, 2, 3);
    * an interrupt (SIGINT/SIGTERM, or DuckDB's "Query interrupted"), whatever the work turned
      it into (a failed check, a :class:`DataCheckError`): ``Interrupted: ...``, exit 130;
    * anything else is a bug: ``Internal error, please report: <Type>: <message>``, exit 4
      (never 1, which cron reads as bad data).

    ``MOVIEDL_DEBUG=1`` adds the traceback of an error or bug on stderr, and changes nothing
    else: same message, same exit code, same JSON summary. With ``--format json`` a failed
    command still prints its summary on stdout (``ok: false``, the exit code and the problem), so
    a script reading stdout always gets one JSON object.
    """
    debug = bool(os.environ.get("MOVIEDL_DEBUG"))
    try:
        yield
        interrupt.check()  # the work may have swallowed the interrupt: its outcome does not stand
    except (typer.Exit, typer.Abort, _click_exceptions.ClickException):  # typer's ways out: code, usage
        raise
    except BaseException as exc:
        if interrupt.is_interrupt(exc):
            REPORTED.append(command)
            fail(command, format, ExitCode.INTERRUPTED, f"interrupted: {interrupt.MESSAGE}", INTERRUPTED)
        if not isinstance(exc, Exception):
            raise
        if debug:  # the traceback, and then the same message and exit code as without it
            if display() is Display.JSON:
                say("", "traceback", level=logging.DEBUG, traceback="".join(traceback.format_exception(exc)))
            else:
                traceback.print_exception(exc, file=sys.stderr)
        if isinstance(exc, MoviedlError):
            logging.getLogger("moviedl").debug("command failed", extra={"fields": {"error": exc.message}})
            fail(command, format, exc.exit_code, str(exc), f"[bold red]Error:[/] {escape(str(exc))}")
        logging.getLogger("moviedl").debug("internal error", exc_info=True)
        what = f"internal error, please report: {interrupt.one_line(exc)}"
        fail(command, format, ExitCode.INTERNAL, what,
              f"[bold red]Internal error[/], please report (MOVIEDL_DEBUG=1 shows the traceback): "
              f"{escape(interrupt.one_line(exc))}")


def fail(command: str, format: OutputFormat, code: int, problem: str, line: str) -> NoReturn:
    """Print a failure (the JSON summary with ``--format json``, else one line on stderr) and exit."""
    if format is OutputFormat.json:
        failed = Summary(command, "", problems=[problem])
        failed.fail(code)  # type: ignore[arg-type]
        render(failed, format)
    else:
        say(line, "command failed", level=logging.ERROR, command=command, error=problem, exit_code=int(code))
    raise typer.Exit(int(code)) from None


@dataclass
class Shared:
    """The options every command takes, and what a command does with them."""

    command: str
    lake: str | None = None
    config: Path | None = None
    date: str | None = None
    format: OutputFormat = OutputFormat.text
    quiet: bool = False
    verbose: int = 0
    log_format: LogFormat | None = None
    log_file: Path | None = None
    #: the summary goes to stderr (a command whose stdout is its product: :meth:`print_product`)
    summary_on_stderr: bool = False

    @property
    def shows_progress(self) -> bool:
        return self.format is OutputFormat.text and not self.quiet

    def settings(self, **flags: Any) -> Settings:
        """The command's settings (flags by config key, ``None`` meaning not given). The logging
        options given after the command name add to (verbosity) or replace (format, file) those
        given before it."""
        LOGGING["verbosity"] = LOGGING.get("verbosity", 0) + self.verbose
        if self.log_format is not None:
            LOGGING["fmt"] = self.log_format.value
            use_json_logs(self.log_format is LogFormat.json)
        if self.log_file is not None:
            LOGGING["file"] = self.log_file
        settings = load_settings(
            {"lake": self.lake, "date": self.date, **flags}, config_path=str(self.config) if self.config else None
        )
        from moviedl.core.logs import setup_logging

        setup_logging(
            fmt=LOGGING.get("fmt", "text"), file=LOGGING.get("file"),
            verbosity=LOGGING.get("verbosity", 0), secrets=settings.secrets(),
        )
        return settings

    def live(self, *, spinner: bool = True) -> contextlib.AbstractContextManager[None]:
        return terminal.live(self.command, self.quiet, spinner=spinner)

    def print_product(self, summary: Summary) -> None:
        """A command whose product is text (athena-ddl's DDL, a dry run's requests): with
        ``--format text`` it goes to stdout alone and the summary to stderr; with ``--format
        json`` it is in the summary."""
        if self.format is not OutputFormat.text:
            return
        if summary.output:
            sys.stdout.write(summary.output)
            sys.stdout.flush()
        self.summary_on_stderr = True

    def finish(self, summary: Summary) -> None:
        """Render the summary and exit with its code (0 returns)."""
        to_stderr = self.summary_on_stderr and self.format is OutputFormat.text
        if to_stderr and display() is Display.JSON:  # stderr holds JSON lines only: the summary as one
            say("", "summary", **summary.to_dict())
        else:
            self._render(summary, to_stderr)
        if summary.exit_code != ExitCode.OK:
            raise typer.Exit(int(summary.exit_code))

    def _render(self, summary: Summary, to_stderr: bool) -> None:
        with contextlib.redirect_stdout(sys.stderr) if to_stderr else contextlib.nullcontext():
            render(summary, self.format, self.quiet, verbose=LOGGING.get("verbosity", 0))  # -v: every check


#: the shared options as typer declares them (``date``: each command's own); defaults are Shared's
_OPTIONS: dict[str, Any] = {
    "lake": LakeOption, "config": ConfigOption, "date": None, "format": FormatOption,
    "quiet": QuietOption, "verbose": VerboseOption, "log_format": LogFormatOption,
    "log_file": LogFileOption,
}


def _shared_parameters(date: Any) -> list[inspect.Parameter]:
    defaults = {f.name: f.default for f in fields(Shared)}
    return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation or date,
                              default=defaults[name]) for name, annotation in _OPTIONS.items()]


def reflow(doc: str) -> str:
    """A docstring as help: each paragraph one line, for the terminal to wrap at its width (typer
    keeps the source's line breaks, which wrap raggedly at 80 columns); an ``Example:`` paragraph
    keeps its lines, commands written to fit 80 columns."""
    paragraphs = doc.split("\n\n")
    return "\n\n".join(p if p.startswith("Example") else " ".join(p.split()) for p in paragraphs)


def command(
    group: typer.Typer, name: str, *, date: Any = UnusedDateOption, label: str = ""
) -> Callable[[Callable[..., Summary]], Callable[..., Summary]]:
    """Register a command on ``group`` with the shared options (``date``: which ``--date`` it
    takes; ``label``: its name in messages, default ``name``). The function takes its own options
    plus ``shared: Shared`` and returns its summary; it runs inside the error boundary, and its
    summary is rendered and decides the exit code."""

    def decorate(work: Callable[..., Summary]) -> Callable[..., Summary]:
        signature = inspect.signature(work, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "shared"]
        parameters = own + _shared_parameters(date)

        @functools.wraps(work)
        def run(**kwargs: Any) -> None:
            shared = Shared(label or name, **{key: kwargs.pop(key) for key in _OPTIONS})
            with errors(shared.command, shared.format):
                summary = work(shared=shared, **kwargs)
            shared.finish(summary)

        del run.__wrapped__  # typer reads the signature below, not the work's
        run.__doc__ = reflow(inspect.getdoc(work) or "")
        run.__signature__ = signature.replace(parameters=parameters, return_annotation=None)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        group.command(name)(run)
        return work

    return decorate
