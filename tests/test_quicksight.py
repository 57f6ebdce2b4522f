"""``moviedl quicksight``: the dashboard over Athena as code, against moto running as a server
(data sources, datasets, dashboards, ingestions) and, for what moto does not model (an existing
resource, a refused call, deletion), botocore's Stubber — every request checked against the
QuickSight service model either way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from moviedl import api
from moviedl.core.errors import ServiceError, UsageError
from moviedl.stages.catalog.views import load_views
from moviedl.stages.quicksight import deploy as qs
from moviedl.stages.quicksight.definition import PANELS
from moviedl.storage import open_lake
from tests.conftest import SAMPLE_DATE

GOLDEN = Path(__file__).resolve().parent / "golden" / "quicksight_dashboard.json"
PRINCIPAL = "arn:aws:quicksight:us-east-1:123456789012:user/default/analyst"
MODEL = botocore.session.get_session().get_service_model("quicksight")


def _valid(operation: str, body: dict[str, Any]) -> None:
    name = "".join(part.title() for part in operation.split("_"))
    validate_parameters(body, MODEL.operation_model(name).input_shape)  # raises on a malformed request


def test_dry_run_prints_every_request_and_calls_no_service(invoke, sample_lake: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a closed port: any call would fail
    before = sorted(p.name for p in sample_lake.rglob("*"))
    result = invoke("quicksight", "deploy", "--lake", sample_lake, "--principal", PRINCIPAL, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3 * (2 + len(load_views()))  # create, update, share: source, each view, dashboard
    for line in lines:
        _valid(line["operation"], line["request"])
    creates = [line["request"] for line in lines if line["operation"].startswith("create_")]
    assert creates[0]["Type"] == "ATHENA" and creates[0]["DataSourceParameters"]["AthenaParameters"]["WorkGroup"] == "primary"
    datasets = [c for c in creates if "DataSetId" in c]
    assert {d["PhysicalTableMap"]["view"]["RelationalTable"]["Name"] for d in datasets} == {v.name for v in load_views()}
    assert all(d["ImportMode"] == "DIRECT_QUERY" for d in datasets)
    dashboard = creates[-1]
    assert dashboard["Permissions"][0]["Principal"] == PRINCIPAL
    sheet = dashboard["Definition"]["Sheets"][0]
    assert len(sheet["Visuals"]) == len(PANELS) == 8
    assert {c[next(iter(c))]["SourceParameterName"] for c in sheet["ParameterControls"]} == {
        "genre", "titleType", "decadeFrom", "decadeTo", "minVotes"}
    assert sorted(p.name for p in sample_lake.rglob("*")) == before  # no state, no run record
    assert "moviedl quicksight deploy" in result.stderr  # the summary is on stderr: stdout is the requests


def test_the_dashboard_definition_matches_its_golden_file() -> None:
    """Regenerate with ``python -m tests.regenerate_quicksight_golden`` and review the diff."""
    from tests.regenerate_quicksight_golden import dashboard_request

    assert dashboard_request() == json.loads(GOLDEN.read_text())


def test_every_panel_shows_its_n_and_every_rate_is_a_ratio_of_sums() -> None:
    from tests.regenerate_quicksight_golden import dashboard_request

    visuals = dashboard_request()["Definition"]["Sheets"][0]["Visuals"]
    for visual in visuals:
        kind, body = next(iter(visual.items()))
        text = json.dumps(body)
        panel = next(p for p in PANELS if p.id == body["VisualId"])
        assert f'"{panel.view}.{panel.n}"' in text, (panel.title, "n not shown")
    calculated = dashboard_request()["Definition"]["CalculatedFields"]
    assert all(field["Expression"].count("sum(") == 2 and "avg(" not in field["Expression"] for field in calculated)


def test_a_malformed_visual_is_refused_before_any_call() -> None:
    settings = api.settings(lake="/unused")
    where = qs.Target("123456789012", "us-east-1", "moviedl", "moviedl", "primary", False)
    planned = qs.requests(settings, where, PRINCIPAL)
    dashboard = planned[-1].create[1]
    del dashboard["Definition"]["Sheets"][0]["Visuals"][0]["HeatMapVisual"]["VisualId"]
    with pytest.raises(UsageError, match="does not fit QuickSight's API"):
        qs._validate(planned)


def test_a_principal_is_required_and_must_be_a_quicksight_arn(invoke, sample_lake: Path) -> None:
    missing = invoke("quicksight", "deploy", "--lake", sample_lake, "--dry-run")
    assert missing.exit_code == 2 and "--principal ARN" in missing.stderr
    wrong = invoke("quicksight", "deploy", "--lake", sample_lake, "--dry-run", "--principal", "analyst@example.com")
    assert wrong.exit_code == 2 and "is not a QuickSight user or group ARN" in wrong.stderr


# --- against moto running as a server ---------------------------------------------------------


@pytest.fixture
def database(clean_env: Path, bucket: str) -> str:
    """An Athena database of this test's own (the moto server lives for the session), set in
    the working folder's moviedl.toml; the resources' ids derive from it."""
    name = f"moviedl_{bucket[-12:]}"
    (clean_env / "moviedl.toml").write_text(f'[athena]\ndatabase = "{name}"\n')
    boto3.client("glue").create_database(DatabaseInput={"Name": name})
    return name


@pytest.fixture
def s3_lake(aws_env: str, bucket: str, database: str) -> str:
    """The sample refined into an S3 lake, with the views athena-ddl --execute would have made."""
    from tests.conftest import SAMPLES

    lake = f"s3://{bucket}/lake"
    settings = api.settings(lake=lake, date=SAMPLE_DATE)
    api.ingest_csv(settings, [SAMPLES / "movies.csv", SAMPLES / "series.csv"])
    api.refine(settings)
    for view in load_views():
        boto3.client("glue").create_table(DatabaseName=database, TableInput={"Name": view.name, "TableType": "VIRTUAL_VIEW"})
    return lake


def _ours(items: list[dict[str, Any]], key: str, database: str) -> list[str]:
    prefix = "moviedl-" + database.replace("_", "-").removeprefix("moviedl-")
    return [i[key] for i in items if i[key].startswith(prefix)]


def test_deploy_on_moto_creates_everything_and_a_second_deploy_duplicates_nothing(
    invoke, s3_lake: str, database: str
) -> None:
    client = boto3.client("quicksight")
    prefix = "moviedl-" + database.replace("_", "-").removeprefix("moviedl-")
    first = invoke("quicksight", "deploy", "--lake", s3_lake, "--principal", PRINCIPAL, "--format", "json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["counts"]["resources"] == 2 + len(load_views())
    sources = client.list_data_sources(AwsAccountId="123456789012")["DataSources"]
    assert _ours(sources, "DataSourceId", database) == [f"{prefix}-athena"]
    dashboard = client.describe_dashboard(AwsAccountId="123456789012", DashboardId=f"{prefix}-dashboard")["Dashboard"]
    assert dashboard["Name"] == f"moviedl: movies and series ({database})"
    state = json.loads(boto3.client("s3").get_object(Bucket=s3_lake[5:].split("/")[0],
                                                      Key="lake/_moviedl/quicksight.json")["Body"].read())
    assert state["resources"]["dashboard"] == [f"{prefix}-dashboard"]
    assert len(state["resources"]["dataset"]) == len(load_views())
    again = invoke("quicksight", "deploy", "--lake", s3_lake, "--principal", PRINCIPAL, "--format", "json")
    assert again.exit_code == 0, again.output
    assert _ours(client.list_data_sources(AwsAccountId="123456789012")["DataSources"], "DataSourceId", database) == [
        f"{prefix}-athena"]
    dashboards = client.list_dashboards(AwsAccountId="123456789012")["DashboardSummaryList"]
    assert _ours(dashboards, "DashboardId", database) == [f"{prefix}-dashboard"]


def test_deploy_without_the_views_says_to_run_athena_ddl(invoke, aws_env: str, bucket: str, database: str) -> None:
    from tests.conftest import SAMPLES

    lake = f"s3://{bucket}/lake"
    api.ingest_csv(api.settings(lake=lake, date=SAMPLE_DATE), [SAMPLES / "movies.csv"])
    result = invoke("quicksight", "deploy", "--lake", lake, "--principal", PRINCIPAL)
    assert result.exit_code == 2
    assert "lacks" in result.stderr and "moviedl athena-ddl --execute" in result.stderr
    sources = boto3.client("quicksight").list_data_sources(AwsAccountId="123456789012")["DataSources"]
    assert _ours(sources, "DataSourceId", database) == []  # nothing created


# --- what moto does not model: botocore's Stubber, with the service model's checks ----------------


@pytest.fixture
def stubbed(monkeypatch, tmp_path: Path):
    """deploy/status/remove on a local lake with a stubbed QuickSight client of account 123456789012."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = api.settings(lake=tmp_path / "lake", **{"aws.region": "us-east-1", "quicksight.account_id": "123456789012"})
    (tmp_path / "lake").mkdir()
    client = boto3.client("quicksight", region_name="us-east-1")
    glue = boto3.client("glue", region_name="us-east-1")
    stub, glue_stub = Stubber(client), Stubber(glue)
    monkeypatch.setattr(qs, "aws_client", lambda _settings, service: {"quicksight": client, "glue": glue}[service])
    with stub, glue_stub:
        yield settings, open_lake(settings), stub, glue_stub


