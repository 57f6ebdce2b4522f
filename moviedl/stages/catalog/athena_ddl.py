"""``athena-ddl``: make every Trusted and Refined table queryable from Athena, Glue and DuckDB.

The definitions come from the data: each table's published Parquet files are found and their
schemas read and checked against the contract (:mod:`moviedl.stages.catalog.ddl`). When every check holds the
command emits, in order, the database, the external tables (Trusted ones partitioned by ``dt``
with partition projection) and the analysis views (:mod:`moviedl.stages.catalog.views`), as Athena DDL or as
DuckDB views over the files. It can also run them through Athena or register the tables in Glue
(:mod:`moviedl.stages.catalog.register`), or print the IAM policies that let the pipeline and its readers do so
(:mod:`moviedl.stages.catalog.policy`). When a check fails nothing is emitted, run or registered (exit 1).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviedl.core.config import Settings
from moviedl.core.contract import REFINED_TABLES, TRUSTED_TABLES
from moviedl.core.errors import ConfigError, ExitCode, UsageError
from moviedl.core.summary import Check, Status, Summary
from moviedl.engines import duck
from moviedl.engines.base import ident
from moviedl.stages.catalog.ddl import (
    Dialect,
    FoundTable,
    Statement,
    TableDef,
    athena_database,
    athena_projection_update,
    athena_table,
    duckdb_table,
    inspect_tables,
    table_def,
)
from moviedl.stages.catalog.register import (
    Execution,
    Registration,
    execute_in_athena,
    register_in_glue,
)
from moviedl.stages.catalog.views import View, athena_view, bind, load_views, usable
from moviedl.storage.files import atomic_file
from moviedl.storage.lake import Lake

COLUMNS = ["object", "kind", "columns", "partitions", "location", "status"]
POLICY_COLUMNS = ["policy", "statements", "attach_to"]
_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$")


@dataclass(frozen=True)
class DdlOptions:
    dialect: str = Dialect.athena
    location: str | None = None  # where the lake is (or will be) on S3 / on disk; default: the lake
    output: Path | None = None  # also write the script here
    execute: bool = False  # run the statements through Athena
    glue: bool = False  # create/update the tables in the Glue Data Catalog
    policy: bool = False  # IAM policies instead of DDL


@dataclass
class DdlResult:
    summary: Summary
    script: str | None = None  # the DDL (or policy JSON) text; None when nothing may be emitted
    statements: list[Statement] = field(default_factory=list)


def athena_ddl(settings: Settings, lake: Lake, options: DdlOptions) -> DdlResult:
    """Check the lake's tables and emit (or run, or register) their definitions."""
    dialect, base = _target(settings, lake, options)
    database = settings.athena_database
    if options.policy:
        return _policies(settings, lake, base, database, options)

    summary = Summary("athena-ddl", lake.uri, None, list(COLUMNS))
    with tempfile.TemporaryDirectory(prefix="moviedl-ddl-") as tmp:
        con = duck.connect(settings, Path(tmp))
        try:
            found = inspect_tables(lake, (*TRUSTED_TABLES, *REFINED_TABLES), con)
            views_check = bind(con, load_views(), REFINED_TABLES)
        finally:
            con.close()

    for item in found:
        summary.checks.extend(item.checks)
    summary.checks.append(views_check)
    failing = [c for c in summary.checks if c.status is Status.FAIL]
    present = [f for f in found if f.present]
    ok = {f.table.name for f in found if f.ok}
    views, skipped = usable(load_views(), ok)
    summary.counts = {
        "tables": len(ok), "absent": len(found) - len(present),
        "partitions": sum(len(f.partitions) for f in found if f.ok),
        "files_checked": sum(len(f.files) for f in present),
    }
    if failing:
        for check in failing:
            summary.problems.append(f"{check.target}: {check.name}: {check.observed}")
        summary.notes.append("nothing was emitted: a table that does not match the contract would get "
                             "wrong DDL; fix the data (run moviedl refine again) and run this again")
        summary.rows = [_row(f) for f in found]
        summary.fail(ExitCode.CHECK_FAILED)
        return DdlResult(summary)

    tdefs = [table_def(f, database, base) for f in found if f.ok]
    statements = _statements(dialect, database, tdefs, views)
    if dialect is Dialect.duckdb and not base.startswith("s3://"):
        check = _runs_on_duckdb(settings, statements)
        summary.checks.append(check)
        if check.status is Status.FAIL:
            summary.problems.append(f"{check.target}: {check.observed}")
            summary.fail(ExitCode.CHECK_FAILED)
            return DdlResult(summary)
    script = render_script(dialect, database, base, statements)
    summary.rows = _rows(dialect, database, found, tdefs, views, statements)
    summary.counts.update({"views": len(views), "statements": len(statements)})
    for view, missing in skipped:
        needs = ", ".join(sorted(missing))
        summary.notes.append(f"view {view.name} skipped: needs {needs} (run moviedl refine)")
    if not present:
        summary.notes.append(f"no Trusted or Refined data in {lake.uri} yet: run moviedl refine")
    if dialect is Dialect.duckdb and base.startswith("s3://"):
        summary.notes.append("the views read s3:// paths: load DuckDB's httpfs extension before running them")

    if options.output:
        write_atomically(options.output, script)
        summary.notes.append(f"{dialect.value} DDL written to {options.output}")
    if options.glue:
        _record_glue(summary, register_in_glue(settings, database, tdefs))
        if views and not options.execute:
            summary.notes.append("Glue holds the tables; the views are Athena SQL: run them with --execute "
                                 "or in the Athena console")
    if options.execute and summary.exit_code == ExitCode.OK:
        _record_athena(summary, execute_in_athena(settings, database, statements), settings.athena_workgroup)
    return DdlResult(summary, script, statements)


