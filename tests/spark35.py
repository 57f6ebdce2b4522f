"""Run the Spark test files on Spark 3.5 (AWS Glue 5.0's Spark) as well as on the Spark of the
test environment (Spark 4): ``python3 tests/spark35.py`` (standard library only).

1. A venv with requirements/spark35.lock installed — the test lock with pyspark 3.5.4 — is made
   once and reused: ``$MOVIEDL_SPARK35_CACHE`` (default ``~/.cache/moviedl``)
   ``/spark35-<hash>/``, keyed by requirements/spark35.lock, pyproject.toml and the Python
   version. It is built in a temporary folder, checked, marked complete and only then renamed into
   place, so a killed build is never reused. moviedl itself is not installed there: the
   dependencies of the ``test`` extra are, with its ``pyspark>=4.0`` relaxed to the lock's pin.
2. The Spark test files of this checkout run in it with the checkout on ``PYTHONPATH``, so they
   test this checkout's code; the exit status is pytest's (5, no test ran, is a failure too).

tests/conftest.py starts this in the background when tests/test_spark35.py is selected, so it
runs while the rest of the suite does (at ``nice`` 10: ``$MOVIEDL_SPARK35_NICE``); that test
waits for it and checks its log. Not wanted in a run: ``--deselect tests/test_spark35.py``.
By hand: ``python3 tests/spark35.py [--build-only] [-- PYTEST_ARGS...]``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

CHECKOUT = Path(__file__).resolve().parents[1]
LOCK = CHECKOUT / "requirements" / "spark35.lock"
PYPROJECT = CHECKOUT / "pyproject.toml"
SPARK_FILES = ("tests/test_spark_engine.py", "tests/test_spark_sql.py", "tests/test_spark_cluster.py")
#: Not repeated on Spark 3.5, to keep the whole suite within 20 minutes on 2 cores: the driver's
#: memory is moviedl's merge of part files (the same code on both versions), measured on Spark 4.
NOT_ON_35 = ("tests/test_spark_cluster.py::test_the_drivers_memory_does_not_grow_with_the_input",)
#: set in the Spark 3.5 run: tests/test_spark35.py skips itself there, and nothing starts again
RUN_ENV = "MOVIEDL_SPARK35_RUN"
#: the test that waits for the run (its node id ends with this)
TEST_NAME = "test_the_spark_files_pass_on_spark_3_5"
#: how long the test waits for the run: a first build downloads and builds pyspark (~317 MB)
TIMEOUT = 40 * 60


def cache_root() -> Path:
    folder = os.environ.get("MOVIEDL_SPARK35_CACHE")
    if folder:
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "moviedl"


def venv_key() -> str:
    digest = hashlib.sha256()
    for part in (LOCK.read_bytes(), PYPROJECT.read_bytes(), sys.version.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def requirements() -> list[str]:
    """What ``pip install '.[test]'`` asks for, without moviedl and with pyspark unbounded (the
    lock pins it to 3.5.x; the test extra asks for Spark 4)."""
    project = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    names = [re.split(r"[\s<>=!~;\[(]", spec, maxsplit=1)[0] for spec in wanted]
    return [
        "pyspark" if re.sub(r"[-_.]+", "-", name).lower() == "pyspark" else spec
        for name, spec in zip(names, wanted, strict=True)
    ]


def log(message: str) -> None:
    print(f"spark35: {message}", flush=True)


def run(cmd: Sequence[str], **kwargs: Any) -> None:
    log("+ " + " ".join(cmd))
    sys.stdout.flush()
    subprocess.run(cmd, check=True, **kwargs)


def pyspark_version(python: Path) -> str:
    found = subprocess.run([str(python), "-c", "import pyspark; print(pyspark.__version__)"],
                           capture_output=True, text=True, check=False)
    return found.stdout.strip() if found.returncode == 0 else f"(no pyspark: {found.stderr.strip()[-300:]})"


def venv() -> Path:
    """The Spark 3.5 venv's python, built first if there is none yet."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"spark35-{venv_key()}"
    marker = final / "complete"
    if marker.exists():
        return final / "bin" / "python"
    # One build at a time (two sessions at once wait for one build, then both reuse it).
    with open(root / f"spark35-{venv_key()}.build-lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process building {final}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return final / "bin" / "python"
        for stale in root.glob(f".spark35-{venv_key()}-*"):  # builds that were killed
            shutil.rmtree(stale, ignore_errors=True)
        started = time.monotonic()
        building = Path(tempfile.mkdtemp(prefix=f".spark35-{venv_key()}-", dir=root))
        log(f"building the Spark 3.5 venv in {building} (first time: pyspark 3.5 is a ~317 MB sdist)")
        run([sys.executable, "-m", "venv", str(building)])
        python = building / "bin" / "python"
        wanted = building / "requirements.txt"
        wanted.write_text("\n".join(requirements()) + "\n", "utf-8")
        run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
             "-c", str(LOCK), "-r", str(wanted)], cwd=building)
        version = pyspark_version(python)
        if not version.startswith("3.5."):
            raise SystemExit(f"spark35: the venv has pyspark {version}, not 3.5.x")
        # Only `python -m ...` is used, so the renamed venv works (its scripts' #! lines do not).
        (building / "complete").write_text(f"pyspark {version}\n", "utf-8")
        os.rename(building, final)
        log(f"built {final} in {time.monotonic() - started:.0f} s")
    return final / "bin" / "python"


