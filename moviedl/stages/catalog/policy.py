"""Least-privilege IAM policies for the lake: the pipeline, its readers, and the Glue job.

* **pipeline** (the role or user that runs ``moviedl``): read and write its own lake prefixes,
  zone by zone (Raw is write-once: no delete), run its DDL in the configured Athena workgroup,
  create and update tables in its Glue database, use the KMS key when writes are encrypted with
  one.
  It may also deploy and start the ``moviedl glue-job`` job (``glue.job_name``) and pass it its
  role (``glue.role_arn``, to Glue only).
* **analyst** (a person, or the QuickSight service role): read the Refined prefix only, query
  through the Athena workgroup, read the Glue catalog entries, decrypt with the KMS key.
* **quicksight** (who runs ``moviedl quicksight``): its own QuickSight resources (``moviedl-*``)
  and sharing them; QuickSight itself reads Athena and S3 as its service role, which takes the
  **analyst** policy.
* **glue-job** (the IAM role the Glue job runs as): what ``moviedl refine`` needs in the lake
  (read Raw, write Trusted, Refined and ``_moviedl/``, which holds the job's script and wheel),
  write its CloudWatch logs under ``/aws-glue/``, and the KMS key. No Glue catalog rights: the
  job reads and writes files, it defines no tables.

Both come from the settings: the lake (or ``--location``) gives the bucket and prefix,
``athena.workgroup``/``athena.database``/``athena.output_location``/``aws.region`` and
``s3.kms_key_id``, ``glue.job_name`` and ``glue.role_arn`` the rest. The account id is ``*`` (the policy is attached in the account
that owns the resources; replace it to pin one account). ``docs/aws.md`` says where each goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moviedl.core.config import Settings
from moviedl.core.errors import UsageError
from moviedl.storage.lake import STATE_PREFIX

VERSION = "2012-10-17"
RAW, TRUSTED, REFINED = "Raw", "Trusted", "Refined"
_UPLOAD = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]


@dataclass(frozen=True)
class Scope:
    """What the policies are about."""

    bucket: str
    prefix: str  # the lake prefix in the bucket, no leading/trailing "/"; "" at the bucket root
    workgroup: str
    database: str
    region: str = "*"
    account: str = "*"
    partition: str = "aws"
    kms_key_id: str | None = None
    results: tuple[str, str] | None = None  # (bucket, prefix) of athena.output_location
    glue_job: str = "moviedl-refine"
    glue_role_arn: str | None = None  # None: the role is named like the policy, in any account


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise UsageError(f"{uri!r} is not an s3://bucket/prefix location")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def scope_for(settings: Settings, base: str, database: str) -> Scope:
    """The scope of the lake at ``base`` (``s3://bucket/prefix``) with the configured services."""
    bucket, prefix = split_s3(base)
    results = split_s3(settings.athena_output_location) if settings.athena_output_location else None
    kms = settings.s3_kms_key_id if settings.s3_sse == "aws:kms" else None
    return Scope(bucket, prefix, settings.athena_workgroup, database, settings.aws_region or "*",
                 kms_key_id=kms, results=results, glue_job=settings.glue_job_name,
                 glue_role_arn=settings.glue_role_arn)


#: The Glue job's role when ``glue.role_arn`` is not set: the name docs/scale.md creates it with.
DEFAULT_GLUE_ROLE = "moviedl-glue-job"


def policies(scope: Scope) -> dict[str, dict[str, Any]]:
    return {"moviedl-pipeline": pipeline_policy(scope), "moviedl-analyst": analyst_policy(scope),
            "moviedl-glue-job": glue_job_policy(scope), "moviedl-quicksight": quicksight_policy(scope)}


def quicksight_policy(s: Scope) -> dict[str, Any]:
    """Who runs ``moviedl quicksight deploy|status|remove``: its own QuickSight resources (ids
    ``moviedl-*``), sharing them with a user or group, the account id (STS) and the Glue catalog's
    view names. QuickSight reads Athena and S3 as its service role, which gets moviedl-analyst."""
    base = f"arn:{s.partition}:quicksight:{s.region}:{s.account}"
    return {"Version": VERSION, "Statement": [
        {
            "Sid": "QuickSightOwnResources",
            "Effect": "Allow",
            "Action": [f"quicksight:{verb}{thing}" for thing in ("DataSource", "DataSet", "Dashboard")
                       for verb in ("Create", "Update", "Delete", "Describe")]
            + ["quicksight:PassDataSource", "quicksight:PassDataSet", "quicksight:CreateIngestion",
               "quicksight:ListIngestions", "quicksight:DescribeIngestion", "quicksight:UpdateDashboardPublishedVersion",
               "quicksight:UpdateDataSourcePermissions", "quicksight:UpdateDataSetPermissions",
               "quicksight:UpdateDashboardPermissions", "quicksight:DescribeDataSourcePermissions",
               "quicksight:DescribeDataSetPermissions", "quicksight:DescribeDashboardPermissions"],
            "Resource": [f"{base}:datasource/moviedl-*", f"{base}:dataset/moviedl-*", f"{base}:dashboard/moviedl-*"],
        },
        {"Sid": "QuickSightPrincipals", "Effect": "Allow",
         "Action": ["quicksight:DescribeUser", "quicksight:DescribeGroup"], "Resource": f"{base}:*/default/*"},
        {"Sid": "WhoAmI", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"},
        {"Sid": "ViewNames", "Effect": "Allow", "Action": ["glue:GetTables", "glue:GetDatabase"],
         "Resource": _glue_resources(s)},
    ]}


# --- the policies ---------------------------------------------------------------------------------


def pipeline_policy(s: Scope) -> dict[str, Any]:
    statements = [
        {
            # IfExists: HeadBucket (moviedl checks the bucket before writing) has no prefix.
            "Sid": "LakeList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": _bucket(s, s.bucket),
            **_prefix_condition(s.prefix, "*", if_exists=True),
        },
        {
            "Sid": "RawWriteOnce",
            "Effect": "Allow",
            "Action": ["s3:GetObject", *_UPLOAD],
            "Resource": _objects(s, RAW),
        },
        {
            "Sid": "TrustedRefinedStateReadWrite",
            "Effect": "Allow",
            "Action": ["s3:GetObject", *_UPLOAD, "s3:DeleteObject"],
            "Resource": [_objects(s, TRUSTED), _objects(s, REFINED), _objects(s, STATE_PREFIX)],
        },
        {
            "Sid": "AthenaWorkgroup",
            "Effect": "Allow",
            "Action": ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                       "athena:StopQueryExecution", "athena:GetWorkGroup"],
            "Resource": _athena(s, f"workgroup/{s.workgroup}"),
        },
        {
            "Sid": "GlueDatabaseReadWrite",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:CreateDatabase", "glue:GetTable", "glue:GetTables",
                       "glue:CreateTable", "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions",
                       "glue:BatchGetPartition"],
            "Resource": _glue_resources(s),
        },
        {
            # glue-job deploy / start / status (the job's script and wheel go to _moviedl/glue/,
            # covered above).
            "Sid": "GlueJobDeployRun",
            "Effect": "Allow",
            "Action": ["glue:GetJob", "glue:CreateJob", "glue:UpdateJob", "glue:StartJobRun",
                       "glue:GetJobRun", "glue:GetJobRuns"],
            "Resource": f"arn:{s.partition}:glue:{s.region}:{s.account}:job/{s.glue_job}",
        },
        {
            "Sid": "GlueJobPassRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": _glue_role(s),
            "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
        },
        *_results_statements(s),
        *_kms_statements(s, ["kms:GenerateDataKey", "kms:Decrypt"]),
    ]
    return {"Version": VERSION, "Statement": statements}


