"""Lake storage: the same behaviour on a local folder and on S3 (moto running as a server)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from moviedl.core.config import load_settings
from moviedl.core.errors import ExitCode, ServiceError
from moviedl.storage import open_lake
from moviedl.storage.local import LocalLake
from moviedl.storage.s3 import S3Lake
from tests.conftest import list_lake, read_lake_object


def make_lake(lake_uri: str, **settings: object):
    return open_lake(load_settings({"lake": lake_uri}, env={**os.environ, **{k: str(v) for k, v in settings.items()}}))


def test_write_read_list_delete_round_trip(lake_uri: str, s3) -> None:
    lake = make_lake(lake_uri)
    lake.write_bytes("Raw/a/one.txt", b"one")
    lake.write_bytes("Raw/b/two.txt", "dois – 二".encode())
    lake.write_bytes("Other/three.txt", b"3")

    assert lake.read_bytes("Raw/b/two.txt") == "dois – 二".encode()
    assert read_lake_object(lake_uri, "Raw/a/one.txt", s3) == b"one"
    assert [(o.key, o.size) for o in lake.list_objects("Raw/")] == [("Raw/a/one.txt", 3), ("Raw/b/two.txt", 12)]
    assert lake.size("Raw/a/one.txt") == 3 and lake.size("Raw/none") is None
    assert lake.sha256("Other/three.txt") == hashlib.sha256(b"3").hexdigest()

    lake.delete("Raw/a/one.txt")
    assert not lake.exists("Raw/a/one.txt")
    assert list_lake(lake_uri, s3) == ["Other/three.txt", "Raw/b/two.txt"]


def test_an_aborted_upload_leaves_nothing_visible(lake_uri: str, s3) -> None:
    lake = make_lake(lake_uri)
    upload = lake.begin_upload("Raw/x.csv")
    upload.write(b"half of a file")
    assert not lake.exists("Raw/x.csv")
    upload.abort()
    assert [key for key in list_lake(lake_uri, s3) if not key.startswith("_moviedl/tmp/")] == []
    assert not lake.exists("Raw/x.csv")


def test_local_staging_sits_outside_the_data_folders(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    upload = lake.begin_upload("Raw/Local/CSV/Movies/2024/05/01/movies.csv")
    upload.write(b"data")
    assert not (tmp_path / "lake/Raw").exists()
    upload.commit()
    assert (tmp_path / "lake/Raw/Local/CSV/Movies/2024/05/01/movies.csv").read_bytes() == b"data"
    assert list((tmp_path / "lake/_moviedl/tmp").iterdir()) == []


def test_s3_listing_follows_every_page(bucket: str, s3) -> None:
    lake = S3Lake(f"s3://{bucket}/p", load_settings(), page_size=3)
    for i in range(10):
        s3.put_object(Bucket=bucket, Key=f"p/Raw/{i:02}.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="elsewhere/Raw/xx.txt", Body=b"x")
    assert [o.key for o in lake.list_objects("Raw/")] == [f"Raw/{i:02}.txt" for i in range(10)]


def test_s3_listing_is_not_capped_at_1000_keys(bucket: str, s3) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"Raw/{i:05}", Body=b""), range(1005)))
    lake = S3Lake(f"s3://{bucket}", load_settings())
    assert sum(1 for _ in lake.list_objects("Raw/")) == 1005


def test_s3_large_object_goes_up_in_parts_and_is_verified(bucket: str, s3) -> None:
    lake = S3Lake(f"s3://{bucket}/lake", load_settings(env={**os.environ, "MOVIEDL_CONFIG": ""}))
    lake.multipart_threshold = 6 << 20
    lake.part_size = 5 << 20
    data = os.urandom(12 << 20)
    upload = lake.begin_upload("Raw/big.bin")
    for start in range(0, len(data), 1 << 20):
        upload.write(data[start : start + (1 << 20)])
    assert not lake.exists("Raw/big.bin")  # parts uploaded, object not yet visible
    upload.commit()
    head = s3.head_object(Bucket=bucket, Key="lake/Raw/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 2 MiB
    assert head["ServerSideEncryption"] == "AES256"
    assert read_lake_object(f"s3://{bucket}/lake", "Raw/big.bin", s3) == data


def test_s3_aborted_multipart_upload_is_cleaned_up(bucket: str, s3) -> None:
    lake = S3Lake(f"s3://{bucket}", load_settings())
    lake.multipart_threshold = 5 << 20
    lake.part_size = 5 << 20
    upload = lake.begin_upload("big.bin")
    upload.write(b"x" * (11 << 20))
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    upload.abort()
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert not lake.exists("big.bin")


def test_s3_writes_use_kms_when_configured(bucket: str, s3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIEDL_S3_SSE", "aws:kms")
    monkeypatch.setenv("MOVIEDL_S3_KMS_KEY_ID", "alias/moviedl")
    lake = open_lake(load_settings({"lake": f"s3://{bucket}"}))
    lake.write_bytes("k.txt", b"secret data")
    head = s3.head_object(Bucket=bucket, Key="k.txt")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert "alias/moviedl" in head["SSEKMSKeyId"]


def test_s3_missing_bucket_is_one_clear_error(aws_env: str) -> None:
    lake = open_lake(load_settings({"lake": "s3://no-such-bucket-here/lake"}))
    with pytest.raises(ServiceError) as caught:
        lake.check()
    assert caught.value.exit_code == ExitCode.SERVICE
    assert "S3 bucket 'no-such-bucket-here' does not exist" in caught.value.message


def test_s3_without_credentials_says_how_to_provide_them(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    lake = open_lake(load_settings({"lake": "s3://some-bucket"}))
    with pytest.raises(ServiceError) as caught:
        lake.check()
    assert "no AWS credentials found" in str(caught.value)
    assert "AWS_PROFILE" in str(caught.value)


def test_s3_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch, aws_env: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    lake = open_lake(load_settings({"lake": "s3://b"}))
    with pytest.raises(ServiceError, match="cannot reach the S3 endpoint http://127.0.0.1:9"):
        lake.check()


def test_read_range_fetches_part_of_an_object(lake_uri: str, s3) -> None:
    lake = make_lake(lake_uri)
    lake.write_bytes("f.bin", bytes(range(100)))
    assert lake.read_range("f.bin", 10, 14) == bytes([10, 11, 12, 13])
    ranges = lake.open_ranges("f.bin", 100)
    ranges.seek(-3, 2)
    assert ranges.read(3) == bytes([97, 98, 99]) and ranges.requests == 1


def test_staged_writes_left_by_a_killed_process_are_cleaned_up(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    stale = lake.begin_upload("a.txt")
    stale.write(b"abandoned")  # never committed nor aborted: as after kill -9
    live = lake.begin_upload("b.txt")
    live.write(b"in progress")
    old = time.time() - 7 * 3600
    os.utime(stale._tmp, (old, old))  # noqa: SLF001 - the file a dead process left
    assert lake.clean_tmp() == 1
    assert not stale._tmp.exists() and live._tmp.exists()  # noqa: SLF001
    live.commit()
    assert lake.read_bytes("b.txt") == b"in progress"


# --- what callers need from any lake (no isinstance on the backend) ----------------------------


def test_local_path_reads_in_place_or_downloads_once(lake_uri: str, s3, tmp_path: Path) -> None:
    lake = make_lake(lake_uri)
    lake.write_bytes("Raw/a/one.csv", b"one")
    workdir = tmp_path / "scratch"

    path = lake.local_path("Raw/a/one.csv", workdir)

    assert path.read_bytes() == b"one"
    if lake_uri.startswith("s3://"):
        assert path == workdir / "Raw/a/one.csv" == lake.local_root(workdir) / "Raw/a/one.csv"
        lake.delete("Raw/a/one.csv")
        assert lake.local_path("Raw/a/one.csv", workdir).read_bytes() == b"one"  # the copy is reused
    else:
        assert path == Path(lake_uri).absolute() / "Raw/a/one.csv"  # the lake's own file
        assert lake.local_root(workdir) == Path(lake_uri).absolute()
        assert not workdir.exists()


def test_publish_file_from_outside_the_lake_uploads_it(lake_uri: str, s3, tmp_path: Path) -> None:
    lake = make_lake(lake_uri)
    source = tmp_path / "out.parquet"
    source.write_bytes(b"new version")

    lake.publish_file(source, "T/data.parquet")

    assert read_lake_object(lake_uri, "T/data.parquet", s3) == b"new version"
    assert source.read_bytes() == b"new version"  # a file outside the lake stays


def test_publish_file_staged_under_the_local_root(lake_uri: str, s3, tmp_path: Path) -> None:
    lake = make_lake(lake_uri)
    root = lake.local_root(tmp_path / "work")
    staged = root / "_moviedl/staging/r1/T/data.parquet"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"staged")

    lake.publish_file(staged, "_moviedl/staging/r1/T/data.parquet")  # local: it is that object already
    assert read_lake_object(lake_uri, "_moviedl/staging/r1/T/data.parquet", s3) == b"staged"

    lake.publish_file(staged, "T/data.parquet")
    assert read_lake_object(lake_uri, "T/data.parquet", s3) == b"staged"
    # a local lake renames its own file into place (no copy); from elsewhere it is uploaded
    assert staged.exists() == lake_uri.startswith("s3://")


def test_move_replaces_the_target_and_removes_the_source(lake_uri: str, s3) -> None:
    lake = make_lake(lake_uri)
    lake.write_bytes("stage/x.bin", b"new")
    lake.write_bytes("live/x.bin", b"old")

    lake.move("stage/x.bin", "live/x.bin")

    assert lake.read_bytes("live/x.bin") == b"new"
    assert not lake.exists("stage/x.bin")


def test_exists_as_lake_and_location(lake_uri: str, s3) -> None:
    lake = make_lake(lake_uri)
    assert not lake.exists_as_lake()
    lake.write_bytes("Raw/x.csv", b"x")
    assert lake.exists_as_lake()
    expected = lake_uri if lake_uri.startswith("s3://") else str(Path(lake_uri).absolute())
    assert lake.location == expected


def test_lock_admits_one_run_at_a_time(lake_uri: str, s3) -> None:
    from moviedl.storage.lock import LakeLocked, LockOwner, lock_lake

    lake = make_lake(lake_uri)
    with lock_lake(lake, LockOwner.current("run-1", "refine")):
        other = lock_lake(make_lake(lake_uri), LockOwner.current("run-2", "refine"))
        with pytest.raises(LakeLocked, match="run-1"):
            other.acquire()
    with lock_lake(lake, LockOwner.current("run-3", "refine")) as held:
        held.ensure_held()


def test_ranged_source_reads_only_what_is_asked(lake_uri: str, s3) -> None:
    lake = make_lake(lake_uri)
    lake.write_bytes("f.bin", bytes(range(100)))

    source = lake.ranged_source("f.bin", 100)

    with open(source, "rb") if isinstance(source, str) else source as stream:
        stream.seek(-3, 2)
        assert stream.read(3) == bytes([97, 98, 99])


def test_a_full_disk_under_a_local_lake_is_one_clear_error_and_leaves_nothing(tmp_path: Path, disk_full) -> None:
    """The write fails with the lake's message (exit 3), not with the second error the cleanup
    of the half-written file raises on the same full disk."""
    from moviedl.core.errors import MoviedlError
    from moviedl.storage.local import LocalLake

    root = tmp_path / "lake"
    root.mkdir()
    lake = LocalLake(root)
    disk_full("state/")
    with pytest.raises(MoviedlError) as caught:
        lake.write_bytes("state/progress.json", b"{}")
    assert caught.value.exit_code == 3  # the machine, not the input
    assert caught.value.message.startswith(f"no space left on device at {root / 'state'}")
    assert not (root / "state" / "progress.json").exists()
    assert not [p for p in root.rglob("*.part") if not p.is_symlink()]