def test_run(python: Path, basetemp: Path, extra: Sequence[str] = ()) -> int:
    """pytest on the Spark test files of this checkout in the Spark 3.5 venv; its exit status."""
    version = pyspark_version(python)
    if not version.startswith("3.5."):
        log(f"{python} has pyspark {version}, not 3.5.x")
        return 3
    files = [f for f in SPARK_FILES if (CHECKOUT / f).exists()]
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_HOME", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")}
    env.update({RUN_ENV: "1", "PYSPARK_PYTHON": str(python),
                "PYTHONPATH": os.pathsep.join([str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])])})
    cmd = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(basetemp),
           "-m", "spark", *files, *(f"--deselect={t}" for t in NOT_ON_35), *extra]
    log(f"pyspark {version}; + " + " ".join(cmd))
    started = time.monotonic()
    stopping: list[str] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append("stopped (SIGTERM)"))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches pytest itself; wait for it
    process = subprocess.Popen(cmd, cwd=CHECKOUT, env=env)
    watched = os.environ.get("MOVIEDL_SPARK35_PARENT")
    while True:
        try:
            code = process.wait(timeout=1)
            break
        except subprocess.TimeoutExpired:
            if watched and not _alive(int(watched)):
                stopping.append("the pytest session that started this run is gone")
            if stopping:
                # As Ctrl-C would: pytest tears its fixtures down (Spark sessions, the cluster).
                log(f"{stopping[0]}: interrupting pytest")
                process.send_signal(signal.SIGINT)
                try:
                    code = process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    code = process.wait()
                if os.getpgid(0) == os.getpid():  # started by Background: the group is this run's
                    shutil.rmtree(basetemp.parent, ignore_errors=True)  # main()'s finally won't run
                    os.killpg(0, signal.SIGKILL)  # what pytest left (JVMs, drivers), this too
                return code
    log(f"pytest exited {code} after {time.monotonic() - started:.0f} s")
    return code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-only", action="store_true", help="make the venv, run nothing")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    nice = int(os.environ.get("MOVIEDL_SPARK35_NICE") or 0)
    if nice:
        os.nice(nice)  # pip, pytest and Spark's JVM below inherit it
    python = venv()
    if args.build_only:
        return 0
    basetemp = Path(tempfile.mkdtemp(prefix="moviedl-spark35-"))
    try:
        return test_run(python, basetemp / "pytest", args.pytest_args)
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)


# --- in the main pytest session: the run in the background ----------------------------------


class Background:
    """This runner started in the background; its output goes to ``log``."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.started = time.monotonic()
        self._out: IO[bytes] = open(log, "wb")  # noqa: SIM115 (closed in wait/stop)
        env = {**os.environ, "MOVIEDL_SPARK35_PARENT": str(os.getpid())}
        # Lower priority: the suite's own timing-sensitive tests go first on a busy machine.
        env.setdefault("MOVIEDL_SPARK35_NICE", "10")
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(Path(__file__).resolve())],
            stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=CHECKOUT, env=env,
            start_new_session=True,  # its own process group: stop() ends pip, pytest and JVMs too
        )
        atexit.register(self.stop)  # the session ended first (-x, Ctrl-C, an error)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=max(1.0, timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        finally:
            self._out.close()

    def stop(self) -> None:
        """The run stopped: its pytest interrupted (fixtures torn down), then whatever is left
        of its process group killed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._out.close()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text("utf-8", errors="replace").splitlines()[-lines:])


#: the run this session started (tests/conftest.py), for tests/test_spark35.py
background: Background | None = None


def start_if_selected(config: Any, items: list[Any]) -> None:
    """From ``pytest_collection_modifyitems``: when the Spark 3.5 test is among ``items``, move it
    to the end (it waits for the run, so the rest of the suite goes first) and start the run."""
    global background
    mine = [item for item in items if item.nodeid.endswith(f"test_spark35.py::{TEST_NAME}")]
    if not mine or os.environ.get(RUN_ENV) or config.option.collectonly or background is not None:
        return
    items[:] = [item for item in items if item not in mine] + mine
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return  # the test skips: without Java every Spark test would skip there too
    folder = Path(tempfile.mkdtemp(prefix="moviedl-spark35-log-"))
    background = Background(folder / "spark35.log")


if __name__ == "__main__":
    sys.exit(main())