def glue_job_policy(s: Scope) -> dict[str, Any]:
    """The Glue job's role: refine's reads and writes in the lake, its logs, the KMS key."""
    logs = f"arn:{s.partition}:logs:{s.region}:{s.account}:log-group:/aws-glue/*"
    statements = [
        {
            "Sid": "LakeList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": _bucket(s, s.bucket),
            **_prefix_condition(s.prefix, "*", if_exists=True),
        },
        # Refine reads Raw (written by ingest-csv / ingest-tmdb elsewhere), never writes it.
        {"Sid": "RawRead", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": _objects(s, RAW)},
        {
            # _moviedl/: staging, versions, lock, run records, and the job's script and wheel
            # (_moviedl/glue/), which Glue reads with this role.
            "Sid": "TrustedRefinedStateReadWrite",
            "Effect": "Allow",
            "Action": ["s3:GetObject", *_UPLOAD, "s3:DeleteObject"],
            "Resource": [_objects(s, TRUSTED), _objects(s, REFINED), _objects(s, STATE_PREFIX)],
        },
        {
            "Sid": "GlueJobLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [logs, f"{logs}:log-stream:*"],
        },
        *_kms_statements(s, ["kms:GenerateDataKey", "kms:Decrypt"]),
    ]
    return {"Version": VERSION, "Statement": statements}


def analyst_policy(s: Scope) -> dict[str, Any]:
    refined = _key(s.prefix, REFINED)
    statements = [
        {
            "Sid": "RefinedList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": _bucket(s, s.bucket),
            **_prefix_condition(refined, "*", if_exists=False),
        },
        {"Sid": "LakeBucketLocation", "Effect": "Allow", "Action": ["s3:GetBucketLocation"],
         "Resource": _bucket(s, s.bucket)},
        {"Sid": "RefinedRead", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": _objects(s, REFINED)},
        {
            "Sid": "AthenaQuery",
            "Effect": "Allow",
            "Action": ["athena:StartQueryExecution", "athena:StopQueryExecution",
                       "athena:GetQueryExecution", "athena:GetQueryResults",
                       "athena:GetQueryResultsStream", "athena:BatchGetQueryExecution",
                       "athena:ListQueryExecutions", "athena:GetWorkGroup"],
            "Resource": _athena(s, f"workgroup/{s.workgroup}"),
        },
        {
            "Sid": "AthenaCatalogBrowse",
            "Effect": "Allow",
            "Action": ["athena:GetDataCatalog", "athena:ListDatabases", "athena:GetDatabase",
                       "athena:ListTableMetadata", "athena:GetTableMetadata"],
            "Resource": _athena(s, "datacatalog/AwsDataCatalog"),
        },
        {"Sid": "AthenaList", "Effect": "Allow",
         "Action": ["athena:ListWorkGroups", "athena:ListDataCatalogs"], "Resource": "*"},
        {
            "Sid": "GlueRead",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
                       "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"],
            "Resource": _glue_resources(s),
        },
        *_results_statements(s),
        *_kms_statements(s, ["kms:Decrypt"]),
    ]
    return {"Version": VERSION, "Statement": statements}


# --- pieces ---------------------------------------------------------------------------------------


def _key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p)


