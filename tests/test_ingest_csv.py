"""``moviedl ingest-csv``: checked, verified, idempotent copies into the Raw zone."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from moviedl.core.sources import MOVIES
from moviedl.storage import files, local
from moviedl.storage.manifest import RawManifest, read_manifest
from tests.conftest import list_lake, read_lake_object

MOVIES_KEY = "Raw/Local/CSV/Movies/2024/05/01/movies.csv"
SERIES_KEY = "Raw/Local/CSV/Series/2024/05/01/series.csv"
DATE = ("--date", "2024-05-01")


def raw_keys(lake_uri: str, s3) -> list[str]:
    return [k for k in list_lake(lake_uri, s3) if k.startswith("Raw/")]


def test_samples_are_copied_unchanged_with_a_manifest(invoke, lake_uri, s3, movies_csv, series_csv) -> None:
    result = invoke("ingest-csv", movies_csv, series_csv, "--lake", lake_uri, *DATE, "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["counts"]["written"] == 2

    assert raw_keys(lake_uri, s3) == [MOVIES_KEY, SERIES_KEY]
    for key, source in ((MOVIES_KEY, movies_csv), (SERIES_KEY, series_csv)):
        data = source.read_bytes()
        assert read_lake_object(lake_uri, key, s3) == data
        manifest = json.loads(read_lake_object(lake_uri, f"_moviedl/manifests/{key}.json", s3))
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["size"] == len(data)
        assert manifest["rows"] == data.count(b"\n") - 1
        assert manifest["source_name"] == source.name
        assert manifest["longest_line"] == max(map(len, data.split(b"\n")))
    rows = {row["kind"]: row for row in summary["rows"]}
    assert rows["movies"]["rows"] == movies_csv.read_bytes().count(b"\n") - 1
    assert rows["movies"]["status"] == "ingested"
    assert rows["series"]["destination"].endswith(SERIES_KEY)


def test_same_content_again_is_skipped(invoke, lake_uri, s3, movies_csv) -> None:
    assert invoke("ingest-csv", movies_csv, "--lake", lake_uri, *DATE).exit_code == 0
    again = invoke("ingest-csv", movies_csv, "--lake", lake_uri, *DATE, "--format", "json")
    assert again.exit_code == 0, again.output
    (row,) = json.loads(again.stdout)["rows"]
    assert row["status"] == "skipped (identical)"
    assert json.loads(again.stdout)["counts"]["written"] == 0


def test_different_content_for_the_same_date_is_refused_unless_overwrite(
    invoke, lake_uri, s3, movies_csv, tmp_path: Path
) -> None:
    assert invoke("ingest-csv", movies_csv, "--lake", lake_uri, *DATE).exit_code == 0
    changed = tmp_path / "movies.csv"
    lines = movies_csv.read_text("utf-8").splitlines(keepends=True)
    changed.write_text("".join(lines[:-1]), "utf-8")

    refused = invoke("ingest-csv", changed, "--lake", lake_uri, *DATE)
    assert refused.exit_code == 2
    assert "already holds different content" in refused.output and "--overwrite" in refused.output
    assert read_lake_object(lake_uri, MOVIES_KEY, s3) == movies_csv.read_bytes()

    replaced = invoke("ingest-csv", changed, "--lake", lake_uri, *DATE, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert read_lake_object(lake_uri, MOVIES_KEY, s3) == changed.read_bytes()
    manifest = json.loads(read_lake_object(lake_uri, f"_moviedl/manifests/{MOVIES_KEY}.json", s3))
    assert manifest["rows"] == len(lines) - 2


def test_another_date_is_another_file(invoke, lake_uri, s3, movies_csv) -> None:
    assert invoke("ingest-csv", movies_csv, "--lake", lake_uri, "--date", "2024-05-01").exit_code == 0
    assert invoke("ingest-csv", movies_csv, "--lake", lake_uri, "--date", "2024-05-02").exit_code == 0
    assert raw_keys(lake_uri, s3) == [MOVIES_KEY, MOVIES_KEY.replace("05/01", "05/02")]


# --- bad input: one message naming the file and problem, exit 2, nothing ingested -------------


def bad_files(tmp_path: Path, movies_csv: Path) -> dict[str, tuple[Path, str]]:
    good = movies_csv.read_bytes()
    header, body = good.split(b"\n", 1)
    cases = {
        "comma": (header.replace(b"|", b",") + b"\n" + body.replace(b"|", b","),
                  "line 1: the header uses ',' as delimiter (comma-delimited); moviedl expects '|'"),
        "three columns": (b"id,tituloPincipal,anoLancamento\ntt0000009,Miss Jerry,1894\n",
                          "uses ',' as delimiter (comma-delimited); moviedl expects '|'; split on it, "
                          "missing tituloOriginal, tempoMinutos"),
        "nul": (good.replace(b"|Crime,Drama|", b"|Crime,\x00Drama|", 1),
                f"line {len(good[:good.index(b'|Crime,Drama|')].splitlines())}: field 6 (genero) holds a NUL byte"),
        "header": (header.replace(b"notaMedia", b"nota") + b"\n" + body, "missing notaMedia; unexpected 'nota'"),
        "ragged": (good + b"tt9|only|three\n", "1 row(s) do not have 15 fields (lines"),
        "empty": (b"", "the file is empty"),
        "utf8": (good + "tt9|Ação".encode("latin-1") + b"|x" * 13 + b"\n", "not UTF-8"),
        "truncated": (good + body[:25], "do not have 15 fields"),
    }
    paths = {}
    for name, (data, expected) in cases.items():
        path = tmp_path / name / "movies.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        paths[name] = (path, expected)
    return paths


@pytest.mark.parametrize("case", ["comma", "three columns", "nul", "header", "ragged", "empty", "utf8", "truncated"])
def test_bad_file_is_refused_and_nothing_is_ingested(
    invoke, lake_uri, s3, movies_csv, series_csv, tmp_path: Path, case: str
) -> None:
    path, expected = bad_files(tmp_path, movies_csv)[case]
    result = invoke("ingest-csv", series_csv, path, "--lake", lake_uri, *DATE, "--format", "json")
    assert result.exit_code == 2, result.output
    summary = json.loads(result.stdout)
    assert any(str(path) in p and expected in p for p in summary["problems"]), summary["problems"]
    assert {row["status"] for row in summary["rows"]} == {"not ingested", "invalid"}
    assert raw_keys(lake_uri, s3) == []  # the good series file waits for a clean run
    assert "Traceback" not in result.output


def test_ragged_rows_report_line_numbers(invoke, tmp_path: Path, movies_csv: Path) -> None:
    lines = movies_csv.read_text("utf-8").splitlines()
    lines[4] += "|extra"
    lines[9] = lines[9].rsplit("|", 1)[0]
    path = tmp_path / "movies.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    result = invoke("ingest-csv", path, *DATE)
    assert result.exit_code == 2
    assert "2 row(s) do not have 15 fields (lines 5, 10)" in result.output


def test_missing_file(invoke, tmp_path: Path) -> None:
    result = invoke("ingest-csv", tmp_path / "nope.csv", *DATE)
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.csv'}: no such file" in result.output


def test_two_movies_files_in_one_run_are_refused(invoke, movies_csv: Path, tmp_path: Path) -> None:
    copy = tmp_path / "other.csv"
    copy.write_bytes(movies_csv.read_bytes())
    result = invoke("ingest-csv", movies_csv, copy, *DATE)
    assert result.exit_code == 2
    assert "a second movies file in one run" in result.output
    assert not Path("lake/Raw").exists()


def test_dry_run_writes_nothing(invoke, movies_csv: Path) -> None:
    result = invoke("ingest-csv", movies_csv, *DATE, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"][0]["status"] == "would ingest"
    assert not Path("lake").exists()


def test_missing_bucket_exits_3(invoke, aws_env: str, movies_csv: Path) -> None:
    result = invoke("ingest-csv", movies_csv, "--lake", "s3://no-such-bucket/lake", *DATE)
    assert result.exit_code == 3
    assert "S3 bucket 'no-such-bucket' does not exist" in result.output
    assert "Traceback" not in result.output


def test_large_file_goes_to_s3_in_parts(invoke, bucket: str, s3, tmp_path: Path, movies_csv: Path) -> None:
    rows = movies_csv.read_text("utf-8").splitlines()[1:]
    big = tmp_path / "movies.csv"
    with open(big, "w", encoding="utf-8") as out:
        out.write(MOVIES.header + "\n")
        while big.stat().st_size < 11 << 20:
            out.write("\n".join(rows) + "\n")
            out.flush()
    config = tmp_path / "moviedl.toml"
    config.write_text("[s3]\nmultipart_threshold_mb = 5\npart_size_mb = 5\n")
    lake = f"s3://{bucket}/lake"
    result = invoke("ingest-csv", big, "--lake", lake, *DATE, "--config", config)
    assert result.exit_code == 0, result.output
    head = s3.head_object(Bucket=bucket, Key=f"lake/{MOVIES_KEY}")
    assert head["ETag"].strip('"').endswith("-3")
    assert head["ServerSideEncryption"] == "AES256"
    assert read_lake_object(lake, MOVIES_KEY, s3) == big.read_bytes()


def test_text_summary_shows_the_table(invoke, movies_csv: Path) -> None:
    result = invoke("ingest-csv", movies_csv, *DATE)
    assert result.exit_code == 0
    for word in ("file", "kind", "rows", "sha256", "destination", "status", "ingested"):
        assert word in result.stdout
    assert hashlib.sha256(movies_csv.read_bytes()).hexdigest()[:12] in result.stdout


def test_installed_command_runs_as_a_module_without_tracebacks(tmp_path: Path) -> None:
    version = subprocess.run([sys.executable, "-m", "moviedl", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("moviedl ")
    bad = tmp_path / "movies.csv"
    bad.write_text("a,b,c,d,e,f\n1,2,3,4,5,6\n")
    run = subprocess.run(
        [sys.executable, "-m", "moviedl", "ingest-csv", str(bad), "--lake", str(tmp_path / "lake")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert run.returncode == 2
    assert "comma-delimited" in run.stderr and "Traceback" not in run.stderr


# --- the longest line: recorded in the manifest, capped ----------------------------------------


def test_an_old_manifest_without_longest_line_loads_and_is_completed_on_reingest(
    invoke, movies_csv: Path, tmp_path: Path
) -> None:
    from moviedl.storage.local import LocalLake

    lake_dir = tmp_path / "lake"
    assert invoke("ingest-csv", movies_csv, "--lake", lake_dir, *DATE).exit_code == 0
    manifest_path = lake_dir / RawManifest.key_for(MOVIES_KEY)
    recorded = json.loads(manifest_path.read_text())
    old = {k: v for k, v in recorded.items() if k != "longest_line"}  # as an older version wrote it
    manifest_path.write_text(json.dumps(old))
    lake = LocalLake(str(lake_dir))
    assert read_manifest(lake, MOVIES_KEY).longest_line is None

    again = invoke("ingest-csv", movies_csv, "--lake", lake_dir, *DATE, "--format", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["rows"][0]["status"] == "skipped (identical)"
    assert json.loads(manifest_path.read_text()) == recorded  # only the missing field was added


@pytest.mark.parametrize("bad", ['"12"', "-1", "1.5", "true"])
def test_a_manifest_with_a_bad_longest_line_is_damaged(bad: str) -> None:
    from moviedl.core.errors import MoviedlError

    fields = {"key": "k", "kind": "movies", "sha256": "0" * 64, "size": 1, "rows": 1,
              "source_name": "movies.csv", "ingested_at": "2024-05-01T00:00:00+00:00", "tool_version": "1"}
    assert RawManifest.from_json(json.dumps(fields).encode(), "m").longest_line is None
    text = json.dumps(fields)[:-1] + f', "longest_line": {bad}}}'
    with pytest.raises(MoviedlError, match="longest_line"):
        RawManifest.from_json(text.encode(), "m")


# Rows as the challenge files have them: generoArtista is actor/actress.
ACTOR_ROWS = [
    "tt0000009|Miss Jerry|Miss Jerry|1894|45|Romance|5.3|207|actress|Miss Geraldine Holbrook (Miss Jerry)|Blanche Bayliss|1878|1951|actress|tt0000009",
    "tt0000009|Miss Jerry|Miss Jerry|1894|45|Romance|5.3|207|actor|Mr. Hamilton|William Courtenay|1875|1933|actor|tt0000009",
    "tt0000574|The Story of the Kelly Gang|The Story of the Kelly Gang|1906|70|Action,Adventure,Biography|6.0|855|actor|Ned Kelly|Frank Mills|\\N|\\N|actor|tt0000574",
    "tt0000574|The Story of the Kelly Gang|The Story of the Kelly Gang|1906|70|Action,Adventure,Biography|6.0|855|actress|Kate Kelly|Elizabeth Tait|1879|1962|actress|tt0000574",
]


def test_a_nul_byte_is_refused_naming_file_and_line_and_the_fix_works(invoke, tmp_path: Path) -> None:
    """A NUL byte used to pass into Parquet; now the file is refused (exit 2), nothing ingested,
    and the advice given (strip the NUL bytes) makes it ingestible."""
    rows = list(ACTOR_ROWS)
    rows[2] = rows[2].replace("Ned Kelly", "Ned\x00 Kelly")
    path = tmp_path / "movies.csv"
    path.write_bytes(("\n".join([MOVIES.header, *rows]) + "\n").encode())
    lake = tmp_path / "lake"

    result = invoke("ingest-csv", path, "--lake", lake, *DATE, "--format", "json")

    assert result.exit_code == 2, result.output
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem.startswith(f"{path} line 4: field 10 (personagem) holds a NUL byte (\\x00)")
    assert "tr -d '\\000'" in problem
    assert not (lake / "Raw").exists()
    check = json.loads(result.stdout)["checks"][0]
    assert check["expected"].startswith("UTF-8 text without NUL bytes, the movies.csv or series.csv header (docs/data-model.md)")
    assert "SPEC" not in result.output

    cleaned = tmp_path / "clean" / "movies.csv"
    cleaned.parent.mkdir()
    cleaned.write_bytes(subprocess.run(["tr", "-d", "\\000"], input=path.read_bytes(), capture_output=True, check=True).stdout)
    assert invoke("ingest-csv", cleaned, "--lake", lake, *DATE).exit_code == 0
    assert (lake / MOVIES_KEY).read_bytes().count(b"\n") == 5


def test_a_three_column_comma_file_of_actor_rows_is_diagnosed_by_its_delimiter(invoke, tmp_path: Path) -> None:
    path = tmp_path / "movies.csv"
    lines = ["id,tituloPincipal,anoLancamento", *(",".join(r.split("|")[i] for i in (0, 1, 3)) for r in ACTOR_ROWS)]
    path.write_text("\n".join(lines) + "\n", "utf-8")

    result = invoke("ingest-csv", path, "--lake", tmp_path / "lake", *DATE)

    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"{path} line 1: the header uses ',' as delimiter (comma-delimited); moviedl expects '|'" in message
    assert "missing tituloOriginal" in message and "missing id" not in message
    assert "Expected the movies.csv header (see docs/data-model.md)" in message
    assert "SPEC" not in message


# --- the local lake's kernel copy -------------------------------------------------------------


def _spy_copies(monkeypatch: pytest.MonkeyPatch, fail: Callable[[int], OSError | None] = lambda n: None) -> list[int]:
    """Count ``os.copy_file_range`` calls (the real one runs), or make call ``n`` fail."""
    calls: list[int] = []
    real = os.copy_file_range

    def copy(src: int, dst: int, count: int, *args: int) -> int:
        calls.append(count)
        error = fail(len(calls))
        if error is not None:
            raise error
        return real(src, dst, count, *args)

    monkeypatch.setattr(os, "copy_file_range", copy)
    return calls


def test_a_local_lake_gets_the_file_copied_by_the_kernel_and_verified(
    invoke, tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "_KERNEL_COPY_STEP", 4096)  # many steps, on the copy's thread
    calls = _spy_copies(monkeypatch)
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", movies_csv, "--lake", lake, *DATE, "--format", "json")
    assert result.exit_code == 0, result.output
    assert (lake / MOVIES_KEY).read_bytes() == movies_csv.read_bytes()
    assert len(calls) > movies_csv.stat().st_size // 4096  # the bytes went through the kernel
    assert not list((lake / "_moviedl" / "tmp").iterdir())


def test_where_the_kernel_cannot_copy_the_bytes_are_written_from_python(
    invoke, tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another file system, an old kernel: copy_file_range refuses on the first bytes."""
    calls = _spy_copies(monkeypatch, lambda n: OSError(errno.EXDEV, "Invalid cross-device link"))
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", movies_csv, "--lake", lake, *DATE)
    assert result.exit_code == 0, result.output
    assert calls and (lake / MOVIES_KEY).read_bytes() == movies_csv.read_bytes()


