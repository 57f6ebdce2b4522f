"""Benchmark ``moviedl validate`` on the 1M-row benchmark lake.

    python benchmarks/bench_validate.py [DATA] [--repeat 3] [--memory-limit 2GB]

DATA holds ``movies.csv`` and ``series.csv`` (default ``benchmarks/data``; generated with
``benchmarks/generate.py --movies 1000000 --series 250000`` when missing). The script ingests and
refines them into a temporary local lake once (not timed), then runs ``moviedl validate`` (every
zone) ``--repeat`` times, each in its own process, and prints the median wall time, the time of
each zone alone and the peak RSS. Target: a few seconds (DuckDB aggregates, one pass per dataset).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_refine import DAY, ensure_data, measure, rows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, nargs="?", default=HERE / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit", help="duckdb.memory_limit (default: its config default)")
    args = parser.parse_args()

    ensure_data(args.data)
    movies, series = args.data / "movies.csv", args.data / "series.csv"
    print(f"input: {rows(movies):,} movie rows, {rows(series):,} series rows "
          f"({(movies.stat().st_size + series.stat().st_size) / 1e6:.1f} MB)")
    tool = [sys.executable, "-m", "moviedl"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIEDL_")}
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        work = Path(tmp)
        config = []
        if args.memory_limit:
            (work / "moviedl.toml").write_text(f'[duckdb]\nmemory_limit = "{args.memory_limit}"\n')
            config = ["--config", str(work / "moviedl.toml")]
        lake = str(work / "lake")
        seconds, _peak, steps = measure([
            [*tool, "ingest-csv", str(movies), str(series), "--lake", lake, "--date", DAY, "--quiet", *config],
            [*tool, "refine", "--lake", lake, "--quiet", *config],
        ], env)
        print(f"lake built in {seconds:.1f} s (ingest-csv {steps[0]:.1f} s, refine {steps[1]:.1f} s)")
        results: dict[str, list[tuple[float, int]]] = {}
        for _ in range(args.repeat):
            for zone in ("all", "raw", "trusted", "refined"):
                # validate exits 1 only when a check fails; the sample dates make freshness warn (0)
                took, peak, _ = measure([[*tool, "validate", "--lake", lake, "--zone", zone, "--quiet", *config]], env)
                results.setdefault(zone, []).append((took, peak))
    print(f"\nmoviedl validate, median of {args.repeat} run(s); peak RSS = the largest")
    print(f"{'zone':<10} {'seconds':>8} {'peak RSS':>10}")
    for zone, runs in results.items():
        median = statistics.median(s for s, _ in runs)
        peak = max(p for _, p in runs)
        print(f"{zone:<10} {median:>8.2f} {peak / 2**20:>7.0f} MiB")
    total = statistics.median(s for s, _ in results["all"])
    print(f"\nvalidate (all zones): {total:.2f} s (target: a few seconds, ≤ 5 s: "
          f"{'met' if total <= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
