"""Make the table definitions real: run them through Athena, or register them in Glue.

:func:`execute_in_athena` starts each statement in the configured workgroup (with the configured
result location), waits for it, and records every state it went through; the first statement
that fails stops the run with Athena's reason (exit 3). :func:`register_in_glue` creates or
updates the same tables directly in the Glue Data Catalog — columns, partition keys, partition
projection — for users who may edit the catalog but not run Athena queries.

Both use boto3 with the SDK's usual configuration (``AWS_PROFILE``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``...), and turn botocore errors into one :class:`ServiceError` (:func:`moviedl.storage.aws.aws_errors`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from moviedl.core.config import Settings
from moviedl.core.errors import ServiceError
from moviedl.stages.catalog.ddl import (
    PARQUET_INPUT_FORMAT,
    PARQUET_OUTPUT_FORMAT,
    PARQUET_SERDE,
    Statement,
    TableDef,
)
from moviedl.storage.aws import aws_client, aws_errors

FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


# --- Athena ---------------------------------------------------------------------------------------


@dataclass
class Execution:
    statement: Statement
    query_id: str = ""
    states: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def state(self) -> str:
        return self.states[-1] if self.states else "NOT STARTED"


def execute_in_athena(
    settings: Settings,
    database: str,
    statements: Sequence[Statement],
    *,
    athena: Any = None,
    poll_seconds: float = 0.25,
    timeout_seconds: float = 600.0,
    on_state: Callable[[Execution], None] | None = None,
) -> list[Execution]:
    """Run ``statements`` in order, each waited for; stop at the first that does not succeed.

    The result lists every statement started, with the states it went through (``QUEUED``,
    ``RUNNING``, ``SUCCEEDED``/``FAILED``/``CANCELLED``) and Athena's reason for a failure;
    ``ERROR`` when the request itself failed (refused, unreachable, timed out), with the reason.
    """
    athena = athena or aws_client(settings, "athena")
    done: list[Execution] = []
    for statement in statements:
        run = Execution(statement)
        done.append(run)
        request: dict[str, Any] = {"QueryString": statement.sql, "WorkGroup": settings.athena_workgroup}
        if statement.kind != "database":  # the database may not exist before its own statement
            request["QueryExecutionContext"] = {"Database": database}
        if settings.athena_output_location:
            request["ResultConfiguration"] = {"OutputLocation": settings.athena_output_location}
        try:
            with aws_errors("Athena", f"start the statement for {statement.object}"):
                run.query_id = athena.start_query_execution(**request)["QueryExecutionId"]
            _wait(athena, run, poll_seconds, timeout_seconds, on_state)
        except ServiceError as exc:  # refused, unreachable, or still running at the deadline
            run.states.append("ERROR")
            run.reason = str(exc)
        if run.state != "SUCCEEDED":
            break
    return done


def _wait(athena: Any, run: Execution, poll: float, timeout: float,
          on_state: Callable[[Execution], None] | None) -> None:
    deadline = time.monotonic() + timeout
    delay = poll
    while True:
        with aws_errors("Athena", f"follow the statement for {run.statement.object} ({run.query_id})"):
            answer = athena.get_query_execution(QueryExecutionId=run.query_id)["QueryExecution"]
        status = answer.get("Status", {})
        state = str(status.get("State", "UNKNOWN"))
        if not run.states or run.states[-1] != state:
            run.states.append(state)
            if on_state:
                on_state(run)
        if state in FINAL_STATES:
            error = status.get("AthenaError", {}).get("ErrorMessage")
            run.reason = str(status.get("StateChangeReason") or error or "")
            return
        if time.monotonic() > deadline:
            raise ServiceError(
                f"Athena statement for {run.statement.object} ({run.query_id}) still {state} after "
                f"{timeout:.0f} s; it may still finish: check the Athena console (workgroup "
                "in the config: athena.workgroup)"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


# --- Glue -----------------------------------------------------------------------------------------


def table_input(tdef: TableDef) -> dict[str, Any]:
    """The Glue ``TableInput`` of an external Parquet table, as Athena's DDL would create it."""

    def columns(defs: Sequence[Any]) -> list[dict[str, str]]:
        return [{"Name": c.name, "Type": c.type, **({"Comment": c.comment[:255]} if c.comment else {})}
                for c in defs]

    return {
        "Name": tdef.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", **tdef.parameters},
        "PartitionKeys": columns(tdef.partition_keys),
        "StorageDescriptor": {
            "Columns": columns(tdef.columns),
            "Location": tdef.location,
            "InputFormat": PARQUET_INPUT_FORMAT,
            "OutputFormat": PARQUET_OUTPUT_FORMAT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        },
    }


