"""Benchmark ``ingest-csv`` against a plain copy of the same file.

    python benchmarks/generate.py benchmarks/data --movies 1000000 --series 0
    python benchmarks/bench_ingest_csv.py benchmarks/data/movies.csv

Prints the median of --repeat runs for: a plain file copy (``cp``, and a Python
read/write copy with the same 8 MiB chunks), ``moviedl ingest-csv`` as a user runs it (a
new process, start-up included), and the library call alone; then the ratios and the
peak RSS of the ``moviedl`` process. Targets (issue 2): ratio <= 1.5, peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 8 << 20


def timed_process(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stderr of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed with {os.waitstatus_to_exitcode(status)}: {stderr}")
    return elapsed, usage.ru_maxrss * 1024, stderr


def python_copy(src: Path, dst: Path) -> None:
    """The honest baseline: chunked copy, flushed to disk (ingest-csv fsyncs what it writes)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(CHUNK):
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())


# The library call alone, timed inside its own process so that imports are left out.
LIBRARY_CALL = """
import sys, time
from moviedl.core.config import load_settings
from moviedl.stages.ingest_csv import ingest_csv
from moviedl.storage import open_lake
import pyarrow
settings = load_settings({"lake": sys.argv[2], "date": "2024-05-01"})
start = time.perf_counter()
summary = ingest_csv(settings, open_lake(settings), [sys.argv[1]])
assert summary.exit_code == 0, summary.problems
print(time.perf_counter() - start, file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    src = args.csv.resolve()
    size = src.stat().st_size
    work = Path(tempfile.mkdtemp(prefix="moviedl-bench-"))
    # Warm the page cache so every contender reads from memory. Read in chunks: a child's peak
    # RSS as the kernel reports it starts from this process's own high-water mark.
    with open(src, "rb") as warm:
        while warm.read(CHUNK):
            pass

    cp, pycopy, cli, lib, rss = [], [], [], [], []
    for i in range(args.repeat):
        # Start each contender with no dirty pages queued, so none pays for another's writeback.
        os.sync()
        t = time.perf_counter()
        subprocess.run(["cp", str(src), str(work / f"cp-{i}.csv")], check=True)
        cp.append(time.perf_counter() - t)
        os.sync()
        t = time.perf_counter()
        python_copy(src, work / f"py-{i}.csv")
        pycopy.append(time.perf_counter() - t)

        os.sync()
        seconds, peak, _ = timed_process(
            [sys.executable, "-m", "moviedl", "ingest-csv", str(src), "--lake", str(work / f"lake-cli-{i}"),
             "--date", "2024-05-01", "--quiet"]
        )
        cli.append(seconds)
        rss.append(peak)

        os.sync()
        _, _, inner = timed_process([sys.executable, "-c", LIBRARY_CALL, str(src), str(work / f"lake-lib-{i}")])
        lib.append(float(inner.strip().splitlines()[-1]))
        for leftover in work.iterdir():
            if leftover.is_file():
                leftover.unlink()
            else:
                shutil.rmtree(leftover)

    med = statistics.median
    print(f"file: {src.name}, {size / 1e6:.1f} MB, median of {args.repeat} runs")
    print(f"  cp                          {med(cp):6.3f} s")
    print(f"  python copy + fsync        {med(pycopy):6.3f} s")
    print(f"  moviedl ingest-csv (CLI)    {med(cli):6.3f} s   ({size / 1e6 / med(cli):.0f} MB/s)")
    print(f"  ingest_csv() library call   {med(lib):6.3f} s")
    print(f"  ratio CLI / cp              {med(cli) / med(cp):6.2f}")
    print(f"  ratio CLI / copy+fsync      {med(cli) / med(pycopy):6.2f}")
    print(f"  ratio library / copy+fsync  {med(lib) / med(pycopy):6.2f}")
    print(f"  peak RSS moviedl process    {max(rss) / 1e6:6.1f} MB")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
