"""``moviedl quicksight deploy|status|remove``: the QuickSight side of the lake, as code.

``deploy`` creates, or updates in place, for the configured account and region:

* an Athena data source over ``athena.workgroup``;
* one dataset per analysis view athena-ddl emits (``quicksight.mode``: ``direct`` queries
  Athena on each view of the dashboard, ``spice`` imports the data and is refreshed after each
  publish by ``run`` with ``run.quicksight = true``);
* the dashboard, built from :func:`~moviedl.stages.quicksight.definition.dashboard_definition`,
  published.

Ids derive from the Athena database (``moviedl-<database>-...``), so a second deploy updates
the same resources and never duplicates them; each is shared with ``quicksight.principal`` (a
QuickSight user or group ARN). What was deployed is recorded in the lake
(``_moviedl/quicksight.json``) so ``remove`` deletes only what moviedl created. ``--dry-run``
builds every request and prints its body, calling no AWS service.

Every request is checked against botocore's service model before it is sent (the client
validates parameters), so a malformed visual definition never reaches QuickSight.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moviedl.core.config import Settings
from moviedl.core.errors import ServiceError, UsageError
from moviedl.core.summary import Check, Status, Summary
from moviedl.stages.catalog.views import load_views
from moviedl.stages.quicksight.definition import DASHBOARD_VIEWS, dashboard_definition, view_columns
from moviedl.storage.aws import aws_client
from moviedl.storage.lake import STATE_PREFIX, Lake

STATE_KEY = f"{STATE_PREFIX}/quicksight.json"
COLUMNS = ["resource", "kind", "id", "action", "status"]
KINDS = ("data source", "dataset", "dashboard")  # the order of a deploy; remove goes backwards

#: what the principal may do with each kind of resource (QuickSight's owner permissions)
_OWNER = {
    "data source": ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions",
                    "quicksight:PassDataSource", "quicksight:UpdateDataSource", "quicksight:DeleteDataSource",
                    "quicksight:UpdateDataSourcePermissions"],
    "dataset": ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
                "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
                "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
                "quicksight:UpdateDataSetPermissions"],
    "dashboard": ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions",
                  "quicksight:UpdateDashboardPermissions", "quicksight:QueryDashboard",
                  "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
                  "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion"],
}
_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:\d{12}:(user|group)/[^/]+/.+$")


@dataclass(frozen=True)
class QuickSightOptions:
    principal: str | None = None  # overrides quicksight.principal
    dry_run: bool = False


@dataclass(frozen=True)
class Target:
    """Where the resources go and what they are called."""

    account: str
    region: str
    prefix: str  # moviedl-<database>
    database: str
    workgroup: str
    spice: bool

    def arn(self, kind: str, resource_id: str) -> str:
        return f"arn:aws:quicksight:{self.region}:{self.account}:{kind}/{resource_id}"

    @property
    def data_source_id(self) -> str:
        return f"{self.prefix}-athena"

    def dataset_id(self, view: str) -> str:
        return f"{self.prefix}-{view.replace('_', '-')}"

    @property
    def dashboard_id(self) -> str:
        return f"{self.prefix}-dashboard"


@dataclass(frozen=True)
class Request:
    """One QuickSight call: create it, or (when it exists) update it with ``update``."""

    kind: str  # data source, dataset, dashboard
    resource: str  # the view, "athena", "dashboard"
    id: str
    create: tuple[str, dict[str, Any]]
    update: tuple[str, dict[str, Any]]
    permissions: tuple[str, dict[str, Any]]


def _prefix(database: str) -> str:
    """``moviedl-<database>`` (``moviedl`` itself for the default database)."""
    name = re.sub(r"[^a-z0-9]+", "-", database.lower()).strip("-")
    return name if name.startswith("moviedl") else f"moviedl-{name}"


def target(settings: Settings, *, dry_run: bool = False) -> Target:
    """The account (``quicksight.account_id``, else the caller's, from STS; a placeholder in a dry
    run, which calls no service), the region (``aws.region``, else the SDK's) and the ids."""
    region = settings.aws_region
    account = settings.quicksight_account_id
    if not dry_run and (not account or not region):
        sts = aws_client(settings, "sts")
        region = region or sts.meta.region_name
        if not account:
            with _aws("find the AWS account (sts:GetCallerIdentity)"):
                account = sts.get_caller_identity()["Account"]
    return Target(account or "111122223333", region or "us-east-1", _prefix(settings.athena_database),
                  settings.athena_database, settings.athena_workgroup, settings.quicksight_mode == "spice")


def requests(settings: Settings, where: Target, principal: str) -> list[Request]:
    """Every create/update request of a deploy, in order: data source, datasets, dashboard."""
    columns = view_columns()
    permissions = {kind: [{"Principal": principal, "Actions": actions}] for kind, actions in _OWNER.items()}
    source_arn = where.arn("datasource", where.data_source_id)
    source = {"AwsAccountId": where.account, "DataSourceId": where.data_source_id,
              "Name": f"moviedl {where.database} (Athena)",
              "DataSourceParameters": {"AthenaParameters": {"WorkGroup": where.workgroup}}}
    found = [Request("data source", "athena", where.data_source_id,
                     ("create_data_source", {**source, "Type": "ATHENA", "Permissions": permissions["data source"]}),
                     ("update_data_source", source),
                     ("update_data_source_permissions", {"AwsAccountId": where.account, "DataSourceId": where.data_source_id,
                                                         "GrantPermissions": permissions["data source"]}))]
    for view in load_views():
        dataset = {
            "AwsAccountId": where.account, "DataSetId": where.dataset_id(view.name), "Name": f"moviedl {view.name}",
            "ImportMode": "SPICE" if where.spice else "DIRECT_QUERY",
            "PhysicalTableMap": {"view": {"RelationalTable": {
                "DataSourceArn": source_arn, "Catalog": "AwsDataCatalog", "Schema": where.database, "Name": view.name,
                "InputColumns": [{"Name": name, "Type": kind} for name, kind in columns[view.name]]}}},
        }
        found.append(Request("dataset", view.name, where.dataset_id(view.name),
                             ("create_data_set", {**dataset, "Permissions": permissions["dataset"]}),
                             ("update_data_set", dataset),
                             ("update_data_set_permissions", {"AwsAccountId": where.account,
                                                              "DataSetId": where.dataset_id(view.name),
                                                              "GrantPermissions": permissions["dataset"]})))
    arns = {view: where.arn("dataset", where.dataset_id(view)) for view in DASHBOARD_VIEWS}
    dashboard = {"AwsAccountId": where.account, "DashboardId": where.dashboard_id,
                 "Name": f"moviedl: movies and series ({where.database})",
                 "Definition": dashboard_definition(columns, arns),
                 "DashboardPublishOptions": {"AdHocFilteringOption": {"AvailabilityStatus": "ENABLED"},
                                             "ExportToCSVOption": {"AvailabilityStatus": "ENABLED"}}}
    found.append(Request("dashboard", "dashboard", where.dashboard_id,
                         ("create_dashboard", {**dashboard, "Permissions": permissions["dashboard"]}),
                         ("update_dashboard", dashboard),
                         ("update_dashboard_permissions", {"AwsAccountId": where.account,
                                                           "DashboardId": where.dashboard_id,
                                                           "GrantPermissions": permissions["dashboard"]})))
    return found


def deploy(settings: Settings, lake: Lake, options: QuickSightOptions) -> Summary:
    principal = options.principal or settings.quicksight_principal
    if not principal:
        raise UsageError("no QuickSight user or group to share the dashboard with: give --principal ARN "
                         "or set quicksight.principal (arn:aws:quicksight:REGION:ACCOUNT:user/default/NAME)")
    if not _PRINCIPAL.match(principal):
        raise UsageError(f"{principal!r} is not a QuickSight user or group ARN "
                         "(arn:aws:quicksight:REGION:ACCOUNT:user/NAMESPACE/NAME or .../group/NAMESPACE/NAME)")
    where = target(settings, dry_run=options.dry_run)
    planned = requests(settings, where, principal)
    summary = Summary("quicksight deploy", lake.uri, None, list(COLUMNS))
    if options.dry_run:
        _validate(planned)
        summary.output = "".join(json.dumps({"operation": op, "request": body}, sort_keys=True) + "\n"
                                 for r in planned for op, body in (r.create, r.update, r.permissions))
        summary.rows = [{"resource": r.resource, "kind": r.kind, "id": r.id, "action": "would create or update",
                         "status": "-"} for r in planned]
        summary.counts = {"resources": len(planned), "requests": 3 * len(planned)}
        summary.notes.append("dry run: no AWS service was called; every request was checked against the "
                             "QuickSight service model" + ("" if settings.quicksight_account_id else
                                                           "; the account id is a placeholder (set quicksight.account_id)"))
        return summary
    client = aws_client(settings, "quicksight")
    _require_views(settings, where)
    state = _load_state(lake)
    for request in planned:
        action = _create_or_update(client, request)
        state.setdefault(request.kind, [])
        if request.id not in state[request.kind]:
            state[request.kind].append(request.id)
        _save_state(lake, state, where)  # after each: a half-done deploy's remove still finds it
        status = _settled(client, where, request)
        summary.rows.append({"resource": request.resource, "kind": request.kind, "id": request.id,
                             "action": action, "status": status})
        if status.endswith("FAILED"):
            raise ServiceError(_failed_hint(request, status, where))
    summary.counts = {"resources": len(planned), "created": sum(r["action"] == "created" for r in summary.rows),
                      "updated": sum(r["action"] == "updated" for r in summary.rows)}
    summary.checks.append(Check("dashboard published", where.dashboard_id, summary.rows[-1]["status"], Status.PASS,
                                "the dashboard's latest version is published"))
    summary.notes.append(f"dashboard: https://{where.region}.quicksight.aws.amazon.com/sn/dashboards/{where.dashboard_id}"
                         f" (shared with {principal})")
    if where.spice:
        summary.notes.append("SPICE: the datasets import their data; run refreshes them after each publish "
                             "when run.quicksight = true")
    return summary


def refresh(settings: Settings, lake: Lake) -> Summary:
    """Start a SPICE ingestion of every dataset moviedl deployed (``run``'s quicksight stage)."""
    where = target(settings)
    client = aws_client(settings, "quicksight")
    summary = Summary("quicksight refresh", lake.uri, None, ["resource", "id", "ingestion", "status"])
    for dataset in _load_state(lake).get("dataset", []):
        ingestion = f"moviedl-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        with _aws(f"refresh dataset {dataset}"):
            answer = client.create_ingestion(AwsAccountId=where.account, DataSetId=dataset, IngestionId=ingestion)
        summary.rows.append({"resource": dataset, "id": dataset, "ingestion": ingestion,
                             "status": answer.get("IngestionStatus", "INITIALIZED")})
    summary.counts = {"refreshed": len(summary.rows)}
    return summary


def status(settings: Settings, lake: Lake) -> Summary:
    """Each resource moviedl deployed, its state, and each dataset's last SPICE ingestion."""
    where = target(settings)
    client = aws_client(settings, "quicksight")
    summary = Summary("quicksight status", lake.uri, None, ["resource", "kind", "id", "status", "last_refresh"])
    state = _load_state(lake)
    if not state:
        summary.notes.append("nothing deployed from this lake yet: moviedl quicksight deploy")
    for kind in KINDS:
        for resource_id in state.get(kind, []):
            summary.rows.append({"resource": resource_id.removeprefix(where.prefix + "-"), "kind": kind,
                                 "id": resource_id, **_describe(client, where, kind, resource_id)})
    missing = [r["id"] for r in summary.rows if r["status"] == "missing"]
    summary.counts = {"resources": len(summary.rows), "missing": len(missing)}
    if missing:
        summary.checks.append(Check("deployed", "quicksight", f"{len(missing)} missing: {', '.join(missing[:5])}",
                                    Status.WARN, "every resource deploy created exists; deploy again to restore"))
    return summary


def remove(settings: Settings, lake: Lake) -> Summary:
    """Delete what moviedl deployed (the lake's record says what), dashboard first."""
    where = target(settings)
    client = aws_client(settings, "quicksight")
    state = _load_state(lake)
    summary = Summary("quicksight remove", lake.uri, None, ["resource", "kind", "id", "action"])
    calls = {"dashboard": ("delete_dashboard", "DashboardId"), "dataset": ("delete_data_set", "DataSetId"),
             "data source": ("delete_data_source", "DataSourceId")}
    for kind in reversed(KINDS):
        operation, key = calls[kind]
        for resource_id in list(state.get(kind, [])):
            try:
                getattr(client, operation)(AwsAccountId=where.account, **{key: resource_id})
                action = "deleted"
            except Exception as exc:  # noqa: BLE001 - sorted below
                if _code(exc) != "ResourceNotFoundException":
                    raise ServiceError(f"QuickSight refused to delete {kind} {resource_id}: {_reason(exc)}; "
                                       "what was deleted before it is recorded, run remove again") from exc
                action = "already gone"
            state[kind].remove(resource_id)
            _save_state(lake, state, where)
            summary.rows.append({"resource": resource_id.removeprefix(where.prefix + "-"), "kind": kind,
                                 "id": resource_id, "action": action})
    if lake.exists(STATE_KEY):
        lake.delete(STATE_KEY)
    summary.counts = {"deleted": sum(r["action"] == "deleted" for r in summary.rows),
                      "already_gone": sum(r["action"] == "already gone" for r in summary.rows)}
    if not summary.rows:
        summary.notes.append("nothing deployed from this lake: nothing to remove")
    return summary


# --- the calls --------------------------------------------------------------------------------


def _validate(planned: list[Request]) -> None:
    """Check every request against the QuickSight service model, as the client does before sending."""
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    model = botocore.session.get_session().get_service_model("quicksight")
    for request in planned:
        for operation, body in (request.create, request.update, request.permissions):
            name = "".join(part.title() for part in operation.split("_"))
            try:
                validate_parameters(body, model.operation_model(name).input_shape)
            except ParamValidationError as exc:
                raise UsageError(f"the {request.kind} {request.id} request does not fit QuickSight's API: {exc}") from exc


def _create_or_update(client: Any, request: Request) -> str:
    operation, body = request.create
    try:
        with _aws(f"create {request.kind} {request.id}", frozenset({"ResourceExistsException"})):
            getattr(client, operation)(**body)
        return "created"
    except _Exists:
        pass
    operation, body = request.update
    with _aws(f"update {request.kind} {request.id}"):
        answer = getattr(client, operation)(**body)
    if request.kind == "dashboard":  # an update makes a new version: publish it
        version = int(str(answer.get("VersionArn", "/1")).rsplit("/", 1)[-1] or 1)
        with _aws(f"publish dashboard {request.id}"):
            client.update_dashboard_published_version(AwsAccountId=body["AwsAccountId"],
                                                      DashboardId=request.id, VersionNumber=version)
    operation, body = request.permissions
    with _aws(f"share {request.kind} {request.id}"):
        getattr(client, operation)(**body)
    return "updated"


def _settled(client: Any, where: Target, request: Request, seconds: float = 120.0) -> str:
    """The resource's status once QuickSight has finished creating or updating it."""
    deadline = time.monotonic() + seconds
    while True:
        found = _describe(client, where, request.kind, request.id)["status"]
        if not found.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return found
        time.sleep(2)


def _describe(client: Any, where: Target, kind: str, resource_id: str) -> dict[str, str]:
    try:
        if kind == "data source":
            answer = client.describe_data_source(AwsAccountId=where.account, DataSourceId=resource_id)["DataSource"]
            return {"status": answer.get("Status", "-"), "last_refresh": "-"}
        if kind == "dashboard":
            answer = client.describe_dashboard(AwsAccountId=where.account, DashboardId=resource_id)["Dashboard"]
            return {"status": answer.get("Version", {}).get("Status", "-"), "last_refresh": "-"}
        client.describe_data_set(AwsAccountId=where.account, DataSetId=resource_id)
        return {"status": "READY", "last_refresh": _last_ingestion(client, where, resource_id)}
    except Exception as exc:  # noqa: BLE001 - sorted below
        if _code(exc) == "ResourceNotFoundException":
            return {"status": "missing", "last_refresh": "-"}
        if _code(exc) in ("UnknownOperationException", "NotImplementedError", "404"):
            return {"status": "unknown (not described by this endpoint)", "last_refresh": "-"}
        raise ServiceError(f"QuickSight could not describe {kind} {resource_id}: {_reason(exc)}") from exc


def _last_ingestion(client: Any, where: Target, dataset: str) -> str:
    try:
        ingestions = client.list_ingestions(AwsAccountId=where.account, DataSetId=dataset).get("Ingestions", [])
    except Exception:  # noqa: BLE001 - a DIRECT_QUERY dataset has none; an older endpoint may not list them
        return "-"
    if not ingestions:
        return "-"
    last = max(ingestions, key=lambda i: str(i.get("CreatedTime", "")))
    return f"{last.get('IngestionStatus', '?')} {last.get('CreatedTime', '')}".strip()


def _require_views(settings: Settings, where: Target) -> None:
    """Every view the datasets read exists in the Athena database (athena-ddl --execute made them)."""
    glue = aws_client(settings, "glue")
    names: set[str] = set()
    with _aws(f"list the tables of the Glue database {where.database}"):
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=where.database):
            names |= {t["Name"] for t in page.get("TableList", [])}
    missing = [v.name for v in load_views() if v.name not in names]
    if missing:
        raise UsageError(f"the Athena database {where.database} lacks {len(missing)} view(s) the datasets read "
                         f"({', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}): run "
                         "'moviedl athena-ddl --execute' first, then deploy again")