def _comparable(table: dict[str, Any], parameter_keys: set[str]) -> dict[str, Any]:
    sd = table.get("StorageDescriptor", {})
    params = table.get("Parameters", {})
    return {
        "type": table.get("TableType"),
        "columns": [(c["Name"], c["Type"], c.get("Comment", "")) for c in sd.get("Columns", [])],
        "partitions": [(c["Name"], c["Type"], c.get("Comment", "")) for c in table.get("PartitionKeys", [])],
        "location": sd.get("Location"),
        "formats": (sd.get("InputFormat"), sd.get("OutputFormat"),
                    sd.get("SerdeInfo", {}).get("SerializationLibrary")),
        "parameters": {k: v for k, v in params.items() if k in parameter_keys or _projection_key(k)},
    }


@dataclass
class Registration:
    object: str
    kind: str  # "database" | "table"
    action: str  # "created" | "updated" | "unchanged" | "failed"
    error: str = ""


def _projection_key(key: str) -> bool:
    return key.startswith("projection.") or key == "storage.location.template"


def register_in_glue(
    settings: Settings, database: str, tables: Sequence[TableDef], *, glue: Any = None
) -> list[Registration]:
    """Create or update ``database`` and ``tables`` in the Glue Data Catalog.

    An existing table is updated in place (its other parameters kept) when its columns, partition
    keys, location, formats or projection differ, and left alone when they do not.
    """
    glue = glue or aws_client(settings, "glue")
    done: list[Registration] = []
    try:
        done.append(_ensure_database(glue, database))
    except ServiceError as exc:
        return [Registration(database, "database", "failed", str(exc))]
    for tdef in tables:
        try:
            done.append(_register_table(glue, database, tdef))
        except ServiceError as exc:
            done.append(Registration(tdef.qualified, "table", "failed", str(exc)))
            break
    return done


def _register_table(glue: Any, database: str, tdef: TableDef) -> Registration:
    wanted = table_input(tdef)
    existing = _get_table(glue, database, tdef.name)
    if existing is None:
        with aws_errors("Glue", f"create the table {tdef.qualified}"):
            glue.create_table(DatabaseName=database, TableInput=wanted)
        return Registration(tdef.qualified, "table", "created")
    keys = set(wanted["Parameters"])
    if _comparable(existing, keys) == _comparable(wanted, keys):
        return Registration(tdef.qualified, "table", "unchanged")
    kept = {k: v for k, v in existing.get("Parameters", {}).items() if not _projection_key(k)}
    update = {**wanted, "Parameters": {**kept, **wanted["Parameters"]}}
    with aws_errors("Glue", f"update the table {tdef.qualified}"):
        glue.update_table(DatabaseName=database, TableInput=update)
    return Registration(tdef.qualified, "table", "updated")


def _ensure_database(glue: Any, database: str) -> Registration:
    with aws_errors("Glue", f"look up the database {database}"):
        try:
            glue.get_database(Name=database)
            return Registration(database, "database", "unchanged")
        except glue.exceptions.EntityNotFoundException:
            pass
    with aws_errors("Glue", f"create the database {database}"):
        glue.create_database(DatabaseInput={
            "Name": database, "Description": "moviedl lake: Trusted and Refined tables (moviedl athena-ddl)",
        })
    return Registration(database, "database", "created")


def _get_table(glue: Any, database: str, name: str) -> dict[str, Any] | None:
    with aws_errors("Glue", f"look up the table {database}.{name}"):
        try:
            return glue.get_table(DatabaseName=database, Name=name)["Table"]
        except glue.exceptions.EntityNotFoundException:
            return None
