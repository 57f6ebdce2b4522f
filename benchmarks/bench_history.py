"""Benchmark refine as history grows, and refine when nothing changed.

    python benchmarks/bench_history.py [--days 10] [--movies 200000] [--series 50000]

Ingests one full daily snapshot per day (the same titles, other vote counts: what a daily
export looks like) into a fresh local lake and refines after each day, as a cron job would.
Prints, per day, the seconds of that day's ``refine`` (it reads the compacted current state plus
the new day); then, on the last day, a ``refine --force`` that reads every partition (what refine
cost before the compacted state), and a ``refine`` with no new input (change detection: every
table skipped). Each refine runs in its own process; peak RSS is that process's own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of ``moviedl args`` in a child process."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "moviedl", *args, "--quiet"],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"moviedl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    rss_kib = int(proc.stderr.strip().splitlines()[-1])
    return seconds, rss_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--movies", type=int, default=200_000)
    parser.add_argument("--series", type=int, default=50_000)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from generate import generate

    with tempfile.TemporaryDirectory(prefix="moviedl-history-") as tmp:
        root = Path(tmp)
        lake = root / "lake"
        first = dt.date(2024, 5, 1)
        print(f"{args.days} daily snapshots of {args.movies:,} movie + {args.series:,} series rows")
        print("day  refine s  peak MiB")
        for n in range(args.days):
            day = (first + dt.timedelta(days=n)).isoformat()
            generate(root / "movies.csv", "movies", args.movies, seed=n)
            generate(root / "series.csv", "series", args.series, seed=100 + n)
            timed(["ingest-csv", str(root / "movies.csv"), str(root / "series.csv"), "--lake", str(lake), "--date", day])
            seconds, rss = timed(["refine", "--lake", str(lake), "--date", day])
            print(f"{n + 1:>3}  {seconds:8.2f}  {rss:8.0f}")
        full, full_rss = timed(["refine", "--lake", str(lake), "--force"])
        print(f"last day, every partition read (refine --force): {full:.2f} s, {full_rss:.0f} MiB")
        same, same_rss = timed(["refine", "--lake", str(lake)])
        print(f"no new input (every table skipped):             {same:.2f} s, {same_rss:.0f} MiB")


if __name__ == "__main__":
    main()