# --- options ------------------------------------------------------------------------------------


def _target(settings: Settings, lake: Lake, options: DdlOptions) -> tuple[Dialect, str]:
    """The dialect and the base location the emitted definitions point at."""
    try:
        dialect = Dialect(options.dialect)
    except ValueError:
        raise UsageError(f"--dialect {options.dialect!r}: use athena or duckdb") from None
    if not _DATABASE.match(settings.athena_database):
        raise ConfigError(
            f"athena.database {settings.athena_database!r} is not a valid Athena database name: "
            "use lowercase letters, digits and '_' (--database or athena.database in the config file)"
        )
    if options.policy and (options.execute or options.glue):
        raise UsageError("--policy prints IAM policies only: run --execute / --glue separately")
    if dialect is Dialect.duckdb and (options.execute or options.glue or options.policy):
        raise UsageError("--execute, --glue and --policy are for AWS: use them with --dialect athena")
    if options.location:
        location = options.location.rstrip("/")
        if dialect is Dialect.athena and not re.match(r"^s3://[^/]+", location):
            raise UsageError(f"--location {options.location!r}: give the S3 location, s3://bucket/prefix")
        if not location.startswith("s3://"):
            location = str(Path(location).expanduser().absolute())
        return dialect, location
    if not lake.location.startswith("s3://"):  # a local folder
        if dialect is Dialect.athena:
            what = "IAM policies" if options.policy else "Athena and Glue"
            raise UsageError(
                f"the lake {lake.uri} is a local folder; {what} need its S3 location: add "
                "--location s3://bucket/prefix (where the lake is or will be uploaded), "
                "or use --dialect duckdb to query the local files"
            )
        return dialect, lake.location
    return dialect, lake.uri.rstrip("/")


# --- statements and script ----------------------------------------------------------------------


def _statements(dialect: Dialect, database: str, tdefs: list[TableDef], views: list[View]) -> list[Statement]:
    found: list[Statement] = []
    if dialect is Dialect.athena:
        found.append(Statement(database, "database", athena_database(database), f"database {database}"))
    for tdef in tdefs:
        table = next(t for t in (*TRUSTED_TABLES, *REFINED_TABLES) if t.name == tdef.name)
        doc = f"{tdef.name}: {table.grain}" if table.grain else tdef.name
        if dialect is Dialect.athena:
            found.append(Statement(tdef.qualified, "table", athena_table(tdef), doc))
            update = athena_projection_update(tdef)
            if update:
                found.append(Statement(tdef.qualified, "projection range", update,
                                       f"{tdef.name}: partitions from the first ingestion date to today"))
        else:
            found.append(Statement(tdef.name, "table", duckdb_table(tdef), doc))
    for view in views:
        if dialect is Dialect.athena:
            found.append(Statement(f"{database}.{view.name}", "view", athena_view(view, database),
                                   f"{view.name}: {view.doc}"))
        else:
            found.append(Statement(view.name, "view", view.sql, f"{view.name}: {view.doc}"))
    return found