def _views_present(glue_stub: Stubber) -> None:
    glue_stub.add_response("get_tables", {"TableList": [{"Name": v.name} for v in load_views()]},
                           {"DatabaseName": "moviedl"})


def test_an_existing_resource_is_updated_shared_and_the_dashboard_republished(stubbed) -> None:
    settings, lake, stub, glue_stub = stubbed
    _views_present(glue_stub)
    where = qs.target(settings)
    for request in qs.requests(settings, where, PRINCIPAL):
        stub.add_client_error(request.create[0], "ResourceExistsException", "exists", 409,
                              expected_params=request.create[1])
        answer = {"Status": 200, "VersionArn": f"{where.arn('dashboard', request.id)}/version/4"} \
            if request.kind == "dashboard" else {"Status": 200}
        stub.add_response(request.update[0], answer, request.update[1])
        if request.kind == "dashboard":
            stub.add_response("update_dashboard_published_version", {"Status": 200},
                              {"AwsAccountId": "123456789012", "DashboardId": request.id, "VersionNumber": 4})
        stub.add_response(request.permissions[0], {"Status": 200}, request.permissions[1])
        described = {"data source": ("describe_data_source", {"DataSource": {"Status": "UPDATE_SUCCESSFUL"}}),
                     "dataset": ("describe_data_set", {"DataSet": {}}),
                     "dashboard": ("describe_dashboard", {"Dashboard": {"Version": {"Status": "UPDATE_SUCCESSFUL"}}})}
        operation, body = described[request.kind]
        stub.add_response(operation, body)
        if request.kind == "dataset":
            stub.add_response("list_ingestions", {"Ingestions": []})
    summary = qs.deploy(settings, lake, qs.QuickSightOptions(principal=PRINCIPAL))
    stub.assert_no_pending_responses()
    assert {row["action"] for row in summary.rows} == {"updated"}
    assert summary.counts["updated"] == 2 + len(load_views())


