"""``--execute`` through Athena and ``--glue`` registration, against the moto server (and a fake
Athena for failures, which moto's Athena never produces)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests
from regenerate_ddl_golden import build_lake

from moviedl.core.config import load_settings
from moviedl.core.contract import TABLES
from moviedl.stages.catalog.ddl import Statement
from moviedl.stages.catalog.register import execute_in_athena

LOCATION = "s3://analytics-bucket/lake"


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return build_lake(tmp_path / "lake")


@pytest.fixture
def database() -> str:
    """A database name of its own per test: the moto server lives for the whole session."""
    return f"moviedl_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def glue(aws_env: str):
    return boto3.client("glue", endpoint_url=aws_env, region_name="us-east-1")


def require_moto_athena(endpoint: str):
    """An Athena client on the moto server, or a skip naming why moto cannot answer it: moto's
    server (5.2.6) speaks only Athena's JSON protocol, and botocore >= 1.44 sends rest-json. The
    locked test environment keeps a botocore < 1.44 (requirements/caps.txt), so CI runs these."""
    from botocore.exceptions import ClientError

    client = boto3.client("athena", endpoint_url=endpoint, region_name="us-east-1")
    try:
        client.list_work_groups()
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            import botocore

            pytest.skip(f"moto's server does not answer Athena's {athena_protocol()} protocol "
                        f"(botocore {botocore.__version__}); see requirements/caps.txt")
        raise
    return client


@pytest.fixture
def athena(aws_env: str):
    return require_moto_athena(aws_env)


@pytest.fixture
def stepped_athena(aws_env: str) -> Iterator[None]:
    """moto's Athena queries go QUEUED → RUNNING → SUCCEEDED over successive polls."""
    require_moto_athena(aws_env)
    moto_endpoint = aws_env
    url = f"{moto_endpoint}/moto-api/state-manager"
    model = "athena::execution"
    requests.post(f"{url}/set-transition", json={"model_name": model,
                                                 "transition": {"progression": "manual", "times": 2}}, timeout=5)
    yield
    requests.post(f"{url}/unset-transition", json={"model_name": model}, timeout=5)


# --- Athena ---------------------------------------------------------------------------------------


