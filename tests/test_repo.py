"""The project's own promises: CI runs exactly the README's test command."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    install_and_run, test_command = first_block
    assert "moviedl run" in install_and_run and "pytest" in test_command
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text("utf-8").splitlines() if line.startswith("python3")]
    assert ci_lines == [test_command]
