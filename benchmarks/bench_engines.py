"""Benchmark ``refine`` on DuckDB against ``refine --engine spark`` (pyspark) on one machine:
Spark in local mode and/or on a local standalone Spark cluster.

    python benchmarks/bench_engines.py [--movies 1000000] [--series 250000] [--repeat 1]
        [--engines duckdb,spark-local,spark-cluster] [--executor-memory 2g]

Engines (``--engines``, default ``duckdb,spark-local``, today's pair):

* ``duckdb``: ``moviedl refine --engine duckdb``;
* ``spark-local`` (alias ``spark``): ``moviedl refine --engine spark`` on ``local[2]`` (the
  default ``spark.master``, set explicitly with ``MOVIEDL_SPARK_MASTER``): one driver JVM that
  also runs the tasks, and the Python workers it starts;
* ``spark-cluster``: the same command with ``MOVIEDL_SPARK_MASTER=spark://127.0.0.1:PORT`` on a
  standalone master and one worker (2 cores, ``--memory`` = ``--executor-memory``) that this
  script starts on 127.0.0.1 with PySpark's ``bin/spark-class`` before the runs and stops after
  them (also on Ctrl-C, SIGTERM or an error). The executor's heap is ``--executor-memory`` too
  (``SPARK_EXECUTOR_MEMORY`` in the driver's environment, which SparkContext reads); the
  driver's is moviedl's ``spark.driver_memory`` (default 2g), as for ``spark-local``. The
  cluster's start-up is printed, not counted in the refine's wall time.

Generates the input (benchmarks/generate.py), ingests it once into a local lake, then for each
engine refines a fresh copy of that lake in its own process (``moviedl refine --engine E``),
so wall time (``time.perf_counter`` around the process, median of ``--repeat``) includes
start-up: Python, the driver JVM and, on the cluster, the executor the worker launches for the
run. Also times Spark's start-up alone (a local session that runs ``SELECT 1``) when
``spark-local`` runs.

Peak RSS is each process's own high-water mark (``VmHWM`` in /proc/PID/status), sampled every
0.5 s while the refine runs (``/usr/bin/time`` misses the JVM: pyspark never waits for it) from
every descendant of the refine process and, for ``spark-cluster``, every descendant of the
standalone Worker (the executor JVM ``CoarseGrainedExecutorBackend`` and its Python workers are
the Worker's children, not the refine's; the script waits for the Worker to have none before a
run, so all it sees there belong to that run). A process that lives less than 0.5 s may be
missed, and one is read for the last time at its last sample before it exits. A process with its
parent's command line is a fork about to run another program (the JVM spawns ``chmod`` and
``rm`` that way, Python its subprocesses), sharing or copying its parent's memory: it is left
out (it would count its parent twice), unless its parent is pyspark's daemon (whose forks are
the Python workers). Each process has a role, and the table prints, in MiB (the largest over
``--repeat`` runs):

* ``drv py``: the refine's own process (moviedl's Python, the Spark driver's Python side);
* ``drv JVM``: the Spark driver JVM (``java ... org.apache.spark.deploy.SparkSubmit``, which
  pyspark starts). On ``spark-local`` it also runs the tasks (local mode has no executor JVM);
* ``exec sum``: the sum of the peaks of the executor side: on ``spark-cluster`` the executor
  JVM(s) and the Python workers below them (pyspark's daemon and the workers it forks); on
  ``spark-local`` only the Python workers (the driver JVM's Python children). Spark 4 with ICU
  runs refine without Python UDFs, so there may be no Python worker at all;
* ``exec max``: the largest single process of the executor side (the executor JVM, usually);
* ``largest``: the largest single process of the run (any role);
* ``all``: the sum of the peaks of every process of the run: the roles above and the short-lived
  rest (spark-submit's shell wrappers, the launcher JVM that builds its command, the commands
  the JVMs run). For the default engines these last two are the figures this benchmark printed
  before, but for the forks now left out (before, one caught by a sample counted its parent's
  peak once more).

A sum of peaks is an upper bound of what the processes held together: the peaks need not
coincide, and memory shared between processes (a forked Python worker's pages, shared
libraries) counts once per process. The standalone master and Worker daemons are not in the
table; their peaks are printed below it. A failed refine is reported with its exit code and
timed, marked ``*`` in the table, and the benchmark goes on.

Needs ``pip install 'moviedl[spark]'`` and Java 17.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from moviedl.engines.spark.standalone import Cluster, peak_rss_kib, standalone_cluster

HERE = Path(__file__).resolve().parent
DAY = "2024-05-01"
ENGINES = ("duckdb", "spark-local", "spark-cluster")
LOCAL_MASTER = "local[2]"
WORKER_CORES = 2
SAMPLE_SECONDS = 0.5
SPARK_START = f"""
import time
start = time.perf_counter()
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("{LOCAL_MASTER}").config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sql("SELECT 1").collect()
print(time.perf_counter() - start)
spark.stop()
"""

# the roles of a run's processes
PYTHON, JVM, EXECUTOR, OTHER = "driver python", "driver JVM", "executor", "other"


def _children() -> dict[int, list[int]]:
    """Every process's children (from /proc)."""
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
    return children


