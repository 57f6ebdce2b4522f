"""Benchmark ``moviedl ingest-tmdb`` against a fake TMDB that is as slow and as strict as the real one.

The fake answers after ``--latency`` seconds and allows ``--server-limit`` requests per second
(a token bucket; beyond it: 429 with Retry-After: 1), and answers ``--error-rate`` of the requests
(default 3%) with a 503. ``moviedl ingest-tmdb`` runs as a user runs it (a subprocess, default
settings: 40 req/s, 8 workers) over a Raw movies.csv of ``--ids`` titles, three times:

1. the large fetch: the achieved request rate against the limit, the 429s, retries and give-ups;
2. again, same date, nothing changed on TMDB: only the two change lists are read;
3. the next day, ``--changed`` of the titles (default 5%) in TMDB's change lists: the sync's
   requests and seconds (the change-list pages, then one request per changed title).

    python benchmarks/bench_ingest_tmdb.py                # 2,000 ids, 50 ms, 40 req/s, 3% 503s
    python benchmarks/bench_ingest_tmdb.py --ids 500      # quicker

Targets (issues 3 and 27): ≥ 95% of the limit with no give-ups under the 503s; 2 requests on the
second run; on the third, one request per changed title plus the change-list pages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_tmdb import API_KEY, FakeTmdb  # noqa: E402

from moviedl.core.sources import MOVIES  # noqa: E402

DATE, NEXT_DATE = "2024-05-01", "2024-05-02"


def write_movies_csv(path: Path, titles: int) -> list[str]:
    """A movies.csv with ``titles`` distinct ids, three cast rows each (like the samples)."""
    ids = [f"tt{30_000_000 + n:08d}" for n in range(titles)]
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(MOVIES.header + "\n")
        for n, imdb_id in enumerate(ids):
            for cast in range(3):
                out.write(f"{imdb_id}|Título {n}|Title {n}|{1950 + n % 70}|{80 + n % 60}|Drama,Comedy|"
                          f"{5 + n % 5}.{n % 10}|{1000 + n}|M|Role {cast}|Artist {n}-{cast}|1960|\\N|"
                          f"actor|{imdb_id}\n")
    return ids


def moviedl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviedl", *args], env=env, capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=int, default=2000, help="titles in the Raw CSV (default 2000)")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency in seconds (default 0.05)")
    parser.add_argument("--server-limit", type=float, default=40.0, help="server requests/second (default 40)")
    parser.add_argument("--error-rate", type=float, default=0.03, help="share of requests answered 503 (default 0.03)")
    parser.add_argument("--changed", type=float, default=0.05, help="share of titles TMDB changed for run 3 (default 0.05)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-tmdb-") as tmp, \
            FakeTmdb(latency=args.latency, rate_limit=args.server_limit) as fake:
        work = Path(tmp)
        ids = write_movies_csv(work / "movies.csv", args.ids)
        fake.tv_ids.update(ids[::10])  # 10% series (routed to /tv)
        fake.missing_ids.update(ids[5::20])  # 5% unknown to TMDB
        if args.error_rate > 0:  # one request in n answered 503, whatever the path
            fake.fail("*", 503, times=10**9, every=max(1, round(1 / args.error_rate)))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MOVIEDL_", "TMDB_"))}
        env.update({"MOVIEDL_LAKE": str(work / "lake"), "MOVIEDL_DATE": DATE,
                    "MOVIEDL_TMDB_BASE_URL": fake.url, "TMDB_API_KEY": API_KEY})
        ingest = moviedl("ingest-csv", str(work / "movies.csv"), "-q", env=env)
        if ingest.returncode != 0:
            print(ingest.stderr, file=sys.stderr)
            return 1

        started = time.perf_counter()
        first = moviedl("ingest-tmdb", "--format", "json", env=env)
        wall = time.perf_counter() - started
        if first.returncode not in (0, 3):
            print(first.stderr, file=sys.stderr)
            return 1
        counts = json.loads(first.stdout)["counts"]
        served = list(fake.requests)
        span = served[-1].at - served[0].at if len(served) > 1 else 0.0
        server_rate = len(served) / span if span else 0.0
        limited = sum(1 for r in served if r.status == 429)
        errors = sum(1 for r in served if r.status == 503)

        fake.clear()  # faults too: the next runs measure requests, not retries
        second = moviedl("ingest-tmdb", "--format", "json", env=env)
        second_counts = json.loads(second.stdout)["counts"]
        second_requests = len(fake.requests)

        found = sorted(set(ids) - fake.missing_ids)
        changed = found[:: max(1, round(1 / args.changed))] if args.changed > 0 else []
        fake.change("movie", [i for i in changed if i not in fake.tv_ids])
        fake.change("tv", [i for i in changed if i in fake.tv_ids])
        fake.change("movie", list(range(90_000_000, 90_000_000 + 3 * len(changed))))  # not in the lake
        if moviedl("ingest-csv", str(work / "movies.csv"), "-q", env={**env, "MOVIEDL_DATE": NEXT_DATE}).returncode:
            return 1
        fake.clear()
        third = moviedl("ingest-tmdb", "--format", "json", env={**env, "MOVIEDL_DATE": NEXT_DATE})
        sync = json.loads(third.stdout)["counts"]
        third_requests = len(fake.requests)

    share = counts["requests_per_second"] / args.server_limit
    print(f"ingest-tmdb benchmark: {args.ids:,} ids, server latency {args.latency * 1000:.0f} ms, "
          f"server limit {args.server_limit:g} req/s, client defaults (40 req/s, 8 workers)")
    print(f"  first run   : {wall:6.1f} s wall, {counts['requests']:,} requests, "
          f"{counts['requests_per_second']:.1f} req/s achieved ({share:.0%} of the limit; "
          f"server saw {server_rate:.1f} req/s)")
    print(f"                fetched {counts['fetched']:,}, not found {counts['not_found']:,}, "
          f"failed (give-ups) {counts['failed']:,}, retries {counts['retries']:,}, 503s {errors:,} "
          f"({errors / max(len(served), 1):.1%}), 429s {counts['http_429']:,} (server sent {limited:,}), "
          f"files {counts['files_written']:,}")
    print(f"  second run  : {second_requests:,} requests to the server "
          f"(summary: requests {second_counts['requests']:,}, change lists {second_counts['changes_requests']:,}, "
          f"already present {second_counts['already_present']:,})")
    print(f"  third run   : {len(changed):,} titles changed on TMDB; the feed listed {sync['changes_listed']:,}, "
          f"{sync['changes_in_lake']:,} in the lake, fetched {sync['changes_fetched']:,}, failed "
          f"{sync['changes_failed']:,}; {sync['changes_requests']:,} requests ({third_requests:,} seen by the "
          f"server) in {sync['changes_seconds']:.1f} s")
    met = (share >= 0.95 and counts["failed"] == 0 and second_requests == 2
           and sync["changes_fetched"] == len(changed) and sync["changes_failed"] == 0)
    print(f"  targets (≥ 95% of the limit, no give-ups, 2 requests on the second run, every changed title "
          f"fetched again): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
