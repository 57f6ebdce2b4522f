"""Scratch folders: a run's is removed when it ends; a killed run's by the next run, never a live
run's, never a folder moviedl did not make."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from moviedl.core.scratch import ORPHAN_AGE, OWNER_FILE, ScratchDir, reclaim
from tests.conftest import refine_killed_at

# A process that makes a scratch folder, says where, puts a file in it and waits to be killed.
_HOLDER = """
import sys, time
from pathlib import Path
from moviedl.core.scratch import ScratchDir
scratch = ScratchDir("refine", Path(sys.argv[1]))
(scratch.path / "spill.tmp").write_bytes(b"x" * 300_000)
print(scratch.path, flush=True)
time.sleep(120)
"""


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp folder of the test's own (TMPDIR for child processes too)."""
    root = tmp_path / "temp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def moviedl_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.startswith("moviedl-"))


def test_a_scratch_folder_is_removed_when_its_run_ends(temp_root: Path) -> None:
    with ScratchDir("refine") as scratch:
        assert scratch.path.parent == temp_root and scratch.path.name.startswith("moviedl-refine-")
        assert (scratch.path / OWNER_FILE).is_file()
        (scratch.path / "spill.tmp").write_bytes(b"x" * 1000)
    assert moviedl_folders(temp_root) == []


def test_a_live_run_keeps_its_folder_and_a_killed_one_loses_it_to_the_next(temp_root: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(temp_root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        live = Path(holder.stdout.readline().strip())
        with ScratchDir("validate") as mine:  # another run, beside the live one
            assert mine.reclaimed == []
            assert live.is_dir() and (live / "spill.tmp").is_file()
            assert reclaim(temp_root) == []  # not even a direct call removes a live run's folder
            with ScratchDir("spark") as nested:  # two folders of one process: neither is taken
                assert nested.reclaimed == [] and mine.path.is_dir()
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
            assert live.is_dir()  # the killed run could not clean up
            found = reclaim(temp_root)
            assert [r.path for r in found] == [live]
            assert found[0].bytes >= 300_000  # what it held
            assert not live.exists() and mine.path.is_dir()
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_folders_moviedl_did_not_make_are_never_removed_and_old_ownerless_ones_are(
    temp_root: Path,
) -> None:
    old = time.time() - ORPHAN_AGE - 3600
    others = ["moviedl-backup", "moviedl-refine-abc", "moviedl-notes-abcdefgh", "refine-abcdefgh"]
    for name in others:
        (temp_root / name).mkdir()
        os.utime(temp_root / name, (old, old))
    stale = temp_root / "moviedl-refine-k3j4h5g6"  # an older moviedl's folder: no owner file
    (stale / "scratch").mkdir(parents=True)
    os.utime(stale, (old, old))
    young = temp_root / "moviedl-tmdb-a1b2c3d4"  # just made (its owner file comes next), or young
    young.mkdir()

    found = reclaim(temp_root)

    assert [r.path for r in found] == [stale]
    assert sorted(p.name for p in temp_root.iterdir()) == sorted([*others, young.name])


def failing(code: int) -> Callable[..., None]:
    """A stand-in for an os/fcntl call that fails with ``code`` (errno), as the system would."""

    def fail(*args: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


def test_where_there_are_no_file_locks_a_run_still_gets_a_folder_no_other_run_removes(
    temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    monkeypatch.setattr(fcntl, "flock", failing(errno.ENOLCK))
    with ScratchDir("refine") as scratch:
        assert scratch.path.is_dir() and not any(scratch.path.iterdir())  # no owner file
        assert reclaim(temp_root) == [] and scratch.path.is_dir()  # young: the one-day rule
    assert moviedl_folders(temp_root) == []


def test_a_scratch_folder_that_cannot_be_set_up_is_not_left_behind(
    temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "replace", failing(errno.ENOSPC))
    with pytest.raises(OSError, match="No space left"):
        ScratchDir("refine")
    assert moviedl_folders(temp_root) == []


def test_refine_after_a_killed_refine_removes_its_scratch_and_says_so(
    temp_root: Path, tmp_path: Path, invoke: Any, movies_csv: Path, series_csv: Path
) -> None:
    lake = str(tmp_path / "lake")
    assert invoke("ingest-csv", movies_csv, series_csv, "--lake", lake, "--date", "2024-05-01").exit_code == 0

    refine_killed_at("staged", "--lake", lake)  # SIGKILL, as the OOM killer would
    left = moviedl_folders(temp_root)
    assert len(left) == 1 and left[0].name.startswith("moviedl-refine-")

    result = invoke("refine", "--lake", lake, "--format", "json")
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert any(
        n.startswith(f"removed 1 scratch folder(s) that killed runs left in {temp_root}") for n in notes
    ), notes
    assert moviedl_folders(temp_root) == []  # the killed run's, and this run's own

    again = invoke("refine", "--lake", lake, "--format", "json")
    assert not any("scratch folder" in n for n in json.loads(again.stdout)["notes"])


# A process whose DuckDB connection (moviedl's settings) spills into duckdb.temp_directory, then
# waits to be killed.
_SPILLER = """
import sys, time
from pathlib import Path
from moviedl.core.config import load_settings
from moviedl.engines.duck import connect
settings = load_settings({"duckdb.temp_directory": sys.argv[1], "duckdb.memory_limit": "64MB"})
con = connect(settings, Path(sys.argv[1]))
con.execute("CREATE TABLE t AS SELECT md5(range::VARCHAR) || md5(range::VARCHAR) AS s FROM range(1500000)")
print("spilled", flush=True)
time.sleep(120)
"""


def test_with_duckdb_temp_directory_a_killed_runs_spill_files_go_when_duckdb_next_spills(
    tmp_path: Path,
) -> None:
    """docs/cron.md promises this of DuckDB itself: its spill files carry their process's id."""
    from moviedl.core.config import load_settings
    from moviedl.engines.duck import connect

    spill = tmp_path / "spill"
    spill.mkdir()
    spiller = subprocess.Popen([sys.executable, "-c", _SPILLER, str(spill)], stdout=subprocess.PIPE, text=True)
    try:
        assert spiller.stdout is not None and spiller.stdout.readline().strip() == "spilled"
        os.kill(spiller.pid, signal.SIGKILL)
        spiller.wait(timeout=30)
    finally:
        spiller.kill()
        spiller.wait(timeout=30)
    dead = f"duckdb_temp_{spiller.pid}_"
    left = [f for f in spill.iterdir() if f.name.startswith(dead)]
    assert sum(f.stat().st_size for f in left) > 10_000_000  # the killed process could not clean up

    settings = load_settings({"duckdb.temp_directory": str(spill), "duckdb.memory_limit": "64MB"})
    with connect(settings, tmp_path) as con:
        con.execute("CREATE TABLE t AS SELECT md5(range::VARCHAR) || md5(range::VARCHAR) AS s FROM range(1500000)")
        assert any(f.name.startswith(f"duckdb_temp_{os.getpid()}_") for f in spill.iterdir())  # spilled
        assert not [f.name for f in spill.iterdir() if f.name.startswith(dead)]
