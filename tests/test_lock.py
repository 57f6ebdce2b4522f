"""One run at a time per lake: OS lock locally, conditional-write lock object on S3."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from moviedl.core.config import load_settings
from moviedl.core.errors import ExitCode
from moviedl.storage import open_lake
from moviedl.storage.local import LocalLake
from moviedl.storage.lock import S3_LOCK_KEY, LakeLocked, LockOwner, lock_lake


def owner(run_id: str = "run-a", command: str = "refine") -> LockOwner:
    return LockOwner.current(run_id, command)


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from moviedl.storage.local import LocalLake
    from moviedl.storage.lock import LockOwner, lock_lake
    with lock_lake(LocalLake(sys.argv[1]), LockOwner.current("run-other", "run")):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_a_second_process_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lake_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LakeLocked) as caught:
            lock_lake(LocalLake(lake_dir), owner()).acquire()
        assert caught.value.exit_code == ExitCode.BAD_INPUT
        message = str(caught.value)
        assert "run run-other ('moviedl run'" in message and f"pid {holder.pid}" in message
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: no stale lock is possible locally.
    with lock_lake(LocalLake(lake_dir), owner()):
        pass


def test_local_lock_is_released_and_reacquired(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    with lock_lake(lake, owner("first")):
        with pytest.raises(LakeLocked, match="run first"):
            lock_lake(lake, owner("second")).acquire()
    with lock_lake(lake, owner("third")):
        pass


def s3_lake(bucket: str):
    return open_lake(load_settings({"lake": f"s3://{bucket}/lake"}))


def test_s3_lock_refuses_a_second_run_while_the_first_lives(bucket: str, s3) -> None:
    lake = s3_lake(bucket)
    with lock_lake(lake, owner("first", "ingest-csv")):
        stored = json.loads(s3.get_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}")["Body"].read())
        assert stored["run_id"] == "first" and stored["expires_at"]
        with pytest.raises(LakeLocked) as caught:
            lock_lake(lake, owner("second")).acquire()
        assert "run first ('moviedl ingest-csv'" in str(caught.value)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"lake/{S3_LOCK_KEY}")
    with lock_lake(lake, owner("second")):
        pass


def test_s3_stale_lock_is_taken_over(bucket: str, s3) -> None:
    expired = LockOwner("crashed", "run", "old-host", 4242, "2024-05-01T02:00:00+00:00", "2024-05-01T02:10:00+00:00")
    s3.put_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}", Body=expired.to_json())
    lock = lock_lake(s3_lake(bucket), owner("new"))
    with lock:
        assert lock.took_over == expired
        stored = json.loads(s3.get_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}")["Body"].read())
        assert stored["run_id"] == "new"


def test_s3_heartbeat_keeps_a_long_run_locked(bucket: str, s3) -> None:
    lake = s3_lake(bucket)
    lock = lock_lake(lake, owner("long"), ttl=dt.timedelta(seconds=1.5))
    with lock:
        time.sleep(2.5)  # past the first expiry: only the heartbeat keeps the lock alive
        with pytest.raises(LakeLocked, match="run long"):
            lock_lake(lake, owner("intruder"), ttl=dt.timedelta(seconds=1.5)).acquire()


def test_s3_heartbeat_survives_a_network_blip(bucket: str, s3, monkeypatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    lake = s3_lake(bucket)
    lock = lock_lake(lake, owner("steady"), ttl=dt.timedelta(seconds=3))
    real_put = lake.client.put_object
    failing = {"until": 0.0}

    def flaky_put(**kwargs):
        if time.monotonic() < failing["until"]:
            raise EndpointConnectionError(endpoint_url="http://s3")
        return real_put(**kwargs)

    monkeypatch.setattr(lake.client, "put_object", flaky_put)
    with lock:
        failing["until"] = time.monotonic() + 1.2  # one renewal fails, the next succeeds
        time.sleep(4)
        assert not lock.lost
        with pytest.raises(LakeLocked, match="run steady"):
            lock_lake(s3_lake(bucket), owner("intruder")).acquire()


def test_s3_a_lost_lock_stops_publishing(bucket: str, s3, monkeypatch) -> None:
    from moviedl.app import session as session_module
    from moviedl.app.session import command_session
    from moviedl.core.errors import ServiceError

    created = []

    def keep_lock(*args, **kwargs):
        created.append(lock_lake(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(session_module, "lock_lake", keep_lock)
    settings = load_settings({"lake": f"s3://{bucket}/lake"})
    lake = open_lake(settings)
    with pytest.raises(ServiceError, match="lost the lock"):
        with command_session(settings, lake, "refine"):
            # Another run overwrote the lock (as after a takeover): the heartbeat notices.
            s3.put_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}", Body=owner("thief").to_json())
            lock_obj = created[0]  # the session's lock
            lock_obj.lost = not lock_obj._put(IfMatch=lock_obj._etag)  # noqa: SLF001 - one renewal, now
            lake.write_bytes("Refined/x.txt", b"late write")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="lake/Refined/")


def test_s3_release_failure_does_not_fail_the_run(bucket: str, s3, monkeypatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    lake = s3_lake(bucket)
    lock = lock_lake(lake, owner("done"))
    lock.acquire()

    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url="http://s3")

    monkeypatch.setattr(lake.client, "delete_object", unreachable)
    lock.release()  # logs a warning; the lock expires on its own
    monkeypatch.undo()
    assert json.loads(s3.get_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}")["Body"].read())["run_id"] == "done"


# --- a lock left by a process of this host that is gone -------------------------------------


def lock_of(pid: int, host: str | None = None) -> LockOwner:
    """A lock object that has not expired, owned by ``pid`` on ``host`` (default: this host)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return LockOwner("killed", "run", host or socket.gethostname(), pid, now.isoformat(),
                     (now + dt.timedelta(minutes=9)).isoformat())


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # exited and reaped: the pid names no process
    return child.pid


