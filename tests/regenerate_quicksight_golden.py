"""Regenerate tests/golden/quicksight_dashboard.json: the CreateDashboard request of
``moviedl quicksight deploy`` with the default settings (account 111122223333, us-east-1,
database moviedl, principal user/default/analyst).

    python -m tests.regenerate_quicksight_golden

Review the diff by hand before committing: it is the dashboard analysts get.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden" / "quicksight_dashboard.json"
PRINCIPAL = "arn:aws:quicksight:us-east-1:111122223333:user/default/analyst"


def dashboard_request() -> dict[str, Any]:
    from moviedl.core.config import load_settings
    from moviedl.stages.quicksight.deploy import requests, target

    settings = load_settings({"lake": "/unused"}, env={}, config_path="/dev/null")
    dashboard = requests(settings, target(settings, dry_run=True), PRINCIPAL)[-1]  # the placeholder account
    operation, body = dashboard.create
    assert operation == "create_dashboard"
    return json.loads(json.dumps(body))


def main() -> None:
    GOLDEN.write_text(json.dumps(dashboard_request(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
