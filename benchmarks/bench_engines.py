"""Benchmark ``refine`` on DuckDB against ``refine --engine spark`` (pyspark, local) on one machine.

    python benchmarks/bench_engines.py [--movies 1000000] [--series 250000] [--repeat 1]

Generates the input (benchmarks/generate.py), ingests it once into a local lake, then for each
engine refines a fresh copy of that lake in its own process (``moviedl refine --engine E``),
so wall time includes start-up. Also times Spark's start-up alone (a local session that runs
``SELECT 1``). Peak RSS is that of the largest process of the run (for Spark, the JVM), as
``/usr/bin/time`` reports it, not the sum of the driver and the JVM.

Needs ``pip install 'moviedl[spark]'`` and Java 17.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAY = "2024-05-01"
SPARK_START = """
import time
start = time.perf_counter()
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sql("SELECT 1").collect()
print(time.perf_counter() - start)
spark.stop()
"""


def timed(command: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movies", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from generate import generate

    moviedl = [sys.executable, "-m", "moviedl"]
    with tempfile.TemporaryDirectory(prefix="moviedl-engines-") as tmp:
        root = Path(tmp)
        generate(root / "movies.csv", "movies", args.movies)
        generate(root / "series.csv", "series", args.series)
        raw = root / "raw-lake"
        timed([*moviedl, "ingest-csv", str(root / "movies.csv"), str(root / "series.csv"),
               "--lake", str(raw), "--date", DAY, "--quiet"])
        start_up = float(subprocess.run([sys.executable, "-c", SPARK_START], capture_output=True,
                                        text=True, check=True).stdout.strip().splitlines()[-1])
        print(f"{args.movies:,} movie + {args.series:,} series rows; Spark local[2] start-up alone: {start_up:.1f} s")
        print("engine   seconds (median)  peak RSS MiB")
        results = {}
        for _ in range(args.repeat):
            for engine in ("duckdb", "spark"):
                lake = root / f"lake-{engine}"
                shutil.rmtree(lake, ignore_errors=True)
                shutil.copytree(raw, lake)
                results.setdefault(engine, []).append(
                    timed([*moviedl, "refine", "--lake", str(lake), "--engine", engine, "--quiet"]))
        for engine, runs in results.items():
            print(f"{engine:<8} {statistics.median(s for s, _ in runs):16.1f}  {max(r for _, r in runs):12.0f}")
        duck, spark = (statistics.median(s for s, _ in results[e]) for e in ("duckdb", "spark"))
        print(f"spark / duckdb: {spark / duck:.1f}x ({spark - start_up:.1f} s without Spark's start-up)")


if __name__ == "__main__":
    main()
