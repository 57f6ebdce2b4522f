"""refine skips the tables whose inputs did not change since they were published (moviedl.stages.refine.fingerprints)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from moviedl.stages.refine.fingerprints import STATE_KEY

DAY, NEXT = "2024-05-01", "2024-05-02"
REFINED = ["dim_filmes", "dim_genero", "dim_artista", "fato_filme", "fato_elenco"]


def refine(invoke, lake: Path | str, *flags: object) -> dict[str, Any]:
    result = invoke("refine", "--lake", lake, "--format", "json", *flags)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def statuses(summary: dict[str, Any]) -> dict[str, str]:
    return {row["table"]: row["status"] for row in summary["rows"]}


def skipped(summary: dict[str, Any]) -> list[str]:
    notes = [n for n in summary["notes"] if n.startswith("inputs unchanged since the last publish")]
    return notes[0].split("skipped: ", 1)[1].split(" (refine --force", 1)[0].split(", ") if notes else []


def files(lake: Path) -> dict[str, int]:
    """Every Parquet file of the lake (versions included) with its modification time."""
    return {str(p.relative_to(lake)): p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}


def test_a_second_refine_with_nothing_new_skips_every_table(invoke, sample_lake: Path) -> None:
    first = refine(invoke, sample_lake, "--date", DAY, "--force")  # records the fingerprints
    before = files(sample_lake)
    again = refine(invoke, sample_lake)
    assert skipped(again) == ["trusted_movies dt=2024-05-01", "trusted_series dt=2024-05-01", *REFINED]
    assert set(statuses(again).values()) == {"unchanged"}
    assert files(sample_lake) == before  # nothing written, replaced or versioned
    # the summary still says what the lake holds
    rows = {row["table"]: row["rows_out"] for row in first["rows"]}
    assert {row["table"]: row["rows_out"] for row in again["rows"]} == rows
    assert again["counts"]["rows_out"] == first["counts"]["rows_out"] and again["counts"]["duplicates"] == 2


def test_a_new_date_builds_its_partitions_and_the_star_schema_again(invoke, sample_lake: Path, movies_csv: Path) -> None:
    refine(invoke, sample_lake, "--date", DAY, "--force")
    assert invoke("ingest-csv", movies_csv, "--lake", sample_lake, "--date", NEXT).exit_code == 0
    summary = refine(invoke, sample_lake)
    assert statuses(summary)[f"trusted_movies dt={NEXT}"] == "published"
    assert f"trusted_movies dt={DAY}" not in statuses(summary)  # an older date is not even looked at
    assert skipped(summary) == []
    assert all(statuses(summary)[t] in ("published", "unchanged") for t in REFINED)
    assert skipped(refine(invoke, sample_lake)) == [f"trusted_movies dt={NEXT}", *REFINED]


def test_a_replaced_raw_file_or_published_table_is_rebuilt(invoke, sample_lake: Path, tmp_path: Path, movies_csv: Path) -> None:
    refine(invoke, sample_lake, "--date", DAY, "--force")
    # The Raw file replaced (--overwrite): its Trusted partition is rebuilt, then Refined.
    fewer = tmp_path / "movies.csv"
    fewer.write_text("".join(movies_csv.read_text("utf-8").splitlines(keepends=True)[:-5]), "utf-8")
    assert invoke("ingest-csv", fewer, "--lake", sample_lake, "--date", DAY, "--overwrite").exit_code == 0
    summary = refine(invoke, sample_lake, "--date", DAY)
    assert statuses(summary)[f"trusted_movies dt={DAY}"] == "published"
    assert skipped(summary) == [f"trusted_series dt={DAY}"]
    assert statuses(summary)["fato_elenco"] == "published"

    # A published table deleted by hand: refine builds it again instead of trusting the record.
    (sample_lake / "Refined" / "DimGenero" / "data.parquet").unlink()
    summary = refine(invoke, sample_lake, "--date", DAY)
    assert statuses(summary)["dim_genero"] == "published"
    assert skipped(summary) == [f"trusted_movies dt={DAY}", f"trusted_series dt={DAY}"]


def test_force_and_changed_check_settings_rebuild(invoke, sample_lake: Path, clean_env: Path) -> None:
    refine(invoke, sample_lake, "--date", DAY, "--force")
    assert skipped(refine(invoke, sample_lake, "--force")) == []
    # The audit's thresholds decide what may be published: changing them re-checks everything.
    (clean_env / "moviedl.toml").write_text("[checks]\nquarantine_fail_share = 0.2\n")
    assert skipped(refine(invoke, sample_lake)) == []
    assert len(skipped(refine(invoke, sample_lake))) == 7


def test_an_unreadable_fingerprints_file_means_rebuild_not_failure(invoke, sample_lake: Path) -> None:
    refine(invoke, sample_lake, "--date", DAY, "--force")
    (sample_lake / STATE_KEY).write_text("{not json")
    summary = refine(invoke, sample_lake)
    assert skipped(summary) == [] and summary["exit_code"] == 0
    assert len(skipped(refine(invoke, sample_lake))) == 7  # and the file is good again


def test_a_failed_audit_records_nothing(invoke, sample_lake: Path, broken_writer) -> None:
    refine(invoke, sample_lake, "--date", DAY, "--force")
    state = (sample_lake / STATE_KEY).read_bytes()
    broken_writer("fato_elenco")  # a broken writer: the audit fails
    result = invoke("refine", "--lake", sample_lake, "--format", "json")
    assert result.exit_code == 1
    assert (sample_lake / STATE_KEY).read_bytes() == state


@pytest.mark.parametrize("lake_uri", ["s3"], indirect=True)
def test_on_s3_an_unchanged_lake_is_skipped_by_etag(invoke, lake_uri: str, movies_csv: Path, series_csv: Path) -> None:
    assert invoke("ingest-csv", movies_csv, series_csv, "--lake", lake_uri, "--date", DAY).exit_code == 0
    refine(invoke, lake_uri)
    assert len(skipped(refine(invoke, lake_uri))) == 7
