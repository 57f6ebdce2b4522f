"""The source-kind table: every per-kind fact other modules use derives from one row per kind."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest

from moviedl.core.contract import TRUSTED_CSV_TABLES, TRUSTED_TMDB_TABLES
from moviedl.core.sources import (
    BY_FOLDER,
    BY_MEDIA,
    KINDS,
    RAW_CSV_KEY,
    RAW_TMDB_FILE,
    RAW_TMDB_KEY,
    TRUSTED_KEY,
)
from moviedl.stages.refine.trusted import TMDB_SQL

DAY = dt.date(2024, 5, 1)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_keys_a_kind_writes_are_the_keys_every_reader_matches(kind) -> None:
    raw = RAW_CSV_KEY.match(kind.raw_key(DAY))
    assert raw is not None and raw.group(1) == kind.folder and raw.group(5) == kind.name

    tmdb = f"{kind.raw_tmdb_folder(DAY)}{kind.name}-20240501T101500Z-7f3a-00001.json"
    assert RAW_TMDB_KEY.match(tmdb) and RAW_TMDB_FILE.match(tmdb).group(1) == kind.folder

    for table in (TRUSTED_CSV_TABLES[kind.name], TRUSTED_TMDB_TABLES[kind.name]):
        assert table.folder.endswith(f"/{kind.folder}")
        trusted = TRUSTED_KEY.match(f"{table.folder}/dt=2024-05-01/data.parquet")
        assert trusted is not None and trusted.group(1) == table.folder


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_kind_has_its_typing_sql_and_its_tmdb_media_type(kind) -> None:
    assert (resources.files("moviedl") / "sql" / f"{TMDB_SQL[kind.folder]}.sql").is_file()
    assert BY_MEDIA[kind.tmdb_media] is kind and BY_FOLDER[kind.folder] is kind


def test_keys_of_no_kind_match_nothing() -> None:
    assert not RAW_CSV_KEY.match("Raw/Local/CSV/Shorts/2024/05/01/shorts.csv")
    assert not RAW_TMDB_KEY.match("Raw/TMDB/JSON/Movies/2024/05/01/notes.txt")
    assert not TRUSTED_KEY.match("Trusted/Local/Parquet/Shorts/dt=2024-05-01/data.parquet")
