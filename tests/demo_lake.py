"""The demo lake behind the report screenshots in docs/: the bundled samples, enriched from the
fake TMDB server with varied (synthetic) budgets, revenues and languages.

    python3 -m tests.demo_lake DIR        # builds DIR/lake and writes DIR/report.html

then ``python3 -m tests.regenerate_screenshots DIR/report.html`` writes docs/report-*.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from moviedl.cli import app
from tests.conftest import SAMPLE_DATE, SAMPLES, no_settings
from tests.fake_tmdb import API_KEY, FakeTmdb


def build(root: Path) -> Path:
    """Ingest, enrich and refine the samples into ``root/lake``; write ``root/report.html``."""
    lake = root / "lake"
    runner = CliRunner()
    with no_settings() as env, FakeTmdb(varied=True) as tmdb:
        env.setenv("MOVIEDL_TMDB_BASE_URL", tmdb.url)
        env.setenv("TMDB_API_KEY", API_KEY)
        tmdb.tv_ids.update(line.split("|", 1)[0] for line in (SAMPLES / "series.csv").read_text("utf-8").splitlines()[1:])
        for args in (
            ["ingest-csv", str(SAMPLES / "movies.csv"), str(SAMPLES / "series.csv")],
            ["ingest-tmdb"],
            ["refine"],
            ["report", "-o", str(root / "report.html")],
        ):
            result = runner.invoke(app, [*args, "--lake", str(lake), "--date", SAMPLE_DATE, "--quiet"])
            assert result.exit_code == 0, (args, result.output)
    return root / "report.html"


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo")))