def test_s3_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(
    bucket: str, s3, invoke, movies_csv: Path
) -> None:
    pid = dead_pid()
    s3.put_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}", Body=lock_of(pid).to_json())
    started = time.monotonic()
    result = invoke("ingest-csv", movies_csv, "--lake", f"s3://{bucket}/lake", "--date", "2024-05-01")

    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 10  # not after the lock's expiry, 9 minutes away
    assert "Contents" in s3.list_objects_v2(Bucket=bucket, Prefix="lake/Raw/Local/CSV/Movies/")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"lake/{S3_LOCK_KEY}")  # released
    warning = " ".join(result.output.split())  # the log line on stderr names the dead owner
    assert "WARNING" in warning and "took over the lake lock of a process that no longer runs on this host" in warning
    assert f"run killed ('moviedl run', pid {pid} on host {socket.gethostname()}" in warning


def test_s3_lock_of_a_live_process_on_this_host_is_refused(bucket: str, s3, invoke, movies_csv: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        s3.put_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}", Body=lock_of(child.pid).to_json())
        result = invoke("ingest-csv", movies_csv, "--lake", f"s3://{bucket}/lake")

        assert result.exit_code == 2, result.output
        assert f"run killed ('moviedl run', pid {child.pid} on host {socket.gethostname()}" in result.output
    finally:
        child.kill()
        child.wait()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="lake/Raw/")


def test_s3_lock_of_another_host_waits_for_its_expiry(bucket: str, s3) -> None:
    s3.put_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}", Body=lock_of(dead_pid(), host="etl-2").to_json())
    with pytest.raises(LakeLocked, match="pid .* on host etl-2"):  # its pid means nothing here
        lock_lake(s3_lake(bucket), owner("new")).acquire()


# --- a lock whose content is not a lock record ----------------------------------------------