def _bucket(s: Scope, bucket: str) -> str:
    return f"arn:{s.partition}:s3:::{bucket}"


def _objects(s: Scope, zone: str) -> str:
    return f"arn:{s.partition}:s3:::{s.bucket}/{_key(s.prefix, zone)}/*"


def _prefix_condition(prefix: str, suffix: str, *, if_exists: bool) -> dict[str, Any]:
    if not prefix:
        return {}
    operator = "StringLikeIfExists" if if_exists else "StringLike"
    return {"Condition": {operator: {"s3:prefix": [f"{prefix}/{suffix}"]}}}


def _athena(s: Scope, resource: str) -> str:
    return f"arn:{s.partition}:athena:{s.region}:{s.account}:{resource}"


def _glue_resources(s: Scope) -> list[str]:
    base = f"arn:{s.partition}:glue:{s.region}:{s.account}"
    # Athena also looks up the 'default' database (e.g. for CREATE DATABASE).
    return [f"{base}:catalog", f"{base}:database/{s.database}", f"{base}:database/default",
            f"{base}:table/{s.database}/*"]


def _glue_role(s: Scope) -> str:
    return s.glue_role_arn or f"arn:{s.partition}:iam::{s.account}:role/{DEFAULT_GLUE_ROLE}"


def _results_statements(s: Scope) -> list[dict[str, Any]]:
    """Athena writes each query's results, as the caller, to the result location."""
    if s.results is None:
        return []
    bucket, prefix = s.results
    objects = f"arn:{s.partition}:s3:::{bucket}/{prefix + '/' if prefix else ''}*"
    return [
        {"Sid": "AthenaResultsList", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
         "Resource": _bucket(s, bucket), **_prefix_condition(prefix, "*", if_exists=True)},
        {"Sid": "AthenaResultsReadWrite", "Effect": "Allow", "Action": ["s3:GetObject", *_UPLOAD],
         "Resource": objects},
    ]


def _kms_statements(s: Scope, actions: list[str]) -> list[dict[str, Any]]:
    key = s.kms_key_id
    if not key:
        return []
    statement: dict[str, Any] = {"Sid": "LakeKmsKey", "Effect": "Allow", "Action": actions}
    if key.startswith("arn:"):
        statement["Resource"] = key
    elif key.startswith("alias/"):  # a policy cannot name a key by alias: match the key's aliases
        statement["Resource"] = f"arn:{s.partition}:kms:{s.region}:{s.account}:key/*"
        statement["Condition"] = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [key]}}
    else:
        statement["Resource"] = f"arn:{s.partition}:kms:{s.region}:{s.account}:key/{key}"
    return [statement]
