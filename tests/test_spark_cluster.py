"""refine on a real Spark cluster: a standalone master and one worker on 127.0.0.1, started with
the ``spark-class`` launcher PySpark ships, and ``moviedl refine`` run as a separate driver
process with ``spark.master = spark://127.0.0.1:PORT`` — executors in the worker's JVM, Python
workers it starts, nothing shared with the driver but the lake's folder.

Proven here: the cluster publishes the lake DuckDB publishes (the samples; dirty data over three
dates with a Raw TMDB file of awkward records), the executors read the inputs and write the
outputs (the driver reads no input file), and the driver's peak memory does not grow with the
input (ten times the rows). Skipped without PySpark or Java, like the other Spark tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from moviedl.engines.spark.session import java_problem
from moviedl.engines.spark.standalone import peak_rss_kib
from tests.conftest import SAMPLE_DATE, SAMPLES
from tests.dirty_data import write_file
from tests.test_spark_engine import (
    DIRTY_DAYS,
    assert_same_lake,
    assert_same_summary,
    awkward_tmdb_records,
    cli,
    dirty_day,
    dirty_twins,
    twin,
)

pytestmark = pytest.mark.spark

@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:PORT``: a standalone master and one worker (2 cores, 2 GiB) for the
    module (:func:`moviedl.engines.spark.standalone.standalone_cluster`); both stopped at its end."""
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'moviedl[spark]')")
    if java_problem():
        pytest.skip(f"Spark cannot start: {java_problem()}")
    from moviedl.engines.spark.standalone import standalone_cluster

    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started.url


@dataclass
class Driver:
    """A ``moviedl`` command run as its own driver process, and its peak memory."""

    summary: dict[str, Any]
    python_peak_mib: float  # the driver's Python process
    jvm_peak_mib: float  # the JVM it started (the Spark driver)
    seconds: float


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def on_cluster(
    master: str, lake: Path, *args: str, config: str | None = None, env: dict[str, str] | None = None
) -> Driver:
    """Run ``moviedl ARGS --lake LAKE --format json`` as a process of its own on ``master``,
    sampling the peak memory (VmHWM) of its Python process and of its JVM while it runs."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MOVIEDL_", "TMDB_", "AWS_"))},
           "MOVIEDL_SPARK_MASTER": master, "MOVIEDL_SPARK_DRIVER_MEMORY": "1g", **(env or {})}
    if config:
        env["MOVIEDL_CONFIG"] = config
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "moviedl", *args, "--lake", str(lake), "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    python_peak = jvm_peak = 0
    jvms: set[int] = set()
    while process.poll() is None:
        python_peak = max(python_peak, peak_rss_kib(process.pid))
        jvms.update(_children(process.pid))
        for pid in jvms:
            jvm_peak = max(jvm_peak, peak_rss_kib(pid))
        time.sleep(0.1)
    out, err = process.communicate()
    summary = json.loads(out)
    assert process.returncode == summary["exit_code"], err.decode()[-2000:]
    assert summary["exit_code"] == 0, (summary["problems"], err.decode()[-2000:])
    return Driver(summary, python_peak / 1024, jvm_peak / 1024, time.monotonic() - start)


def test_the_samples_refine_on_a_cluster_to_the_lake_duckdb_publishes(cluster: str, tmp_path: Path) -> None:
    duck = tmp_path / "duck"
    cli(duck, "ingest-csv", str(SAMPLES / "movies.csv"), str(SAMPLES / "series.csv"), "--date", SAMPLE_DATE)
    spark = twin(duck, tmp_path / "spark")
    by_duck = cli(duck, "refine", "--engine", "duckdb", "--date", SAMPLE_DATE)
    by_spark = on_cluster(cluster, spark, "refine", "--engine", "spark", "--date", SAMPLE_DATE).summary
    assert_same_summary(by_duck, by_spark)
    assert len(assert_same_lake(duck, spark)) >= 7
    assert not list(spark.rglob("_parts-*")), "the executors' part files are left behind"


def test_dirty_data_over_three_dates_refines_on_a_cluster_to_the_same_lake(
    cluster: str, tmp_path: Path
) -> None:
    """Raw CSVs with dirty rows over three dates, refined in two runs (catch-up, then the new
    date), and a Raw TMDB file of awkward records on the last: the executors read the CSVs in
    splits (line numbers counted across them) and the JSON files whole. (The awkward records
    are mostly quarantined, on purpose: the share may reach 90% here.)"""
    config = tmp_path / "moviedl.toml"
    config.write_text("[checks]\nquarantine_fail_share = 0.9\n", "utf-8")
    duck, spark, data = dirty_twins(tmp_path, seed=30)
    days = DIRTY_DAYS

    def refine_both() -> dict[str, Any]:
        """refine each lake, with DuckDB here and on the cluster; the same summary. DuckDB's."""
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MOVIEDL_CONFIG", str(config))
            by_duck = cli(duck, "refine", "--engine", "duckdb")
        assert by_duck["exit_code"] == 0, by_duck["problems"]
        by_spark = on_cluster(cluster, spark, "refine", "--engine", "spark", config=str(config)).summary
        assert_same_summary(by_duck, by_spark)
        return by_duck

    first = refine_both()
    assert first["counts"]["quarantined"] > 0 and first["counts"]["duplicates"] > 0
    assert_same_lake(duck, spark)

    movies, series = dirty_day(data, 2, seed=32)
    movie_id = movies.read_text("utf-8").splitlines()[1].split("|", 1)[0]
    series_id = series.read_text("utf-8").splitlines()[1].split("|", 1)[0]
    for lake in (duck, spark):
        cli(lake, "ingest-csv", str(movies), str(series), "--date", days[2])
        for kind, records in awkward_tmdb_records(movie_id, series_id).items():
            path = lake / f"Raw/TMDB/JSON/{kind}/{days[2].replace('-', '/')}/zz-awkward-99999.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    refine_both()
    files = assert_same_lake(duck, spark)
    assert any(f.startswith("Trusted/TMDB/") for f in files)
    assert any("quarantine" in f for f in files)