@pytest.mark.parametrize(("code", "exit_code", "says"), [
    ("UnsupportedUserEditionException", 2, "QuickSight is not subscribed"),
    ("AccessDeniedException", 3, "moviedl-quicksight policy"),
    ("InvalidParameterValueException", 2, "does not know the principal"),
    ("ThrottlingException", 3, "QuickSight could not create data source"),
])
def test_a_refused_call_is_one_message_with_its_exit_code(stubbed, code: str, exit_code: int, says: str) -> None:
    settings, lake, stub, glue_stub = stubbed
    _views_present(glue_stub)
    message = "Principal arn:... is not found" if code == "InvalidParameterValueException" else "refused"
    stub.add_client_error("create_data_source", code, message, 400)
    with pytest.raises((ServiceError, UsageError)) as caught:
        qs.deploy(settings, lake, qs.QuickSightOptions(principal=PRINCIPAL))
    assert caught.value.exit_code == exit_code and says in caught.value.message


def test_a_failed_data_source_says_to_grant_quicksight_athena_access(stubbed) -> None:
    settings, lake, stub, glue_stub = stubbed
    _views_present(glue_stub)
    stub.add_response("create_data_source", {"Status": 202})
    stub.add_response("describe_data_source", {"DataSource": {"Status": "CREATION_FAILED"}})
    with pytest.raises(ServiceError, match="enable Amazon Athena"):
        qs.deploy(settings, lake, qs.QuickSightOptions(principal=PRINCIPAL))
    # what was created is recorded: remove finds it
    stub.add_response("delete_data_source", {"Status": 200},
                      {"AwsAccountId": "123456789012", "DataSourceId": "moviedl-athena"})
    removed = qs.remove(settings, lake)
    assert [(r["id"], r["action"]) for r in removed.rows] == [("moviedl-athena", "deleted")]
    assert not lake.exists(qs.STATE_KEY)


