"""``ingest-csv``: check source CSVs and copy them, unchanged and verified, into the Raw zone.

All or nothing per invocation: every file is read once, checked while it streams into a staging
area no reader looks at (see :mod:`moviedl.storage.lake`), and only when *every* file passed (and none
conflicts with what the lake already holds) are they published, each verified against its
SHA-256, with a manifest recording size, hash, row count and longest line (refine sizes its CSV
reader by it). A line over :data:`moviedl.checks.csv_file.MAX_LINE_BYTES` is refused like any other
bad input: the file and line are named, exit 2, nothing is ingested.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from moviedl import __version__
from moviedl.checks.csv_file import CsvInspector, CsvReport
from moviedl.core import progress
from moviedl.core.config import Settings
from moviedl.core.errors import ExitCode
from moviedl.core.summary import Check, Status, Summary
from moviedl.storage.files import CHUNK_SIZE
from moviedl.storage.lake import Lake, Upload
from moviedl.storage.manifest import RawManifest, read_manifest, write_manifest

FILE_COLUMNS = ["file", "kind", "rows", "bytes", "sha256", "destination", "status"]


class _NullUpload(Upload):
    """Counts and hashes, writes nothing: ``--dry-run``."""

    def _write(self, data: bytes) -> None:
        pass

    def _commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


@dataclass
class _FileWork:
    path: Path
    report: CsvReport
    upload: Upload | None = None
    key: str | None = None
    status: str = "invalid"
    problems: list[str] = field(default_factory=list)

    def row(self, lake: Lake) -> dict[str, object]:
        sha = self.upload.sha256 if self.upload and not self.problems else None
        return {
            "file": str(self.path),
            "kind": self.report.kind.name if self.report.kind else None,
            "rows": self.report.rows if self.report.kind else None,
            "bytes": self.report.bytes,
            "sha256": sha,
            "destination": lake.uri_of(self.key) if self.key else None,
            "status": self.status,
        }


def ingest_csv(
    settings: Settings,
    lake: Lake,
    files: Sequence[str | Path],
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> Summary:
    """Check ``files`` and copy them into ``Raw/Local/CSV/<Kind>/YYYY/MM/DD/<kind>.csv``."""
    summary = Summary("ingest-csv", lake.uri, settings.date.isoformat(), FILE_COLUMNS)
    if not dry_run:
        lake.check()
    work: list[_FileWork] = []
    try:
        for path in map(Path, files):
            progress.activity(f"checking and copying {path.name}")
            item = _stage(path, lake, settings.date, dry_run, on_bytes)
            work.append(item)
            if item.report.kind and any(
                other is not item and other.report.kind is item.report.kind for other in work
            ):
                item.status = "invalid"
                item.problems.append(
                    f"{path}: a second {item.report.kind.name} file in one run; "
                    f"a date holds one {item.report.kind.file_name}"
                )
            elif not item.problems:
                _compare_with_lake(item, lake, overwrite)
        blocked = any(item.problems for item in work)
        for item in work:
            if item.status in ("new", "replace"):
                if blocked:
                    item.status = "not ingested"
                elif dry_run:
                    item.status = f"would {'ingest' if item.status == 'new' else 'overwrite'}"
                else:
                    _publish(item, lake)
            elif item.status == "identical":
                item.status = "would skip" if dry_run else "skipped (identical)"
                if not dry_run:
                    _ensure_manifest(item, lake)
    finally:
        for item in work:
            if item.upload is not None and item.status not in ("ingested", "overwritten"):
                item.upload.abort()

    for item in work:
        summary.rows.append(item.row(lake))
        summary.problems.extend(item.problems)
        summary.notes.extend(f"{item.path}: {note}" for note in item.report.notes)
        summary.checks.append(
            Check(
                "source file valid",
                str(item.path),
                "; ".join(item.problems) or f"{item.report.rows} rows",
                Status.FAIL if item.problems else Status.PASS,
                "UTF-8 text without NUL bytes, the movies.csv or series.csv header "
                "(docs/data-model.md), '|' delimiter, same field count on every row, ≥ 1 row",
            )
        )
        if item.status in ("ingested", "overwritten"):
            summary.checks.append(
                Check("stored copy verified", lake.uri_of(item.key or ""), "size and sha256 match",
                      Status.PASS, "size and SHA-256 equal the source")
            )
    statuses = [item.status for item in work]
    summary.counts = {
        "files": len(work),
        "rows_read": sum(item.report.rows for item in work),
        "bytes_read": sum(item.report.bytes for item in work),
        "written": sum(s in ("ingested", "overwritten") for s in statuses),
        "skipped": sum(s.startswith("skipped") or s == "would skip" for s in statuses),
        "failed": sum(bool(item.problems) for item in work),
    }
    if any(item.problems for item in work):
        summary.fail(ExitCode.BAD_INPUT)
    return summary


def _stage(
    path: Path, lake: Lake, date: dt.date, dry_run: bool, on_bytes: Callable[[int], None] | None
) -> _FileWork:
    """Read ``path`` once: check it and stream it into a staged (invisible) upload."""
    inspector = CsvInspector(str(path))
    item = _FileWork(path, inspector.report)
    try:
        source = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        item.problems.append(f"{path}: no such file")
        item.status = "missing"
        return item
    except IsADirectoryError:
        item.problems.append(f"{path}: is a folder, not a CSV file")
        return item
    except OSError as exc:
        item.problems.append(f"{path}: cannot be read ({exc.strerror})")
        return item
    report = inspector.report

    def open_upload() -> Upload:
        if report.problems or report.kind is None:
            return _NullUpload(lake, "")
        item.key = report.kind.raw_key(date)
        return _NullUpload(lake, item.key) if dry_run else lake.begin_upload(item.key)

    with source, _aborted_on_error(item):
        feeder: _Feeder | None = None
        try:
            while chunk := source.read(CHUNK_SIZE):
                inspector.feed(chunk)  # the first chunk settles the kind, hence the destination
                if feeder is None:
                    upload = item.upload = open_upload()
                    upload.copy_from(path)  # a local lake: the kernel copies, write only hashes
                    feeder = _Feeder(upload)
                elif report.problems and not isinstance(feeder.upload, _NullUpload):
                    feeder.close()
                    feeder.upload.abort()  # stop copying a file that is already refused
                    feeder = _Feeder(_NullUpload(lake, ""))
                    item.upload = feeder.upload
                feeder.put(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
            if feeder is not None:
                feeder.close()
        finally:
            if feeder is not None:
                feeder.close(raising=False)
    inspector.finish()
    if report.problems:
        item.problems.extend(report.problems)
        if item.upload is not None:
            item.upload.abort()
        item.upload = None
        item.key = None
    return item


class _Feeder:
    """Hands chunks to ``upload.write`` on a thread of its own: hashing and writing release the
    GIL, so they run beside the checks on the calling thread. Two chunks wait at most, so memory
    stays flat. A write's error is raised by the next :meth:`put` or by :meth:`close`."""

    def __init__(self, upload: Upload) -> None:
        self.upload = upload
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="moviedl-ingest-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.upload.write(chunk)
                except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
                    self._error = exc

    def put(self, chunk: bytes) -> None:
        self._raise()
        self._queue.put(chunk)

    def close(self, *, raising: bool = True) -> None:
        """Wait for the chunks handed over (once); raise a write's error unless ``raising`` is False."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
        if raising:
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


@contextlib.contextmanager
def _aborted_on_error(item: _FileWork) -> Iterator[None]:
    """A file whose copy fails half-way (disk full, S3 error) leaves no staged bytes behind."""
    try:
        yield
    except BaseException:
        if item.upload is not None:
            item.upload.abort()
        raise


def _compare_with_lake(item: _FileWork, lake: Lake, overwrite: bool) -> None:
    assert item.key and item.upload
    manifest = read_manifest(lake, item.key)
    stored_size = lake.size(item.key)
    if stored_size is None:
        item.status = "new"
        return
    existing = manifest.sha256 if manifest and manifest.size == stored_size else lake.sha256(item.key)
    if existing == item.upload.sha256:
        item.status = "identical"
    elif overwrite:
        item.status = "replace"
    else:
        item.status = "refused"
        item.problems.append(
            f"{item.path}: {lake.uri_of(item.key)} already holds different content "
            f"(sha256 {existing[:12]}, this file {item.upload.sha256[:12]}); Raw files are "
            "immutable: use --overwrite to replace it, or --date for another day"
        )


def _publish(item: _FileWork, lake: Lake) -> None:
    assert item.key and item.upload and item.report.kind
    replacing = item.status == "replace"
    item.upload.commit()
    item.status = "overwritten" if replacing else "ingested"
    _write_manifest(item, lake)


def _write_manifest(item: _FileWork, lake: Lake) -> None:
    assert item.key and item.upload and item.report.kind
    write_manifest(
        lake,
        RawManifest(
            key=item.key,
            kind=item.report.kind.name,
            sha256=item.upload.sha256,
            size=item.upload.size,
            rows=item.report.rows,
            source_name=item.path.name,
            ingested_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            tool_version=__version__,
            longest_line=item.report.longest_line,
        ),
    )


def _ensure_manifest(item: _FileWork, lake: Lake) -> None:
    """A skipped file whose manifest went missing (e.g. a crash after publishing) gets one; one
    written before manifests recorded ``longest_line`` gets it added, the rest kept as it was."""
    assert item.key
    manifest = read_manifest(lake, item.key)
    if manifest is None or manifest.sha256 != (item.upload.sha256 if item.upload else None):
        _write_manifest(item, lake)
    elif manifest.longest_line is None:
        write_manifest(lake, dataclasses.replace(manifest, longest_line=item.report.longest_line))