def test_the_drivers_memory_does_not_grow_with_the_input(cluster: str, tmp_path: Path) -> None:
    """The same refine on N and 10×N titles: the executors read the inputs and write the
    outputs, and the driver merges each output's part files a batch at a time (4,096 rows here,
    so both sizes take many batches), so its Python process and its JVM stay within a fixed
    margin while the rows grow tenfold."""
    config = tmp_path / "moviedl.toml"
    config.write_text("[checks]\nquarantine_fail_share = 0.3\n", "utf-8")
    drivers = {}
    for titles in (3_000, 30_000):
        lake, data = tmp_path / f"lake-{titles}", tmp_path / f"data-{titles}"
        data.mkdir()
        movies = write_file(data / "movies.csv", False, seed=7, titles=titles, dirty=0.0)
        series = write_file(data / "series.csv", True, seed=8, titles=titles // 4, dirty=0.0)
        cli(lake, "ingest-csv", str(movies), str(series), "--date", SAMPLE_DATE)
        drivers[titles] = on_cluster(cluster, lake, "refine", "--engine", "spark", config=str(config),
                                     env={"MOVIEDL_SPARK_MERGE_BATCH_ROWS": "4096"})
        shutil.rmtree(data)
    small, large = drivers[3_000], drivers[30_000]
    rows = {t: d.summary["counts"]["rows_out"] for t, d in drivers.items()}
    assert rows[30_000] > 9 * rows[3_000] > 9 * 20_000
    figures = {t: (round(d.python_peak_mib), round(d.jvm_peak_mib), round(d.seconds)) for t, d in drivers.items()}
    print(f"driver peak MiB (python, jvm) and seconds by titles: {figures}; rows out: {rows}")
    assert small.python_peak_mib > 50 and small.jvm_peak_mib > 100  # both were really sampled
    assert large.python_peak_mib < small.python_peak_mib + 40, figures
    assert large.jvm_peak_mib < small.jvm_peak_mib * 1.25 + 64, figures