def test_remove_deletes_only_what_deploy_recorded_dashboard_first(stubbed) -> None:
    settings, lake, stub, _glue = stubbed
    where = qs.target(settings)
    qs._save_state(lake, {"data source": ["moviedl-athena"], "dataset": ["moviedl-v-top-rated"],
                          "dashboard": ["moviedl-dashboard"]}, where)
    stub.add_response("delete_dashboard", {"Status": 200}, {"AwsAccountId": "123456789012", "DashboardId": "moviedl-dashboard"})
    stub.add_client_error("delete_data_set", "ResourceNotFoundException", "gone", 404,
                          expected_params={"AwsAccountId": "123456789012", "DataSetId": "moviedl-v-top-rated"})
    stub.add_response("delete_data_source", {"Status": 200}, {"AwsAccountId": "123456789012", "DataSourceId": "moviedl-athena"})
    summary = qs.remove(settings, lake)
    stub.assert_no_pending_responses()
    assert [(r["kind"], r["action"]) for r in summary.rows] == [
        ("dashboard", "deleted"), ("dataset", "already gone"), ("data source", "deleted")]
    assert qs.remove(settings, lake).notes == ["nothing deployed from this lake: nothing to remove"]


def test_status_lists_each_resource_its_state_and_last_refresh(stubbed) -> None:
    settings, lake, stub, _glue = stubbed
    where = qs.target(settings)
    qs._save_state(lake, {"data source": ["moviedl-athena"], "dataset": ["moviedl-v-top-rated"],
                          "dashboard": ["moviedl-dashboard"]}, where)
    stub.add_response("describe_data_source", {"DataSource": {"Status": "CREATION_SUCCESSFUL"}})
    stub.add_response("describe_data_set", {"DataSet": {}})
    stub.add_response("list_ingestions", {"Ingestions": [
        {"Arn": "a", "IngestionStatus": "COMPLETED", "CreatedTime": "2024-05-01T02:00:00Z"},
        {"Arn": "b", "IngestionStatus": "FAILED", "CreatedTime": "2024-05-02T02:00:00Z"}]})
    stub.add_client_error("describe_dashboard", "ResourceNotFoundException", "no such dashboard", 404)
    summary = qs.status(settings, lake)
    rows = {r["id"]: r for r in summary.rows}
    assert rows["moviedl-athena"]["status"] == "CREATION_SUCCESSFUL"
    assert rows["moviedl-v-top-rated"]["last_refresh"].startswith("FAILED 2024-05-02")  # the newest
    assert rows["moviedl-dashboard"]["status"] == "missing"
    assert summary.checks[0].status.value == "warn" and "moviedl-dashboard" in summary.checks[0].observed


def test_run_refreshes_the_spice_datasets_after_publishing(invoke, s3_lake: str, database: str, clean_env: Path) -> None:
    from tests.conftest import SAMPLES

    config = clean_env / "moviedl.toml"
    config.write_text(f'[athena]\ndatabase = "{database}"\n[quicksight]\nmode = "spice"\n'
                      f'principal = "{PRINCIPAL}"\n[run]\nquicksight = true\n')
    deployed = invoke("quicksight", "deploy", "--lake", s3_lake, "--format", "json")
    assert deployed.exit_code == 0, deployed.output
    datasets = [r for r in json.loads(deployed.stdout)["rows"] if r["kind"] == "dataset"]
    result = invoke("run", SAMPLES / "movies.csv", "--lake", s3_lake, "--date", SAMPLE_DATE, "--format", "json")
    assert result.exit_code == 0, result.output
    (stage,) = [r for r in json.loads(result.stdout)["rows"] if r["stage"] == "quicksight"]
    assert len(datasets) == len(load_views())
    assert stage["status"] == "ok" and stage["counts"] == {"refreshed": len(datasets)}  # one ingestion each
    config.write_text(f'[athena]\ndatabase = "{database}"\n[run]\nquicksight = true\n')  # direct query
    direct = json.loads(invoke("run", "--lake", s3_lake, "--format", "json").stdout)
    (skipped,) = [r for r in direct["rows"] if r["stage"] == "quicksight"]
    assert skipped["status"] == "skipped" and "quicksight.mode is direct" in skipped["details"]