def _runs_on_duckdb(settings: Settings, statements: list[Statement]) -> Check:
    """Run the DuckDB statements as emitted, on the lake's files, and bind every view."""

    expected = "every statement runs and every view binds"
    with tempfile.TemporaryDirectory(prefix="moviedl-ddl-") as tmp:
        con = duck.connect(settings, Path(tmp))
        try:
            for statement in statements:
                con.execute(statement.sql)
                con.execute(f"DESCRIBE SELECT * FROM {ident(statement.object)}").fetchall()
        except duck.Error as exc:
            return Check("runs on DuckDB", statement.object, str(exc).splitlines()[0], Status.FAIL, expected)
        finally:
            con.close()
    return Check("runs on DuckDB", "duckdb script", f"{len(statements)} statement(s) ran", Status.PASS,
                 expected)


def render_script(dialect: Dialect, database: str, base: str, statements: list[Statement]) -> str:
    """The statements as one reviewable script: a comment before each, ';' after each."""
    if dialect is Dialect.athena:
        head = [
            f"-- moviedl athena-ddl: Athena DDL for database {database}, lake at {base}",
            "-- Columns and types read from the Parquet files and checked against the moviedl contract.",
            "-- Needs Athena engine version 3. Trusted tables use partition projection on dt: no crawler,",
            "-- no MSCK REPAIR. Run the statements in order.",
        ]
    else:
        head = [
            f"-- moviedl athena-ddl --dialect duckdb: views over the Parquet files of the lake at {base}",
            "-- Run in DuckDB as they are (duckdb -c '.read FILE', or con.execute per statement).",
        ]
    parts = ["\n".join(head)]
    for statement in statements:
        comment = "\n".join(f"-- {line}" for line in _wrap(statement.doc))
        parts.append(f"{comment}\n{statement.sql};")
    return "\n\n".join(parts) + "\n"


def _wrap(text: str, width: int = 96) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