def test_without_copy_file_range_macos_and_windows_write_the_bytes_from_python(
    invoke, tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "copy_file_range", raising=False)
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", movies_csv, "--lake", lake, *DATE)
    assert result.exit_code == 0, result.output
    assert (lake / MOVIES_KEY).read_bytes() == movies_csv.read_bytes()


def test_a_disk_filling_up_during_the_kernel_copy_publishes_nothing(
    invoke, tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "_KERNEL_COPY_STEP", 4096)
    _spy_copies(monkeypatch, lambda n: OSError(errno.ENOSPC, "No space left on device") if n == 5 else None)
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", movies_csv, "--lake", lake, *DATE)
    assert result.exit_code == 3, result.output
    assert "no space left on device" in result.output
    assert not (lake / MOVIES_KEY).exists()
    assert not list((lake / "_moviedl" / "tmp").iterdir())


def test_a_source_changed_while_it_is_copied_fails_verification_and_publishes_nothing(
    invoke, tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks read one version of the file, the kernel copies another: the stored copy's
    SHA-256 is not the checked bytes', so it is not published."""
    source = tmp_path / "movies.csv"
    source.write_bytes(movies_csv.read_bytes())
    edited = movies_csv.read_bytes().replace(b"|1994|", b"|1995|", 1)
    assert edited != movies_csv.read_bytes()

    def edit_first(n: int) -> None:
        if n == 1:  # after the checks read the (one-chunk) file, before the kernel copies it
            source.write_bytes(edited)

    _spy_copies(monkeypatch, edit_first)
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", source, "--lake", lake, *DATE)
    assert result.exit_code == 3, result.output
    assert "verification failed" in result.output
    assert not (lake / MOVIES_KEY).exists()


def test_a_sync_failing_after_the_kernel_copy_publishes_nothing(
    invoke, tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy's thread syncs and reads back the stored file beside the checks: an I/O error
    there is the command's one error, with nothing published and no temporary file left."""
    real = os.fsync
    synced: list[str] = []

    def fsync(fd: int) -> None:
        synced.append(threading.current_thread().name)
        if threading.current_thread().name == "moviedl-kernel-copy":
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    lake = tmp_path / "lake"
    result = invoke("ingest-csv", movies_csv, "--lake", lake, *DATE)
    assert "moviedl-kernel-copy" in synced
    assert result.exit_code == 3, result.output  # the machine failing (SPEC "Exit codes")
    assert "cannot write to the lake folder" in result.output
    assert "input/output error (the disk or the file system under it failed)" in result.output
    assert "Traceback" not in result.output
    assert not (lake / MOVIES_KEY).exists()
    assert not list((lake / "_moviedl" / "tmp").iterdir())


def test_stopping_during_the_read_back_stops_the_copys_thread_and_leaves_no_file(
    tmp_path: Path, movies_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (an abort) while the stored copy is read back: the thread stops at its next
    chunk instead of reading a large file to the end, and the temporary file is removed."""
    monkeypatch.setattr(files, "CHUNK_SIZE", 64)
    size = movies_csv.stat().st_size
    assert size // 64 > 100  # a read-back of many chunks, each taking 10 ms below
    reading = threading.Event()
    chunks: list[int] = []
    real_sha256 = files.hashlib.sha256

    class SlowDigest:
        def __init__(self) -> None:
            self._digest = real_sha256()

        def update(self, data: bytes) -> None:
            chunks.append(len(data))
            reading.set()
            time.sleep(0.01)
            self._digest.update(data)

        def hexdigest(self) -> str:
            return self._digest.hexdigest()

    monkeypatch.setattr(files.hashlib, "sha256", SlowDigest)
    upload = local.LocalLake(tmp_path / "lake").begin_upload(MOVIES_KEY)
    upload.copy_from(movies_csv)
    assert reading.wait(5)  # the copy is done and its read-back has begun
    upload.abort()
    assert len(chunks) < size // 64 // 2  # stopped, not read to the end
    assert not list((tmp_path / "lake" / "_moviedl" / "tmp").iterdir())
