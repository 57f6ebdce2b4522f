"""The project's own promises: CI runs exactly the README's test command, in a fresh virtual
environment, and that command installs the locked test environment."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def readme_commands() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text("utf-8")
    install_and_run, test_command = readme.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    return install_and_run, test_command


def test_ci_runs_the_readme_test_command_in_a_fresh_venv() -> None:
    install_and_run, test_command = readme_commands()
    assert "moviedl run" in install_and_run and "pytest" in test_command
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[-1] == test_command
    venv = next(i for i, line in enumerate(lines) if re.match(r"python3 -m venv ", line))
    activate = next(i for i, line in enumerate(lines) if line.startswith("source ") and "bin/activate" in line)
    assert venv < activate < len(lines) - 1
    assert "--system-site-packages" not in lines[venv]


def test_the_test_command_installs_from_the_lock_and_the_lock_pins_every_package() -> None:
    _, test_command = readme_commands()
    assert "-c requirements/test.lock '.[test]'" in test_command
    pins = [line for line in (ROOT / "requirements" / "test.lock").read_text("utf-8").splitlines()
            if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", pin) for pin in pins), pins
    names = {pin.split("==")[0].lower() for pin in pins}
    # the package's dependencies and the test tools are all pinned; moviedl itself is not
    assert {"boto3", "botocore", "duckdb", "pyarrow", "typer", "moto", "pytest", "ruff", "mypy", "pyspark"} <= names
    assert "moviedl" not in names


def test_the_spark35_lock_is_the_test_lock_but_for_pyspark_and_py4j() -> None:
    """The Spark 3.5 run must test the same environment as CI's, Spark aside: a test.lock
    refresh without regenerating spark35.lock (its header gives the command) fails here."""

    def pins(name: str) -> dict[str, str]:
        text = (ROOT / "requirements" / name).read_text("utf-8")
        return dict(line.split("==", 1) for line in text.splitlines() if line and not line.startswith("#"))

    test, spark35 = pins("test.lock"), pins("spark35.lock")
    assert spark35["pyspark"].startswith("3.5.") and test["pyspark"].split(".")[0] != "3"
    differ = sorted(name for name in test.keys() | spark35.keys() if test.get(name) != spark35.get(name))
    assert differ == ["py4j", "pyspark"]


def test_the_package_keeps_ranges_and_every_cap_names_its_break() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    for line in pyproject.splitlines():
        if re.match(r'\s*"[A-Za-z0-9_\-\[\]]+[<>=!~]', line):
            assert "==" not in line, line
            if "<" in line.split("#")[0]:
                assert "#" in line, f"an upper cap without its reason: {line}"
    # requirements/caps.txt: each block of caps comes with the comment that names its break
    blocks = (ROOT / "requirements" / "caps.txt").read_text("utf-8").split("\n\n")
    capped = [b for b in blocks if any(line and not line.startswith("#") for line in b.splitlines())]
    assert capped
    for block in capped:
        lines = block.strip().splitlines()
        assert lines[0].startswith("#") and all(line.startswith("#") or "<" in line for line in lines), block
