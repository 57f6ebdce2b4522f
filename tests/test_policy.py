"""``athena-ddl --policy``: least-privilege IAM policies from the configured lake and services."""

from __future__ import annotations

import json
from pathlib import Path

from moviedl.core.config import load_settings
from moviedl.stages.catalog.policy import (
    analyst_policy,
    glue_job_policy,
    pipeline_policy,
    policies,
    scope_for,
)


def _settings(**flags):
    return load_settings({"lake": "s3://lake-bucket/team/lake", **flags}, env={})


def _statement(policy: dict, sid: str) -> dict:
    return next(s for s in policy["Statement"] if s["Sid"] == sid)


def _actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}


def test_pipeline_writes_its_zones_and_never_deletes_raw() -> None:
    policy = pipeline_policy(scope_for(_settings(), "s3://lake-bucket/team/lake", "moviedl"))
    raw = _statement(policy, "RawWriteOnce")
    assert raw["Resource"] == "arn:aws:s3:::lake-bucket/team/lake/Raw/*"
    assert "s3:PutObject" in raw["Action"] and "s3:DeleteObject" not in raw["Action"]
    zones = _statement(policy, "TrustedRefinedStateReadWrite")
    assert zones["Resource"] == ["arn:aws:s3:::lake-bucket/team/lake/Trusted/*",
                                 "arn:aws:s3:::lake-bucket/team/lake/Refined/*",
                                 "arn:aws:s3:::lake-bucket/team/lake/_moviedl/*"]
    assert "s3:DeleteObject" in zones["Action"]
    listing = _statement(policy, "LakeList")
    assert listing["Condition"] == {"StringLikeIfExists": {"s3:prefix": ["team/lake/*"]}}
    assert _statement(policy, "AthenaWorkgroup")["Resource"] == "arn:aws:athena:*:*:workgroup/primary"
    assert "arn:aws:glue:*:*:table/moviedl/*" in _statement(policy, "GlueDatabaseReadWrite")["Resource"]
    assert not any(s["Resource"] == "*" for s in policy["Statement"])
    assert not any("*" in a.split(":")[1] for a in _actions(policy))  # no wildcard actions


