"""Benchmark ``refine`` on DuckDB against ``refine --engine spark`` (pyspark, local) on one machine.

    python benchmarks/bench_engines.py [--movies 1000000] [--series 250000] [--repeat 1]

Generates the input (benchmarks/generate.py), ingests it once into a local lake, then for each
engine refines a fresh copy of that lake in its own process (``moviedl refine --engine E``),
so wall time includes start-up. Also times Spark's start-up alone (a local session that runs
``SELECT 1``). Peak RSS is sampled from /proc (VmHWM) for every process of the run: the largest
one (for Spark, the JVM) and the sum over all (moviedl's Python plus the JVM). A failed refine is
reported with its exit code and timed, and the benchmark goes on.

Needs ``pip install 'moviedl[spark]'`` and Java 17.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(command: list[str], *, fail: bool = True) -> tuple[float, float, float]:
    """Wall seconds of ``command``, and the peak RSS (MiB) of its largest process and the sum
    of the peaks of all its processes (moviedl's Python and, for Spark, the JVM it starts),
    sampled from /proc (``/usr/bin/time`` misses the JVM: pyspark never waits for it). A
    failure stops the benchmark, or with ``fail=False`` is reported (its exit code and last
    error line) and timed all the same."""
    peaks: dict[int, int] = {}
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in _descendants(proc.pid):
                peaks[pid] = max(peaks.get(pid, 0), _peak_kib(pid))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        if fail:
            sys.exit(f"{' '.join(command)} failed ({proc.returncode}):\n{err[-3000:]}")
        lines = [line for line in err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error")] or lines[-1:]
        print(f"  {command[-2]} FAILED (exit {proc.returncode}) after {seconds:.1f} s: {errors[-1] if errors else ''}")
    return seconds, max(peaks.values(), default=0) / 1024, sum(peaks.values()) / 1024


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
        print("engine   seconds (median)  largest process peak RSS MiB  all processes MiB")
        results = {}
        for _ in range(args.repeat):
            for engine in ("duckdb", "spark"):
                lake = root / f"lake-{engine}"
                shutil.rmtree(lake, ignore_errors=True)
                shutil.copytree(raw, lake)
                results.setdefault(engine, []).append(
                    timed([*moviedl, "refine", "--lake", str(lake), "--engine", engine, "--quiet"],
                          fail=False))
        for engine, runs in results.items():
            print(f"{engine:<8} {statistics.median(s for s, _, _ in runs):16.1f}  "
                  f"{max(r for _, r, _ in runs):29.0f}  {max(t for _, _, t in runs):17.0f}")
        duck, spark = (statistics.median(s for s, _, _ in results[e]) for e in ("duckdb", "spark"))
        print(f"spark / duckdb: {spark / duck:.1f}x ({spark - start_up:.1f} s without Spark's start-up)")


if __name__ == "__main__":
    main()