def write_atomically(path: Path, text: str) -> None:
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise UsageError(f"--output {path}: the folder {path.parent} does not exist")
    try:
        with atomic_file(path) as out:
            out.write(text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write it ({exc.strerror})") from None


# --- summary rows -------------------------------------------------------------------------------


def _row(found: FoundTable, tdef: TableDef | None = None, name: str = "",
         statements: list[Statement] | None = None) -> dict[str, Any]:
    if not found.present:
        status = "absent"
    elif not found.ok:
        status = "failed checks"
    else:
        status = "emitted" if tdef else "checked, not emitted"
    row: dict[str, Any] = {
        "object": name or found.table.name,
        "kind": "table",
        "columns": len(tdef.columns) if tdef else None,
        "partitions": len(found.partitions) if found.table.partitioned and found.present else None,
        "location": tdef.location if tdef else None,
        "status": status,
    }
    for statement in statements or ():
        row["statement" if statement.kind == "table" else "projection"] = statement.sql
    return row


def _rows(dialect: Dialect, database: str, found: list[FoundTable], tdefs: list[TableDef],
          views: list[View], statements: list[Statement]) -> list[dict[str, Any]]:
    by_object: dict[str, list[Statement]] = {}
    for statement in statements:
        by_object.setdefault(statement.object, []).append(statement)
    rows: list[dict[str, Any]] = []
    if dialect is Dialect.athena:
        rows.append({"object": database, "kind": "database", "columns": None, "partitions": None,
                     "location": None, "status": "emitted", "statement": by_object[database][0].sql})
    defs = {t.name: t for t in tdefs}
    for item in found:
        tdef = defs.get(item.table.name)
        if tdef is None:
            rows.append(_row(item))
            continue
        name = tdef.qualified if dialect is Dialect.athena else tdef.name
        rows.append(_row(item, tdef, name, by_object[name]))
    for view in views:
        name = f"{database}.{view.name}" if dialect is Dialect.athena else view.name
        rows.append({"object": name, "kind": "view", "columns": None, "partitions": None, "location": None,
                     "status": "emitted", "statement": by_object[name][0].sql})
    return rows


def _record_glue(summary: Summary, done: list[Registration]) -> None:
    summary.columns.append("glue")
    by_object = {r.object: r for r in done}
    for row in summary.rows:
        registration = by_object.get(row["object"])
        row["glue"] = registration.action if registration else ("-" if row["kind"] == "view" else None)
    summary.counts["glue_created"] = sum(r.action == "created" and r.kind == "table" for r in done)
    summary.counts["glue_updated"] = sum(r.action == "updated" for r in done)
    summary.counts["glue_unchanged"] = sum(r.action == "unchanged" and r.kind == "table" for r in done)
    for failed in (r for r in done if r.action == "failed"):
        summary.problems.append(f"Glue: {failed.object}: {failed.error}")
        summary.fail(ExitCode.SERVICE)
    if not any(r.action == "failed" for r in done):
        summary.checks.append(Check("glue registration", done[0].object if done else "",
                                    f"{len(done)} object(s) registered or up to date", Status.PASS,
                                    "database and every table in the Glue Data Catalog"))


def _record_athena(summary: Summary, runs: list[Execution], workgroup: str) -> None:
    summary.columns.append("athena")
    states: dict[str, list[str]] = {}
    for run in runs:
        states.setdefault(run.statement.object, []).append(" → ".join(run.states) or run.state)
        if run.state == "ERROR":
            summary.problems.append(f"Athena: {run.reason}")
            summary.fail(ExitCode.SERVICE)
        elif run.state != "SUCCEEDED":
            reason = run.reason or "no reason given"
            summary.problems.append(
                f"Athena: the {run.statement.kind} statement for {run.statement.object} ended "
                f"{run.state} (query {run.query_id}): {reason}"
            )
            summary.fail(ExitCode.SERVICE)
    for row in summary.rows:
        ran = "; ".join(states.get(row["object"], []))
        row["athena"] = ran or ("not run" if row.get("statement") else None)
        ids = [r.query_id for r in runs if r.statement.object == row["object"]]
        if ids:
            row["query_ids"] = ids
    summary.counts["executed"] = sum(r.state == "SUCCEEDED" for r in runs)
    if summary.exit_code == ExitCode.OK:
        summary.checks.append(Check("athena execution", f"workgroup {workgroup}",
                                    f"{len(runs)} statement(s) SUCCEEDED", Status.PASS,
                                    "every statement succeeds"))


# --- policies -----------------------------------------------------------------------------------


def _policies(settings: Settings, lake: Lake, base: str, database: str, options: DdlOptions) -> DdlResult:
    from moviedl.stages.catalog.policy import policies, scope_for

    documents = policies(scope_for(settings, base, database))
    summary = Summary("athena-ddl", lake.uri, None, list(POLICY_COLUMNS))
    attach = {
        "moviedl-pipeline": "the role or user that runs moviedl (cron, CI, ECS task)",
        "moviedl-analyst": "analysts' role, and the QuickSight service role (see docs/aws.md)",
        "moviedl-glue-job": "the IAM role the Glue job runs as: glue.role_arn (see docs/scale.md)",
        "moviedl-quicksight": "who runs moviedl quicksight deploy (see docs/quicksight.md)",
    }
    for name, document in documents.items():
        summary.rows.append({"policy": name, "statements": len(document["Statement"]),
                             "attach_to": attach[name], "document": document})
    summary.counts = {"policies": len(documents)}
    if not settings.athena_output_location:
        summary.notes.append("athena.output_location is not set: add the workgroup's query result "
                             "location to both policies (s3:GetObject, s3:PutObject, s3:ListBucket)")
    if not settings.glue_role_arn:
        summary.notes.append("glue.role_arn is not set: the pipeline may pass the role "
                             "arn:aws:iam::*:role/moviedl-glue-job to Glue; set glue.role_arn to name yours")
    if not settings.aws_region:
        summary.notes.append("no AWS region configured: the Athena, Glue and KMS ARNs use '*' for the region")
    script = json.dumps(documents, indent=2) + "\n"
    if options.output:
        write_atomically(options.output, script)
        summary.notes.append(f"policies written to {options.output}")
    return DdlResult(summary, script)