def _failed_hint(request: Request, status: str, where: Target) -> str:
    if request.kind == "data source":
        return (f"the QuickSight data source {request.id} is {status}: QuickSight cannot reach Athena. In the "
                "QuickSight console: Manage QuickSight > Security & permissions > enable Amazon Athena and the "
                f"lake's S3 bucket, then deploy again (workgroup {where.workgroup})")
    return f"the QuickSight {request.kind} {request.id} is {status}; deploy again once the cause is fixed"


class _Exists(Exception):
    pass


@contextlib.contextmanager
def _aws(what: str, passthrough: frozenset[str] = frozenset()) -> Iterator[None]:
    """AWS errors as one message with the exit code (3; 2 for what the user must set up)."""
    try:
        yield
    except (ServiceError, UsageError):
        raise
    except Exception as exc:
        code = _code(exc)
        if code in passthrough:
            raise _Exists() from exc
        if code in ("UnsupportedUserEditionException", "UnsupportedPricingPlanException") or (
                code == "ResourceNotFoundException" and "account" in _reason(exc).lower()):
            raise UsageError(f"QuickSight is not subscribed (Enterprise edition) in this account and region: "
                             f"{_reason(exc)}. Subscribe once in the console (docs/quicksight.md), then "
                             "deploy again") from exc
        if code == "AccessDeniedException":
            raise ServiceError(f"AWS refused to {what}: {_reason(exc)}. Attach the moviedl-quicksight "
                               "policy of 'moviedl athena-ddl --policy' to the deploying principal") from exc
        if code == "InvalidParameterValueException" and "principal" in _reason(exc).lower():
            raise UsageError(f"QuickSight does not know the principal to share with: {_reason(exc)}; "
                             "check quicksight.principal (a user or group ARN of this account)") from exc
        raise ServiceError(f"QuickSight could not {what}: {_reason(exc)}") from exc


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return type(exc).__name__


def _reason(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Message"):
        return str(response["Error"]["Message"])
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# --- what was deployed, in the lake -------------------------------------------------------------


def _load_state(lake: Lake) -> dict[str, list[str]]:
    if not lake.exists(STATE_KEY):
        return {}
    try:
        data = json.loads(lake.read_bytes(STATE_KEY))
        return {str(k): [str(i) for i in v] for k, v in data.get("resources", {}).items() if isinstance(v, list)}
    except (ValueError, AttributeError):
        return {}


def _save_state(lake: Lake, state: dict[str, list[str]], where: Target) -> None:
    body = {"account": where.account, "region": where.region, "database": where.database, "resources": state}
    lake.write_bytes(STATE_KEY, json.dumps(body, indent=2, sort_keys=True).encode())
