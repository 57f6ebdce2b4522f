"""A Spark standalone cluster on this machine: a master and one worker on 127.0.0.1, started with
the ``spark-class`` launcher PySpark ships (``<pyspark>/bin/spark-class``), for running
``moviedl refine --engine spark`` on a real cluster without one
(``MOVIEDL_SPARK_MASTER=<cluster.url>``): the driver is the refine process, the executors run in
the worker's JVMs, their Python workers in moviedl's Python. tests/test_spark_cluster.py and
benchmarks/bench_engines.py start theirs here; docs/scale.md shows the same by hand.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from moviedl.core.errors import ConfigError
from moviedl.engines.spark.session import java_problem, load_pyspark

#: how long the master and the worker each get to say they are ready
STARTUP_SECONDS = 90


@dataclass
class Cluster:
    """A running standalone master and worker: the master's URL, both processes (``spark-class``
    execs the JVM: each pid is the daemon's) and the seconds both took to start."""

    url: str
    master: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    seconds: float
    folder: Path  # their logs (master.log, worker.log) and the worker's work folder


@contextmanager
def standalone_cluster(folder: Path, *, cores: int = 2, memory: str = "2g") -> Iterator[Cluster]:
    """A master and one worker (``cores``, ``memory`` for its executors) on 127.0.0.1 on free
    ports, logs and work files in ``folder``; both stopped at the end (the worker kills its
    executors as it stops). :class:`ConfigError` when PySpark or Java is missing or a daemon
    does not start (the end of its log in the message)."""
    pyspark = load_pyspark()
    problem = java_problem()
    if problem:
        raise ConfigError(f"cannot start a Spark cluster: {problem}")
    home = Path(pyspark.__file__).parent
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(folder),
           "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
           "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=false"}
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    launcher = str(home / "bin" / "spark-class")
    started: list[subprocess.Popen[bytes]] = []
    start = time.perf_counter()
    try:
        for name, args, ready in (
            ("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                        "--port", str(port), "--webui-port", str(free_port())],
             "I have been elected leader"),
            ("worker", ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                        "--cores", str(cores), "--memory", memory,
                        "--webui-port", str(free_port()), "--work-dir", str(folder / "work")],
             "Successfully registered with master"),
        ):
            log = folder / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen([launcher, *args], stdout=out, stderr=subprocess.STDOUT,
                                           env=env, start_new_session=True)
            started.append(process)
            _wait_for(log, ready, process)
        yield Cluster(url, started[0], started[1], time.perf_counter() - start, folder)
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def peak_rss_kib(pid: int) -> int:
    """The peak resident memory (VmHWM, KiB) of a live process on this machine; 0 once it has
    exited (sample it while it runs): how the tests and the benchmark measure a cluster's
    driver and executors."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text("utf-8", "replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.3)
    tail = "\n".join(log.read_text("utf-8", "replace").splitlines()[-20:]) if log.exists() else ""
    raise ConfigError(f"the local Spark cluster did not start ({log} never said {text!r}):\n{tail}")
