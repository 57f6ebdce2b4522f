"""The Spark session refine runs on: the one already running (``SparkSession.getActiveSession()``;
in AWS Glue, Glue's), which the engine never stops; else a new session on ``spark.master``
(default ``local[2]``) with ``spark.driver_memory`` (default 2g) — UTC, ANSI SQL, small
shuffles, no UI, quiet logs, scratch files in refine's workspace — that the engine stops when it
closes. PySpark older than 3.5 is refused (:func:`check_version`).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviedl.core.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

from moviedl.engines.spark.errors import _first_line

INSTALL_HINT = "pip install 'moviedl[spark]'"


DEFAULT_MASTER = "local[2]"


DEFAULT_DRIVER_MEMORY = "2g"


#: The oldest Spark the engine runs on (AWS Glue 5.0 runs 3.5.4).
MIN_SPARK = (3, 5)


#: Settings of a session this engine starts (a running session keeps its own, but for
#: :data:`SQL_CONF`), besides ``spark.master`` and ``spark.driver.memory`` (moviedl's
#: ``spark.master`` and ``spark.driver_memory``). ANSI: a failed CAST raises, as in DuckDB;
#: TRY_CAST returns NULL.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


#: Settings the SQL depends on, set on whichever session the engine runs in (Glue's too).
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    # part files of outputs: timestamps as Parquet's INT64 micros, as DuckDB writes them
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


_LOG4J = """\
rootLogger.level = off
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %m%n
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = off
logger.python.name = org.apache.spark.api.python.PythonGatewayServer
logger.python.level = off
"""


def load_pyspark() -> Any:
    """The ``pyspark`` module, or a :class:`ConfigError` saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError(
            "refine.engine = spark needs PySpark, which is not installed",
            hint=f"Install the Spark extra: {INSTALL_HINT} (and Java 17 or 21), or use --engine duckdb.",
        ) from None
    return pyspark


def java_problem() -> str | None:
    """Why Spark cannot start a JVM here (None when ``java`` is found)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return None
    if shutil.which("java"):
        return None
    return "no Java runtime found (java is not on PATH and JAVA_HOME is not set)"


_lock = threading.Lock()


def session(
    scratch: Path | None = None,
    *,
    master: str = DEFAULT_MASTER,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
) -> tuple[SparkSession, bool]:
    """The running Spark session, or a new one on ``master`` with ``driver_memory`` (a running
    session keeps its own); and whether this call created it."""
    pyspark = load_pyspark()
    check_version(pyspark.__version__)
    from pyspark.sql import SparkSession

    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active, False
        problem = java_problem()
        if problem:
            raise ConfigError(
                f"refine.engine = spark cannot start Spark: {problem}",
                hint="Install Java 17 or 21 (e.g. apt-get install openjdk-17-jre-headless) or set "
                "JAVA_HOME; or use --engine duckdb.",
            )
        builder = SparkSession.builder.master(master)
        builder = builder.appName("moviedl")
        for key, value in {**SESSION_CONF, "spark.driver.memory": driver_memory}.items():
            builder = builder.config(key, value)
        quiet = None
        if scratch is not None:
            scratch.mkdir(parents=True, exist_ok=True)
            quiet = scratch / "log4j2.properties"
            quiet.write_text(_LOG4J, "utf-8")
            builder = builder.config("spark.local.dir", str(scratch))
            builder = builder.config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        try:
            with _environment(LOG4J_CONFIGURATION_FILE=str(quiet) if quiet else None,
                              PYSPARK_PYTHON=sys.executable):
                spark = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start (a Java too old or too new, no memory)
            raise ConfigError(
                f"refine.engine = spark could not start Spark (spark.master = {master}, "
                f"spark.driver_memory = {driver_memory}): {_first_line(exc)}",
                hint="Spark needs Java 17 or 21 (JAVA_HOME) and the memory spark.driver_memory "
                "asks for; or use --engine duckdb.",
            ) from None
        spark.sparkContext.setLogLevel("OFF")
        return spark, True


def check_version(version: str) -> None:
    """Refuse (:class:`ConfigError`) a PySpark older than :data:`MIN_SPARK`."""
    found = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if found < MIN_SPARK:
        raise ConfigError(
            f"refine.engine = spark needs Spark {'.'.join(map(str, MIN_SPARK))} or later; "
            f"PySpark {version} is installed",
            hint=f"Upgrade: {INSTALL_HINT} (or run on AWS Glue 5.0 or later); or use --engine duckdb.",
        )


@contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    """Environment variables for the JVM Spark starts (the log4j configuration: Spark's
    ``extraJavaOptions`` come too late for a driver started from Python) and for the
    SparkContext, each unless already set, then as before. ``PYSPARK_PYTHON``: the Python the
    executors' Python workers run, which must import moviedl (its functions run there); PySpark
    reads it when the context starts (``spark.pyspark.python`` applies only through
    spark-submit), and without it a worker runs the ``python3`` on PATH — on Spark 3.5 refine
    then fails for want of the ``moviedl`` module. On a cluster of several machines this path
    must hold the same Python and moviedl on each."""
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)


def spark_major(version: str) -> int:
    """The major version of a Spark version string ('3.5.4', '3.5.4-amzn-0', '4.1.0')."""
    found = re.match(r"\s*(\d+)", version)
    return int(found.group(1)) if found else 0


def glue_session() -> Any:
    """The SparkSession Glue runs the job in (created from Glue's configuration on first use:
    no master or memory of moviedl's), so that the Spark engine finds it running."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()