def test_analyst_reads_only_refined_and_never_writes_the_lake() -> None:
    policy = analyst_policy(scope_for(_settings(), "s3://lake-bucket/team/lake", "moviedl"))
    assert _statement(policy, "RefinedRead") == {
        "Sid": "RefinedRead", "Effect": "Allow", "Action": ["s3:GetObject"],
        "Resource": "arn:aws:s3:::lake-bucket/team/lake/Refined/*"}
    assert _statement(policy, "RefinedList")["Condition"] == {"StringLike": {"s3:prefix": ["team/lake/Refined/*"]}}
    lake_statements = [s for s in policy["Statement"] if "lake-bucket" in json.dumps(s["Resource"])]
    assert {a for s in lake_statements for a in s["Action"]} == {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
    glue = {a for a in _actions(policy) if a.startswith("glue:")}
    assert glue and all(a.startswith(("glue:Get", "glue:BatchGet")) for a in glue)
    assert "athena:StartQueryExecution" in _actions(policy)


def test_result_location_region_and_kms_key_come_from_the_config() -> None:
    settings = _settings(**{"athena.output_location": "s3://results/athena", "aws.region": "sa-east-1",
                            "athena.workgroup": "bi", "s3.sse": "aws:kms",
                            "s3.kms_key_id": "arn:aws:kms:sa-east-1:123456789012:key/abc"})
    both = policies(scope_for(settings, "s3://lake-bucket/team/lake", "movies"))
    pipeline, analyst = both["moviedl-pipeline"], both["moviedl-analyst"]
    for policy in (pipeline, analyst):
        assert _statement(policy, "AthenaResultsReadWrite")["Resource"] == "arn:aws:s3:::results/athena/*"
        assert _statement(policy, "LakeKmsKey")["Resource"] == "arn:aws:kms:sa-east-1:123456789012:key/abc"
    assert _statement(pipeline, "LakeKmsKey")["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert _statement(analyst, "LakeKmsKey")["Action"] == ["kms:Decrypt"]
    assert _statement(analyst, "AthenaQuery")["Resource"] == "arn:aws:athena:sa-east-1:*:workgroup/bi"
    assert "arn:aws:glue:sa-east-1:*:database/movies" in _statement(analyst, "GlueRead")["Resource"]

    bare = scope_for(_settings(**{"s3.sse": "aws:kms", "s3.kms_key_id": "1234abcd-12ab"}), "s3://b", "m")
    assert _statement(pipeline_policy(bare), "LakeKmsKey")["Resource"] == "arn:aws:kms:*:*:key/1234abcd-12ab"
    plain = scope_for(_settings(), "s3://b", "m")  # AES256: no KMS statement, no results statement
    sids = {s["Sid"] for s in pipeline_policy(plain)["Statement"]}
    assert "LakeKmsKey" not in sids and "AthenaResultsReadWrite" not in sids


def test_a_lake_at_the_bucket_root_lists_without_a_prefix_condition() -> None:
    scope = scope_for(_settings(), "s3://whole-bucket", "moviedl")
    assert "Condition" not in _statement(pipeline_policy(scope), "LakeList")
    assert _statement(pipeline_policy(scope), "RawWriteOnce")["Resource"] == "arn:aws:s3:::whole-bucket/Raw/*"
    assert _statement(analyst_policy(scope), "RefinedList")["Condition"] == {"StringLike": {"s3:prefix": ["Refined/*"]}}


def test_pipeline_may_deploy_and_start_its_glue_job_and_pass_its_role_to_glue_only() -> None:
    role = "arn:aws:iam::123456789012:role/etl/moviedl-glue"
    scope = scope_for(_settings(**{"glue.job_name": "nightly", "glue.role_arn": role, "aws.region": "eu-west-1"}),
                      "s3://lake-bucket/team/lake", "moviedl")
    policy = pipeline_policy(scope)
    jobs = _statement(policy, "GlueJobDeployRun")
    assert jobs["Resource"] == "arn:aws:glue:eu-west-1:*:job/nightly"
    assert set(jobs["Action"]) == {"glue:GetJob", "glue:CreateJob", "glue:UpdateJob", "glue:StartJobRun",
                                   "glue:GetJobRun", "glue:GetJobRuns"}
    assert _statement(policy, "GlueJobPassRole") == {
        "Sid": "GlueJobPassRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": role,
        "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}}
    # the job's script and wheel go to _moviedl/glue/, which the pipeline already writes
    assert "arn:aws:s3:::lake-bucket/team/lake/_moviedl/*" in _statement(policy, "TrustedRefinedStateReadWrite")["Resource"]
    unnamed = pipeline_policy(scope_for(_settings(), "s3://b/l", "m"))
    assert _statement(unnamed, "GlueJobPassRole")["Resource"] == "arn:aws:iam::*:role/moviedl-glue-job"
    assert _statement(unnamed, "GlueJobDeployRun")["Resource"] == "arn:aws:glue:*:*:job/moviedl-refine"


def test_glue_job_role_reads_raw_writes_what_refine_writes_and_its_logs() -> None:
    settings = _settings(**{"aws.region": "eu-west-1", "s3.sse": "aws:kms", "s3.kms_key_id": "alias/lake"})
    policy = glue_job_policy(scope_for(settings, "s3://lake-bucket/team/lake", "moviedl"))
    assert _statement(policy, "RawRead") == {"Sid": "RawRead", "Effect": "Allow", "Action": ["s3:GetObject"],
                                             "Resource": "arn:aws:s3:::lake-bucket/team/lake/Raw/*"}
    written = _statement(policy, "TrustedRefinedStateReadWrite")
    assert written["Resource"] == ["arn:aws:s3:::lake-bucket/team/lake/Trusted/*",
                                   "arn:aws:s3:::lake-bucket/team/lake/Refined/*",
                                   "arn:aws:s3:::lake-bucket/team/lake/_moviedl/*"]  # incl. _moviedl/glue/
    assert _statement(policy, "LakeList")["Condition"] == {"StringLikeIfExists": {"s3:prefix": ["team/lake/*"]}}
    logs = _statement(policy, "GlueJobLogs")
    assert all(r.startswith("arn:aws:logs:eu-west-1:*:log-group:/aws-glue/") for r in logs["Resource"])
    assert _statement(policy, "LakeKmsKey")["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/lake"]}}
    assert not any(a.startswith(("glue:", "athena:", "iam:")) for a in _actions(policy))  # files only
    assert not any(s["Resource"] == "*" for s in policy["Statement"])
    assert not any("*" in a.split(":")[1] for a in _actions(policy))


def test_policy_command_prints_every_policy_as_json(invoke, tmp_path: Path) -> None:
    result = invoke("athena-ddl", "--lake", tmp_path / "lake", "--location", "s3://up/lake", "--policy")
    assert result.exit_code == 0, result.output
    documents = json.loads(result.stdout)
    assert set(documents) == {"moviedl-pipeline", "moviedl-analyst", "moviedl-glue-job", "moviedl-quicksight"}
    assert all(d["Version"] == "2012-10-17" for d in documents.values())
    assert "athena.output_location is not set" in " ".join(result.stderr.split())
    assert "glue.role_arn is not set" in " ".join(result.stderr.split())

    as_json = json.loads(invoke("athena-ddl", "--lake", "s3://up/lake", "--policy", "--format", "json").stdout)
    assert [r["policy"] for r in as_json["rows"]] == ["moviedl-pipeline", "moviedl-analyst", "moviedl-glue-job",
                                                         "moviedl-quicksight"]
    assert as_json["rows"][0]["document"] == documents["moviedl-pipeline"]

    local = invoke("athena-ddl", "--lake", tmp_path / "lake", "--policy")
    assert local.exit_code == 2 and "IAM policies need its S3 location" in " ".join(local.stderr.split())


def test_the_quicksight_policy_covers_every_call_deploy_status_and_remove_make() -> None:
    """Each QuickSight operation moviedl calls is allowed on moviedl's own resources only."""
    import re

    from moviedl.core.config import load_settings
    from moviedl.stages.catalog.policy import quicksight_policy, scope_for

    settings = load_settings({"lake": "s3://bucket/lake"}, env={}, config_path="/dev/null")
    statements = quicksight_policy(scope_for(settings, "s3://bucket/lake", "moviedl"))["Statement"]
    allowed = {a for s in statements for a in s["Action"]}
    source = (Path(__file__).resolve().parent.parent / "moviedl/stages/quicksight/deploy.py").read_text()
    called = set(re.findall(r'"((?:create|update|delete|describe|list)_[a-z_]+)"', source))
    called |= set(re.findall(r"client\.([a-z_]+)\(", source))
    assert {"describe_dashboard", "list_ingestions", "create_ingestion", "update_dashboard_published_version"} <= called
    for operation in called:
        action = "quicksight:" + "".join(part.title() for part in operation.split("_"))
        assert action in allowed, action
    own = next(s for s in statements if s["Sid"] == "QuickSightOwnResources")
    assert all(r.rsplit(":", 1)[1].split("/", 1)[1] == "moviedl-*" for r in own["Resource"])