# (content, what the message says about it): garbage bytes, and JSON of the wrong shape
NOT_A_LOCK = [
    (b"\x00\xffgarbage", "not JSON"),
    (b"", "empty"),
    (b"[1,2]", "a JSON array, not an object"),
    (b'"x"', "a JSON string, not an object"),
    (b"null", "a JSON null, not an object"),
    (b"12345", "a JSON number, not an object"),
    (b"{}", "run_id is missing, not a non-empty string"),
    (b'{"pid":"abc","expires_at":12345}', "run_id is missing"),
    # every field present, but numbers as strings / times as numbers / no UTC offset
    (json.dumps({**json.loads(lock_of(4242, "etl-2").to_json()), "pid": "4242"}).encode(),
     'pid is "4242", not a process id'),
    (json.dumps({**json.loads(lock_of(4242, "etl-2").to_json()), "pid": True}).encode(),
     "pid is true, not a process id"),
    (json.dumps({**json.loads(lock_of(4242, "etl-2").to_json()), "expires_at": 1893456000}).encode(),
     "expires_at is 1893456000, not an ISO time with a UTC offset"),
    (json.dumps({**json.loads(lock_of(4242, "etl-2").to_json()), "expires_at": "2099-01-01T00:00:00"}).encode(),
     'expires_at is "2099-01-01T00:00:00", not an ISO time with a UTC offset'),
    (json.dumps({k: v for k, v in json.loads(lock_of(4242, "etl-2").to_json()).items() if k != "host"}).encode(),
     "host is missing"),
]


@pytest.mark.parametrize(("content", "problem"), NOT_A_LOCK, ids=[p for _, p in NOT_A_LOCK])
def test_s3_lock_that_is_not_a_lock_record_is_taken_over_with_a_warning(
    bucket: str, s3, invoke, movies_csv: Path, content: bytes, problem: str
) -> None:
    """Any content that is not a lock record names no owner that could be alive: like a stale
    lock it is taken over (not a crash, exit 4, until someone deletes it by hand)."""
    s3.put_object(Bucket=bucket, Key=f"lake/{S3_LOCK_KEY}", Body=content)

    result = invoke("ingest-csv", movies_csv, "--lake", f"s3://{bucket}/lake", "--date", "2024-05-01")

    assert result.exit_code == 0, result.output
    assert "Contents" in s3.list_objects_v2(Bucket=bucket, Prefix="lake/Raw/Local/CSV/Movies/")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=f"lake/{S3_LOCK_KEY}")  # released
    warning = " ".join(result.output.split())
    assert "WARNING" in warning and "took over the lake lock: its content is not a moviedl lock record" in warning
    assert f"lock=s3://{bucket}/lake/{S3_LOCK_KEY}" in warning and f"problem={problem}" in warning


HOLD_WITH_CONTENT = textwrap.dedent(
    """
    import fcntl, os, sys, time
    os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.ftruncate(fd, 0)
    os.pwrite(fd, sys.argv[2].encode(), 0)
    print("locked", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("content", ["[1,2]", '{"pid":"abc","expires_at":12345}', "{}", '"x"', "null", "garbage"])
def test_local_lock_with_content_of_another_shape(tmp_path: Path, invoke, movies_csv: Path, content: str) -> None:
    lake_dir = tmp_path / "lake"
    lock_file = lake_dir / "_moviedl" / "lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WITH_CONTENT, str(lock_file), content], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "locked"
        # Held by a live process (the kernel says so): refused, exit 2, the file named; not exit 4.
        result = invoke("ingest-csv", movies_csv, "--lake", lake_dir, "--date", "2024-05-01")
        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())
        assert f"is in use by another run (its owner record {lock_file} is unreadable:" in message
        assert "Internal error" not in message
    finally:
        holder.kill()
        holder.wait()
    # Its holder gone, the same content is overwritten: the next run goes ahead.
    assert lock_file.read_text() == content
    (lake_dir / "_moviedl" / "lock.json").write_text(content)  # an S3-style lock object means nothing locally
    result = invoke("ingest-csv", movies_csv, "--lake", lake_dir, "--date", "2024-05-01")
    assert result.exit_code == 0, result.output
    assert (lake_dir / "Raw/Local/CSV/Movies/2024/05/01/movies.csv").is_file()
    assert lock_file.read_text() == ""  # released