def _command(pid: int) -> list[str]:
    """``pid``'s command line ([] once it exits)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")[:-1]
    except OSError:
        return []


def _is_python(command: list[str]) -> bool:
    return bool(command) and Path(command[0]).name.startswith("python")


def _refine_roles(children: dict[int, list[int]], root: int) -> Iterator[tuple[int, str | None]]:
    """``root`` (the driver's Python) and every process below it, with its role: the driver JVM
    (``java ... org.apache.spark.deploy.SparkSubmit``), the Python processes below it (local
    mode's Python workers: executor side), and the rest (spark-submit's shell wrappers, the
    launcher JVM that builds its command, commands the JVM runs)."""
    return _roles(children, [(root, PYTHON, [])], _refine_role)


def _refine_role(command: list[str], parent: str) -> str:
    if (Path(command[0]).name == "java" and "org.apache.spark.deploy.SparkSubmit" in command
            and "org.apache.spark.launcher.Main" not in command):  # which has it as an argument
        return JVM
    if parent in (JVM, EXECUTOR) and _is_python(command):
        return EXECUTOR
    return OTHER


def _worker_roles(children: dict[int, list[int]], worker: int) -> Iterator[tuple[int, str | None]]:
    """Every process below the standalone Worker (not the Worker itself), with its role: the
    executor JVMs (``CoarseGrainedExecutorBackend``) and the Python workers below them are the
    executor side, the rest (commands they run, such as ``rm -rf`` of their scratch) other."""
    return _roles(children, [(pid, OTHER, _command(worker)) for pid in children.get(worker, [])],
                  _worker_role)


def _worker_role(command: list[str], parent: str) -> str:
    if "org.apache.spark.executor.CoarseGrainedExecutorBackend" in command:
        return EXECUTOR
    if parent == EXECUTOR and _is_python(command):
        return EXECUTOR
    return OTHER


def _roles(children: dict[int, list[int]], todo: list[tuple[int, str, list[str]]],
           role_of: Callable[[list[str], str], str]) -> Iterator[tuple[int, str | None]]:
    """The processes from ``todo`` (pid, the parent's role, the parent's command line) down,
    each with its role (``role_of`` its command line and its parent's role; the first one's
    given as the parent's). A process whose command line is gone (it is exiting) gets None: it
    keeps the role it had. One with its parent's command line is a fork about to run another
    program (the JVM's ``posix_spawn``, Python's ``subprocess``), sharing or copying its parent's
    memory, and is left out (it would count the parent twice), unless its parent is an executor
    Python process (pyspark's daemon forks its Python workers)."""
    first = {pid for pid, _, _ in todo}
    while todo:
        pid, parent, parent_command = todo.pop()
        command = _command(pid)
        role: str | None
        if pid in first and not parent_command:
            role = parent  # the root: its role is given
        elif not command:
            role = None
        elif command == parent_command and parent != EXECUTOR:
            continue
        else:
            role = role_of(command, parent)
        yield pid, role
        todo.extend((child, role or OTHER, command) for child in children.get(pid, []))


@dataclass
class Run:
    """One timed process: its wall seconds, and the peak RSS (KiB) and role of every process
    sampled while it ran."""

    seconds: float
    ok: bool
    peaks: dict[int, int]
    roles: dict[int, str]

    def _mib(self, role: str | None) -> list[float]:
        return [kib / 1024 for pid, kib in self.peaks.items() if role is None or self.roles[pid] == role]

    def largest(self, role: str | None = None) -> float | None:
        """The largest peak (MiB) of the processes of ``role`` (None: of all); None if none ran."""
        return max(self._mib(role), default=None)

    def total(self, role: str | None = None) -> float | None:
        """The sum of the peaks (MiB) of the processes of ``role`` (None: of all)."""
        found = self._mib(role)
        return sum(found) if found else None


def timed(command: list[str], *, fail: bool = True, env: dict[str, str] | None = None,
          worker: int | None = None, label: str = "") -> Run:
    """Run ``command``: its wall seconds, and the peak RSS (VmHWM, sampled from /proc every
    0.5 s) and role of each of its processes (moviedl's Python and, for Spark, the JVM it
    starts), and, with ``worker`` (a standalone Worker's pid), of every process below that
    Worker while it runs (the executors). A failure stops the benchmark, or with ``fail=False``
    is reported (its exit code and last error line) and timed all the same."""
    peaks: dict[int, int] = {}
    roles: dict[int, str] = {}
    lock = threading.Lock()

    def sample(pids: Iterable[tuple[int, str | None]]) -> None:
        with lock:
            for pid, role in pids:
                peaks[pid] = max(peaks.get(pid, 0), peak_rss_kib(pid))
                if role is not None:  # the latest: spark-submit's shell execs the JVM
                    roles[pid] = role
                roles.setdefault(pid, OTHER)

    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    done = threading.Event()

    def sampler() -> None:
        while not done.is_set():
            children = _children()
            sample(_refine_roles(children, proc.pid))
            if worker is not None:
                sample(_worker_roles(children, worker))
            done.wait(SAMPLE_SECONDS)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        _out, err = proc.communicate()
    except BaseException:  # Ctrl-C: its JVM ends with it (pyspark's gateway watches its stdin)
        proc.kill()
        proc.wait()
        raise
    finally:
        seconds = time.perf_counter() - start
        done.set()
        thread.join()
    if worker is not None:  # the executors outlive the driver a moment: a last look
        sample(_worker_roles(_children(), worker))
    if proc.returncode != 0:
        if fail:
            sys.exit(f"{' '.join(command)} failed ({proc.returncode}):\n{err[-3000:]}")
        lines = [line for line in err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error")] or lines[-1:]
        print(f"  {label} FAILED (exit {proc.returncode}) after {seconds:.1f} s: {errors[-1] if errors else ''}")
    return Run(seconds, proc.returncode == 0, peaks, roles)


def _mib(value: float | None, width: int) -> str:
    return f"{value:{width}.0f}" if value is not None else f"{'-':>{width}}"


def _engines(text: str) -> list[str]:
    engines = []
    for name in (n.strip() for n in text.split(",")):
        name = "spark-local" if name == "spark" else name
        if name not in ENGINES:
            raise argparse.ArgumentTypeError(f"unknown engine {name!r}: choose from {', '.join(ENGINES)}")
        if name not in engines:
            engines.append(name)
    return engines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movies", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--engines", type=_engines, default=["duckdb", "spark-local"],
                        help=f"comma-separated, from {', '.join(ENGINES)} (default: duckdb,spark-local)")
    parser.add_argument("--executor-memory", default="2g",
                        help="spark-cluster: the worker's --memory and the executor's heap (default 2g)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cluster on kill too
    sys.path.insert(0, str(HERE))
    from generate import generate

    moviedl = [sys.executable, "-m", "moviedl"]
    engines: list[str] = args.engines
    with tempfile.TemporaryDirectory(prefix="moviedl-engines-") as tmp:
        root = Path(tmp)
        generate(root / "movies.csv", "movies", args.movies)
        generate(root / "series.csv", "series", args.series)
        raw = root / "raw-lake"
        timed([*moviedl, "ingest-csv", str(root / "movies.csv"), str(root / "series.csv"),
               "--lake", str(raw), "--date", DAY, "--quiet"])
        heading = f"{args.movies:,} movie + {args.series:,} series rows"
        start_up = None
        if "spark-local" in engines:
            start_up = float(subprocess.run([sys.executable, "-c", SPARK_START], capture_output=True,
                                            text=True, check=True).stdout.strip().splitlines()[-1])
            heading += f"; Spark {LOCAL_MASTER} start-up alone: {start_up:.1f} s"
        print(heading, flush=True)
        with _maybe_cluster("spark-cluster" in engines, root / "cluster", args.executor_memory) as cluster:
            if cluster is not None:
                print(f"standalone cluster {cluster.url} (1 worker, {WORKER_CORES} cores, "
                      f"{args.executor_memory}) started in {cluster.seconds:.1f} s", flush=True)
            commands: dict[str, Callable[[Path], Run]] = {}
            for engine in engines:
                commands[engine] = _runner(moviedl, engine, cluster, args.executor_memory)
            results: dict[str, list[Run]] = {}
            for _ in range(args.repeat):
                for engine in engines:
                    lake = root / f"lake-{engine}"
                    shutil.rmtree(lake, ignore_errors=True)
                    shutil.copytree(raw, lake)
                    results.setdefault(engine, []).append(commands[engine](lake))
            daemons = ((peak_rss_kib(cluster.master.pid) / 1024, peak_rss_kib(cluster.worker.pid) / 1024)
                       if cluster is not None else None)
        _report(results, daemons, start_up)


@contextmanager
def _maybe_cluster(wanted: bool, folder: Path, memory: str) -> Iterator[Cluster | None]:
    if not wanted:
        yield None
        return
    with standalone_cluster(folder, cores=WORKER_CORES, memory=memory) as cluster:
        yield cluster


def _wait_idle(cluster: Cluster, timeout: float = 60) -> None:
    """Wait until the Worker runs no executor (the last run's are gone)."""
    deadline = time.monotonic() + timeout
    while _children().get(cluster.worker.pid) and time.monotonic() < deadline:
        time.sleep(0.3)


def _runner(moviedl: list[str], engine: str, cluster: Cluster | None, memory: str) -> Callable[[Path], Run]:
    """How ``engine`` refines a lake: ``moviedl refine --lake LAKE --engine E --quiet`` in the
    environment (Spark master, executor memory) and with the sampling the engine needs."""
    name = "duckdb" if engine == "duckdb" else "spark"
    env = dict(os.environ)
    if engine == "spark-local":
        env["MOVIEDL_SPARK_MASTER"] = LOCAL_MASTER
    if engine == "spark-cluster":
        assert cluster is not None
        env.update(MOVIEDL_SPARK_MASTER=cluster.url, SPARK_EXECUTOR_MEMORY=memory)

    def run(lake: Path) -> Run:
        command = [*moviedl, "refine", "--lake", str(lake), "--engine", name, "--quiet"]
        if cluster is None:
            return timed(command, fail=False, env=env, label=engine)
        _wait_idle(cluster)
        return timed(command, fail=False, env=env, worker=cluster.worker.pid, label=engine)

    return run


def _report(results: dict[str, list[Run]], daemons: tuple[float, float] | None, start_up: float | None) -> None:
    """The table: per engine the median wall seconds and, in MiB, the largest over the runs of
    each peak figure (see the module's docstring)."""
    print("peak RSS MiB by process role (VmHWM; sums are sums of per-process peaks):")
    print(f"{'engine':<14} {'seconds':>7}  {'drv py':>6} {'drv JVM':>7} {'exec sum':>8} {'exec max':>8}"
          f"  {'largest':>7} {'all':>6}")

    def worst(runs: list[Run], figure: Callable[[Run], float | None]) -> float | None:
        found = [value for value in map(figure, runs) if value is not None]
        return max(found, default=None)

    medians = {}
    for engine, runs in results.items():
        medians[engine] = statistics.median(run.seconds for run in runs)
        failed = "*" if not all(run.ok for run in runs) else " "
        print(f"{engine + failed:<14} {medians[engine]:7.1f}  "
              f"{_mib(worst(runs, lambda r: r.largest(PYTHON)), 6)} "
              f"{_mib(worst(runs, lambda r: r.largest(JVM)), 7)} "
              f"{_mib(worst(runs, lambda r: r.total(EXECUTOR)), 8)} "
              f"{_mib(worst(runs, lambda r: r.largest(EXECUTOR)), 8)}  "
              f"{_mib(worst(runs, lambda r: r.largest()), 7)} "
              f"{_mib(worst(runs, lambda r: r.total()), 6)}")
    if any(not run.ok for runs in results.values() for run in runs):
        print("* a run failed (see above): its figures are those of a failed run")
    if "spark-local" in results:
        print(f"spark-local: {LOCAL_MASTER}, the executor's tasks run in the driver JVM; "
              "exec = its Python workers only")
    if daemons is not None:
        print(f"spark-cluster: standalone daemons, not in the table: master {daemons[0]:.0f} MiB, "
              f"worker {daemons[1]:.0f} MiB")
    if "duckdb" in medians:
        duck = medians["duckdb"]
        if "spark-local" in medians:
            spark = medians["spark-local"]
            without = f" ({spark - start_up:.1f} s without Spark's start-up)" if start_up is not None else ""
            print(f"spark-local / duckdb: {spark / duck:.1f}x{without}")
        if "spark-cluster" in medians:
            print(f"spark-cluster / duckdb: {medians['spark-cluster'] / duck:.1f}x")


if __name__ == "__main__":
    main()
