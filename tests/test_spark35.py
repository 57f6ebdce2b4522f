"""The Spark test files pass on Spark 3.5 (AWS Glue 5.0's Spark) too, not only on the Spark 4 of
the test environment: tests/spark35.py runs them in a venv with requirements/spark35.lock, which
tests/conftest.py starts in the background as soon as this test is selected; this test, run
last, waits for it. Its log is kept (in a temporary folder) only when it fails; the message
names it.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests import spark35

pytestmark = [
    pytest.mark.spark,
    # Inside the Spark 3.5 run this test must never start another one (it is not collected
    # there anyway); clean_env removes MOVIEDL_* variables, so this is decided at import.
    pytest.mark.skipif(bool(os.environ.get(spark35.RUN_ENV)), reason="this is the Spark 3.5 run"),
]

#: the only skip expected on Spark 3.5: spark_ways' Spark-4 parametrisation of the 3.5 ways
EXPECTED_SKIP = "this is Spark 3.5: the 3.5 ways are the engine's own ways here"


def test_the_spark_files_pass_on_spark_3_5() -> None:
    run = spark35.background
    if run is None:
        pytest.skip("no Java runtime: the Spark files would skip on Spark 3.5 too")
    code = run.wait(spark35.TIMEOUT)
    text = run.log.read_text("utf-8", errors="replace")
    assert code == 0, f"the Spark 3.5 run exited {code}; its log, {run.log}, ends:\n{run.tail()}"
    summary = re.findall(r"^=* ?(\d+ \w+(?:, \d+ \w+)*) in [\d.]+s", text, re.M)
    assert summary, f"no pytest summary in {run.log}:\n{run.tail()}"
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary[-1])}
    assert counts.get("passed", 0) > 0, summary[-1]
    skips = re.findall(r"^SKIPPED \[(\d+)\] (\S+): (.*)$", text, re.M)
    unexpected = [f"{where}: {why}" for _, where, why in skips if why != EXPECTED_SKIP]
    assert not unexpected, f"Spark tests skipped on Spark 3.5 ({run.log}):\n" + "\n".join(unexpected)
    assert sum(int(n) for n, _, _ in skips) == counts.get("skipped", 0), run.tail()
    shutil.rmtree(run.log.parent, ignore_errors=True)  # kept only when the test fails