def test_execute_runs_every_statement_in_the_workgroup_and_reports_each_state(
    invoke, lake: Path, athena, database: str, clean_env: Path
) -> None:
    athena.create_work_group(Name="analytics", Configuration={})
    (clean_env / "moviedl.toml").write_text(
        '[athena]\nworkgroup = "analytics"\noutput_location = "s3://results-bucket/athena/"\n'
    )
    result = invoke("athena-ddl", "--lake", lake, "--location", LOCATION, "--database", database,
                    "--execute", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["executed"] == 30  # database, 9 tables, 4 projection updates, 16 views
    rows = {r["object"]: r for r in summary["rows"]}
    assert rows[database]["athena"] == "SUCCEEDED"
    assert rows[f"{database}.trusted_movies"]["athena"] == "SUCCEEDED; SUCCEEDED"  # CREATE, then ALTER
    assert rows[f"{database}.v_top_titles"]["athena"] == "SUCCEEDED"

    # what Athena received: our statements, in order, in the workgroup, with the result location
    received = []
    for query_id in rows[database]["query_ids"] + rows[f"{database}.v_top_titles"]["query_ids"]:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        received.append(execution)
    assert received[0]["Query"] == f"CREATE DATABASE IF NOT EXISTS `{database}`"
    assert received[0]["WorkGroup"] == "analytics"
    assert received[0]["ResultConfiguration"]["OutputLocation"].startswith("s3://results-bucket/athena/")
    assert received[1]["Query"].startswith(f'CREATE OR REPLACE VIEW "{database}"."v_top_titles"')
    assert received[1]["QueryExecutionContext"]["Database"] == database


def test_execute_follows_each_query_through_its_states(aws_env: str, lake: Path, stepped_athena: None) -> None:
    settings = load_settings({"lake": str(lake), "aws.region": "us-east-1"})
    statements = [Statement("db", "database", "CREATE DATABASE IF NOT EXISTS `db`"),
                  Statement("db.t", "table", "CREATE EXTERNAL TABLE IF NOT EXISTS `db`.`t` (`a` int) "
                            "STORED AS PARQUET LOCATION 's3://b/t/'")]
    seen: list[str] = []
    runs = execute_in_athena(settings, "db", statements, poll_seconds=0.001,
                             on_state=lambda run: seen.append(f"{run.statement.object}:{run.state}"))
    assert [run.states for run in runs] == [["QUEUED", "RUNNING", "SUCCEEDED"]] * 2
    assert seen == ["db:QUEUED", "db:RUNNING", "db:SUCCEEDED", "db.t:QUEUED", "db.t:RUNNING", "db.t:SUCCEEDED"]


ATHENA_MODELS = Path(__file__).parent / "aws_models"  # botocore 1.44's Athena model (rest-json)


def athena_protocol() -> str:
    """The wire protocol of the Athena client botocore builds here ("json" or "rest-json")."""
    session = boto3.session.Session()  # a new one: boto3's default session keeps the models it loaded
    return session.client("athena", region_name="us-east-1").meta.service_model.protocol


class FakeAthena:
    """Speaks both of Athena's wire protocols, as AWS does: JSON (``X-Amz-Target``, botocore
    < 1.44) and rest-json (``POST /query-executions``, ``GET /query-executions/{id}``, botocore
    >= 1.44). Queries containing ``fail_on`` end FAILED with ``reason``; with ``refuse`` set,
    StartQueryExecution answers that error instead. ``protocols`` records what each request spoke."""

    def __init__(self, fail_on: str = "", reason: str = "", refuse: tuple[str, str] | None = None) -> None:
        self.fail_on, self.reason, self.refuse = fail_on, reason, refuse
        self.queries: dict[str, str] = {}
        self.protocols: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if "X-Amz-Target" in self.headers:
                    self.reply("json", *fake.answer(self.headers["X-Amz-Target"].split(".")[-1], body))
                elif self.path == "/query-executions":
                    self.reply("rest-json", *fake.answer("StartQueryExecution", body))
                else:
                    self.reply("rest-json", 404, {"__type": "UnknownOperationException", "Message": self.path})

            def do_GET(self) -> None:  # noqa: N802
                prefix = "/query-executions/"
                if self.path.startswith(prefix):
                    query_id = self.path[len(prefix):].split("?")[0]
                    self.reply("rest-json", *fake.answer("GetQueryExecution", {"QueryExecutionId": query_id}))
                else:
                    self.reply("rest-json", 404, {"__type": "UnknownOperationException", "Message": self.path})

            def reply(self, protocol: str, status: int, answer: dict) -> None:
                fake.protocols.append(protocol)
                if protocol == "rest-json" and status >= 400:  # the error code travels in a header
                    error_type = answer.pop("__type")
                    answer = {"message": answer["Message"]}
                data = json.dumps(answer).encode()
                self.send_response(status)
                if protocol == "json":
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                else:
                    self.send_header("Content-Type", "application/json")
                    if status >= 400:
                        self.send_header("x-amzn-ErrorType", error_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, action: str, body: dict) -> tuple[int, dict]:
        if action == "StartQueryExecution":
            if self.refuse:
                return 400, {"__type": self.refuse[0], "Message": self.refuse[1]}
            query_id = f"q-{len(self.queries) + 1}"
            self.queries[query_id] = body["QueryString"]
            return 200, {"QueryExecutionId": query_id}
        if action == "GetQueryExecution":
            query_id = body["QueryExecutionId"]
            failed = bool(self.fail_on) and self.fail_on in self.queries[query_id]
            status = {"State": "FAILED", "StateChangeReason": self.reason} if failed else {"State": "SUCCEEDED"}
            return 200, {"QueryExecution": {"QueryExecutionId": query_id, "Query": self.queries[query_id],
                                            "Status": status}}
        return 400, {"__type": "InvalidRequestException", "Message": f"unexpected {action}"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["installed-botocore", "botocore-1.44-model"])
def athena_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each Athena test twice: with the installed botocore's Athena model, and with botocore
    1.44's (rest-json), which a plain ``pip install moviedl`` brings. Returns the protocol."""
    if request.param == "botocore-1.44-model":
        monkeypatch.setenv("AWS_DATA_PATH", str(ATHENA_MODELS))  # the SDK's own model search path
    return athena_protocol()


@pytest.fixture
def fake_athena(aws_env: str, athena_model: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:
    started: list[FakeAthena] = []

    def start(**kwargs) -> FakeAthena:
        fake = FakeAthena(**kwargs)
        started.append(fake)
        monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", fake.url)
        return fake

    yield start
    for fake in started:
        # the model chosen is the protocol spoken: the 1.44 model's run must really be rest-json
        assert set(fake.protocols) == {athena_model}, (athena_model, set(fake.protocols))
        fake.close()


def test_every_request_validates_against_athenas_service_model(lake: Path, athena_model: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's Stubber on the client moviedl builds: each StartQueryExecution is exactly the
    statement in the workgroup with its context and result location, and every request (and the
    answers moviedl reads) validates against the model; the 1.44 model serialises it as rest-json."""
    from botocore.stub import Stubber

    from moviedl.stages.catalog.athena_ddl import DdlOptions, athena_ddl
    from moviedl.storage.aws import aws_client
    from moviedl.storage.local import LocalLake

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = load_settings({"lake": str(lake), "aws.region": "eu-west-1", "athena.workgroup": "analytics",
                              "athena.output_location": "s3://results-bucket/athena/"})
    statements = athena_ddl(settings, LocalLake(lake), DdlOptions(location=LOCATION)).statements
    assert len(statements) == 30

    athena = aws_client(settings, "athena")
    assert athena.meta.service_model.protocol == athena_model
    serialised: list[dict] = []  # each request as botocore put it on the wire

    class RecordingStubber(Stubber):
        def _get_response_handler(self, model, params, context, **kwargs):  # noqa: ANN001, ANN202
            if model.name == "StartQueryExecution":
                serialised.append(params)
            return super()._get_response_handler(model, params, context, **kwargs)

    with RecordingStubber(athena) as stub:
        for number, statement in enumerate(statements, 1):
            expected = {"QueryString": statement.sql, "WorkGroup": "analytics",
                        "ResultConfiguration": {"OutputLocation": "s3://results-bucket/athena/"}}
            if statement.kind != "database":
                expected["QueryExecutionContext"] = {"Database": "moviedl"}
            stub.add_response("start_query_execution", {"QueryExecutionId": f"q-{number}"}, expected)
            for state in ("RUNNING", "SUCCEEDED"):
                stub.add_response("get_query_execution", {"QueryExecution": {
                    "QueryExecutionId": f"q-{number}", "Query": statement.sql, "Status": {"State": state}}},
                    {"QueryExecutionId": f"q-{number}"})
        runs = execute_in_athena(settings, "moviedl", statements, athena=athena, poll_seconds=0.0)
        stub.assert_no_pending_responses()
    assert [run.states for run in runs] == [["RUNNING", "SUCCEEDED"]] * 30
    assert len(serialised) == 30
    if athena_model == "rest-json":  # the wire form a plain pip install sends today
        assert {(p["method"], p["url_path"]) for p in serialised} == {("POST", "/query-executions")}
    else:
        assert {p["headers"]["X-Amz-Target"] for p in serialised} == {"AmazonAthena.StartQueryExecution"}


def test_a_request_outside_the_model_is_refused_before_it_is_sent(athena_model: str) -> None:
    """The validation above can fail: botocore refuses a parameter the model does not know."""
    from botocore.exceptions import ParamValidationError
    from botocore.stub import Stubber

    athena = boto3.session.Session().client("athena", region_name="eu-west-1", aws_access_key_id="x",
                                            aws_secret_access_key="x")
    with Stubber(athena) as stub, pytest.raises(ParamValidationError, match="WorkGroupName"):
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
        athena.start_query_execution(QueryString="SELECT 1", WorkGroupName="analytics")


def test_a_failed_statement_stops_the_run_and_exits_3_with_athenas_reason(invoke, lake: Path, fake_athena) -> None:
    reason = ("Insufficient permissions to execute the query. User: arn:aws:iam::1:user/etl is not "
              "authorized to perform: glue:CreateTable on resource: table/moviedl/fato_filme")
    fake = fake_athena(fail_on="`fato_filme`", reason=reason)
    result = invoke("athena-ddl", "--lake", lake, "--location", LOCATION, "--execute", "--format", "json")
    assert result.exit_code == 3, result.output
    assert "moviedl.fato_filme ended FAILED" in result.stderr and "glue:CreateTable" in result.stderr
    summary = json.loads(result.stdout)
    rows = {r["object"]: r for r in summary["rows"]}
    assert rows["moviedl.dim_artista"]["athena"] == "SUCCEEDED"
    assert rows["moviedl.fato_filme"]["athena"] == "FAILED"
    assert rows["moviedl.fato_elenco"]["athena"] == "not run"  # nothing after the failure
    assert rows["moviedl.v_top_titles"]["athena"] == "not run"
    assert not any("fato_elenco" in q for q in fake.queries.values())


def test_athena_refusing_the_request_exits_3_with_its_message(invoke, lake: Path, fake_athena) -> None:
    fake_athena(refuse=("AccessDeniedException", "User is not authorized to perform: athena:StartQueryExecution"))
    result = invoke("athena-ddl", "--lake", lake, "--location", LOCATION, "--execute", "--format", "json")
    assert result.exit_code == 3
    message = " ".join(result.stderr.split())
    assert "athena:StartQueryExecution" in message and "--policy" in message
    assert "Traceback" not in result.output
    rows = {r["object"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["moviedl"]["athena"] == "ERROR" and rows["moviedl.dim_filmes"]["athena"] == "not run"


def test_no_result_location_says_which_setting_to_set(invoke, lake: Path, fake_athena) -> None:
    fake_athena(refuse=("InvalidRequestException", "No output location provided. An output location is "
                        "required either through the Workgroup result configuration setting or as an API input."))
    result = invoke("athena-ddl", "--lake", lake, "--location", LOCATION, "--execute")
    assert result.exit_code == 3 and "athena.output_location" in " ".join(result.stderr.split())


def test_athena_without_a_region_is_a_configuration_error(invoke, lake: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    result = invoke("athena-ddl", "--lake", lake, "--location", LOCATION, "--execute")
    assert result.exit_code == 2 and "AWS_REGION" in result.stderr


# --- Glue -----------------------------------------------------------------------------------------


def test_glue_registers_every_table_with_columns_partition_keys_and_projection(
    invoke, lake: Path, glue, database: str
) -> None:
    result = invoke("athena-ddl", "--lake", lake, "--location", LOCATION, "--database", database,
                    "--glue", "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["glue_created"] == 9
    assert glue.get_database(Name=database)["Database"]["Name"] == database
    names = sorted(t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"])
    assert names == sorted(TABLES)

    movies = glue.get_table(DatabaseName=database, Name="trusted_movies")["Table"]
    sd = movies["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]][:6] == [
        ("imdb_id", "string"), ("title", "string"), ("original_title", "string"), ("release_year", "int"),
        ("runtime_minutes", "int"), ("genres", "array<string>")]
    assert [(c["Name"], c["Type"]) for c in movies["PartitionKeys"]] == [("dt", "string")]
    assert sd["Location"] == f"{LOCATION}/Trusted/Local/Parquet/Movies/"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    params = movies["Parameters"]
    assert params["projection.enabled"] == "true" and params["projection.dt.type"] == "date"
    assert params["projection.dt.range"] == "2024-05-01,NOW" and params["projection.dt.format"] == "yyyy-MM-dd"
    assert params["storage.location.template"] == f"{LOCATION}/Trusted/Local/Parquet/Movies/dt=${{dt}}/"
    assert movies["TableType"] == "EXTERNAL_TABLE" and params["EXTERNAL"] == "TRUE"

    films = glue.get_table(DatabaseName=database, Name="dim_filmes")["Table"]
    assert films["PartitionKeys"] == [] and "projection.enabled" not in films["Parameters"]
    assert [c["Name"] for c in films["StorageDescriptor"]["Columns"]] == list(TABLES["dim_filmes"].column_names)


def test_glue_rerun_leaves_tables_alone_and_updates_what_changed(invoke, lake: Path, glue, database: str) -> None:
    args = ("athena-ddl", "--lake", lake, "--location", LOCATION, "--database", database, "--glue", "--format", "json")
    assert invoke(*args).exit_code == 0
    glue.update_table(DatabaseName=database, TableInput={  # someone added a parameter of their own
        **_input(glue.get_table(DatabaseName=database, Name="dim_genero")["Table"]),
        "Parameters": {**glue.get_table(DatabaseName=database, Name="dim_genero")["Table"]["Parameters"],
                       "owner_team": "bi"},
    })
    again = json.loads(invoke(*args).stdout)
    assert again["counts"]["glue_unchanged"] == 9 and again["counts"]["glue_created"] == 0

    # a back-filled earlier partition: the projection range must move
    import duckdb
    from regenerate_ddl_golden import write_parquet
    write_parquet(duckdb.connect(), TABLES["trusted_series"], [], lake / TABLES["trusted_series"].data_key("2023-01-15"))
    changed = json.loads(invoke(*args).stdout)
    rows = {r["object"]: r for r in changed["rows"]}
    assert rows[f"{database}.trusted_series"]["glue"] == "updated"
    assert rows[f"{database}.trusted_movies"]["glue"] == "unchanged"
    series = glue.get_table(DatabaseName=database, Name="trusted_series")["Table"]
    assert series["Parameters"]["projection.dt.range"] == "2023-01-15,NOW"
    assert glue.get_table(DatabaseName=database, Name="dim_genero")["Table"]["Parameters"]["owner_team"] == "bi"


def test_glue_updates_a_table_created_with_other_columns(invoke, lake: Path, glue, database: str) -> None:
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={
        "Name": "dim_genero", "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {"Columns": [{"Name": "partition_0", "Type": "string"}], "Location": "s3://old/"},
    })
    result = invoke("athena-ddl", "--lake", lake, "--location", LOCATION, "--database", database, "--glue",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["object"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows[database]["glue"] == "unchanged" and rows[f"{database}.dim_genero"]["glue"] == "updated"
    table = glue.get_table(DatabaseName=database, Name="dim_genero")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["genre_id", "genre"]
    assert table["StorageDescriptor"]["Location"] == f"{LOCATION}/Refined/DimGenero/"


def _input(table: dict) -> dict:
    keep = ("Name", "TableType", "StorageDescriptor", "PartitionKeys", "Parameters")
    return {k: table[k] for k in keep if k in table}
