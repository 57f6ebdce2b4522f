"""Write aside, publish atomically, keep versions — on a local folder and on S3 (moto server)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from moviedl.core.contract import DIM_GENERO, TRUSTED_MOVIES
from moviedl.stages.refine.publish import (
    STAGING_PREFIX,
    VERSIONS_PREFIX,
    Publisher,
    Staged,
    Workspace,
    clean_stale_staging,
)
from moviedl.storage.lake import Lake
from tests.conftest import list_lake, read_lake_object
from tests.test_refine import lake_of, query

KEY = DIM_GENERO.data_key()


def stage(ws: Workspace, genres: list[str]) -> Staged:
    """A staged DimGenero holding ``genres``."""
    out = Staged(DIM_GENERO, None, ws.staged_path(KEY))
    duckdb.connect().execute(
        "COPY (SELECT CAST(i AS BIGINT) AS genre_id, g AS genre FROM "
        "(SELECT unnest($g) AS g, generate_subscripts($g, 1) AS i)) TO $p (FORMAT parquet)",
        {"g": genres, "p": str(out.path)},
    )
    return out


def publish(lake: Lake, genres: list[str], keep: int = 3) -> Staged:
    with Workspace(lake) as ws:
        out = stage(ws, genres)
        Publisher(lake, ws, keep_versions=keep).publish_all([out])
    return out


def published_genres(lake_uri: str, s3: Any) -> list[str]:
    return [g for (g,) in query(lake_uri, KEY, "SELECT genre FROM t ORDER BY genre_id", s3)]


def versions(lake_uri: str, s3: Any) -> list[str]:
    return list_lake(lake_uri, s3, f"{VERSIONS_PREFIX}/")


def test_publishing_replaces_the_file_and_keeps_the_previous_version(
    lake_uri: str, s3: Any
) -> None:
    lake = lake_of(lake_uri)
    first = publish(lake, ["Drama"])
    assert first.status == "published" and first.version is None
    assert published_genres(lake_uri, s3) == ["Drama"]
    old_bytes = read_lake_object(lake_uri, KEY, s3)

    second = publish(lake, ["Drama", "Comedy"])

    assert second.status == "published"
    assert published_genres(lake_uri, s3) == ["Drama", "Comedy"]
    assert versions(lake_uri, s3) == [second.version]
    assert second.version.startswith(f"{VERSIONS_PREFIX}/Refined/DimGenero/")  # type: ignore[union-attr]
    assert read_lake_object(lake_uri, second.version, s3) == old_bytes  # type: ignore[arg-type]
    assert [k for k in list_lake(lake_uri, s3) if k.startswith("Refined/")] == [KEY]
    assert not list_lake(lake_uri, s3, f"{STAGING_PREFIX}/")


def test_publishing_the_same_bytes_again_changes_nothing(lake_uri: str, s3: Any) -> None:
    lake = lake_of(lake_uri)
    publish(lake, ["Drama"])
    before = {k: read_lake_object(lake_uri, k, s3) for k in list_lake(lake_uri, s3)}
    again = publish(lake, ["Drama"])
    assert again.status == "unchanged"
    assert {k: read_lake_object(lake_uri, k, s3) for k in list_lake(lake_uri, s3)} == before


def test_only_the_newest_versions_are_kept(lake_uri: str, s3: Any) -> None:
    lake = lake_of(lake_uri)
    contents = [["A"], ["B"], ["C"], ["D"], ["E"]]
    for genres in contents:
        publish(lake, genres, keep=2)
    kept = versions(lake_uri, s3)
    assert len(kept) == 2
    assert [query(lake_uri, key, "SELECT genre FROM t", s3) for key in kept] == [[("C",)], [("D",)]]
    assert published_genres(lake_uri, s3) == ["E"]


def test_other_files_in_the_published_folder_go_once_the_new_file_is_in_place(
    lake_uri: str, s3: Any
) -> None:
    lake = lake_of(lake_uri)
    lake.write_bytes("Refined/DimGenero/part-00000-spark.parquet", b"left by another tool")
    lake.write_bytes("Refined/DimGenero/_SUCCESS", b"")
    out = publish(lake, ["Drama"])
    assert list_lake(lake_uri, s3, "Refined/") == ["Refined/DimGenero/_SUCCESS", KEY]
    assert any("part-00000-spark.parquet" in note for note in out.notes)


class Crash(Exception):
    pass


@pytest.mark.parametrize(
    ("point", "visible"),
    [
        ("staged", ["Drama"]),
        ("archived:dim_genero", ["Drama"]),
        ("switched:dim_genero", ["Drama", "Comedy"]),
    ],
)
def test_a_crash_at_any_step_leaves_the_old_or_the_new_version(
    point: str, visible: list[str], lake_uri: str, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = lake_of(lake_uri)
    publish(lake, ["Drama"])

    def hook(self: Publisher, at: str) -> None:
        if at == point:
            raise Crash(at)

    monkeypatch.setattr(Publisher, "_at_step", hook)
    ws = Workspace(lake)
    out = stage(ws, ["Drama", "Comedy"])
    with pytest.raises(Crash):
        Publisher(lake, ws).publish_all([out])
    assert published_genres(lake_uri, s3) == visible  # never a mix, never nothing
    assert [k for k in list_lake(lake_uri, s3) if k.startswith("Refined/")] == [KEY]

    monkeypatch.undo()
    again = publish(lake, ["Drama", "Comedy"])  # the re-run converges
    assert published_genres(lake_uri, s3) == ["Drama", "Comedy"]
    assert again.status == ("unchanged" if point.startswith("switched") else "published")
    ws.close()


def test_stale_staging_of_killed_runs_is_cleaned_but_not_a_running_one(
    lake_uri: str, s3: Any
) -> None:
    lake = lake_of(lake_uri)
    old_run = f"{dt.datetime.now(dt.UTC) - dt.timedelta(days=1):%Y%m%dT%H%M%S%fZ}-aaaaaa"
    new_run = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-bbbbbb"
    for run in (old_run, new_run):
        lake.write_bytes(f"{STAGING_PREFIX}/{run}/Refined/DimGenero/data.parquet", b"x")
    assert clean_stale_staging(lake, current_run="me") == 1
    assert list_lake(lake_uri, s3, f"{STAGING_PREFIX}/") == [
        f"{STAGING_PREFIX}/{new_run}/Refined/DimGenero/data.parquet"
    ]


def test_a_partition_and_its_quarantine_are_published_together(tmp_path: Path) -> None:
    lake = lake_of(str(tmp_path / "lake"))
    with Workspace(lake) as ws:
        out = Staged(
            TRUSTED_MOVIES,
            "2024-05-01",
            ws.staged_path(TRUSTED_MOVIES.data_key("2024-05-01")),
            quarantined=1,
        )
        out.path.write_bytes(b"PAR1 partition")
        out.quarantine_path = ws.staged_path(TRUSTED_MOVIES.quarantine_key("2024-05-01"))
        out.quarantine_path.write_bytes(b"PAR1 quarantine")
        Publisher(lake, ws).publish_all([out])
    assert list_lake(str(tmp_path / "lake")) == [
        "Trusted/Local/Parquet/Movies/dt=2024-05-01/data.parquet",
        "_moviedl/quarantine/Local/Movies/dt=2024-05-01/quarantine.parquet",
    ]


# --- the lake helpers publishing relies on -----------------------------------------------------


def test_lake_file_helpers(lake_uri: str, s3: Any, tmp_path: Path) -> None:
    lake = lake_of(lake_uri)
    source = tmp_path / "data.bin"
    source.write_bytes(b"0123456789" * 1000)

    sha = lake.upload_file(source, "A/one/data.bin")
    lake.copy("A/one/data.bin", "A/two/data.bin")
    lake.download("A/two/data.bin", tmp_path / "back" / "data.bin")

    assert (tmp_path / "back" / "data.bin").read_bytes() == source.read_bytes()
    assert lake.sha256("A/two/data.bin") == sha
    assert lake.folders("A/") == ["one", "two"]
    assert lake.folders("B/") == []
    assert lake.delete_prefix("A/one/") == 1
    assert list_lake(lake_uri, s3) == ["A/two/data.bin"]
    with pytest.raises(ValueError):
        lake.delete_prefix("A/two")
