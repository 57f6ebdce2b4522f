"""AWS: the SDK session moviedl uses, and botocore failures as moviedl errors.

:func:`aws_session` builds the session for the configured profile and region (S3 lake, Athena,
Glue). :func:`aws_errors` is the one place that turns a botocore failure into a
:class:`ServiceError` with a message naming the service, the action and what to check; the S3
lake passes its endpoint, timeouts and the S3-specific refusals (missing bucket, credentials,
access), Athena and Glue use the default refusals (permissions, result location).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moviedl.core.errors import ConfigError, ServiceError

if TYPE_CHECKING:
    from moviedl.core.config import Settings

#: Error codes of an object (or lock object) that is not there.
NOT_FOUND = ("404", "NoSuchKey", "NotFound")
#: Error codes of a conditional write (``If-None-Match`` / ``If-Match``) whose condition failed.
PRECONDITION_FAILED = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")

_POLICY_HINT = "See 'moviedl athena-ddl --policy' for the permissions moviedl needs."
_CREDENTIALS_HINT = (
    "Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run 'aws configure'."
)

#: A service's own reading of a refused request: (error code, HTTP status, message) -> the
#: error to raise, or None for the generic "<service> could not <action>: <message>".
Refusal = Callable[[str, "int | None", str], "ServiceError | None"]


def aws_session(settings: Settings | None) -> Any:  # boto3.session.Session
    """The AWS SDK session for the configured profile and region; a bad profile is bad config."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.session.Session(
            profile_name=settings.aws_profile if settings else None,
            region_name=settings.aws_region if settings else None,
        )
    except ProfileNotFound as exc:
        raise ConfigError(
            f"AWS profile {settings.aws_profile if settings else ''!r} not found ({exc})",
            hint="Fix AWS_PROFILE / aws.profile, or run 'aws configure --profile NAME'.",
        ) from None


def aws_client(settings: Settings, service: str) -> Any:
    """A boto3 client for ``service`` ("athena", "glue"...) with standard retries and bounded
    timeouts; no region set is a configuration error."""
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    session = aws_session(settings)
    try:
        return session.client(service, config=Config(retries={"mode": "standard"}, connect_timeout=10,
                                                     read_timeout=60))
    except NoRegionError:
        raise ConfigError(
            f"no AWS region set for {service.capitalize()}",
            hint="Set AWS_REGION (or aws.region in the config file, or a region in the AWS profile).",
        ) from None


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``"NoSuchKey"``...), else None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    return str(response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class Timeouts:
    """The bounds a client was built with, named in the message when it gives up waiting."""

    connect_seconds: float
    read_seconds: float
    max_attempts: int
    hint: str  # which settings to raise

    @property
    def attempts(self) -> str:
        return f"{self.max_attempts} attempt{'s' if self.max_attempts != 1 else ''}"


@contextlib.contextmanager
def aws_errors(
    service: str,
    action: str,
    *,
    endpoint: str | None = None,
    timeouts: Timeouts | None = None,
    refusal: Refusal | None = None,
) -> Iterator[None]:
    """Turn botocore failures of ``service`` into one :class:`ServiceError` naming ``action``.

    ``endpoint`` and ``timeouts`` name the endpoint and the client's bounds in messages about
    an endpoint that cannot be reached or does not answer; ``refusal`` reads a refused request
    the service's way (default: :func:`api_refusal`).
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise ServiceError(f"no AWS credentials found to {action}", hint=_CREDENTIALS_HINT) from None
    except (ReadTimeoutError, ConnectTimeoutError, ConnectionClosedError) as exc:
        if timeouts is None:
            raise ServiceError(f"{service} could not {action}: {exc}") from None
        where = f"the {service} endpoint {endpoint}"
        if isinstance(exc, ReadTimeoutError):
            message = f"{where} gave no answer within {timeouts.read_seconds:g} s"
        elif isinstance(exc, ConnectTimeoutError):
            message = f"{where} gave no answer within {timeouts.connect_seconds:g} s (connecting)"
        else:
            message = f"{where} closed the connection without an answer"
        raise ServiceError(f"{message} after {timeouts.attempts} to {action}", hint=timeouts.hint) from None
    except EndpointConnectionError as exc:
        if endpoint is not None:
            raise ServiceError(f"cannot reach the {service} endpoint {endpoint} to {action}",
                               hint="Check the network and AWS_ENDPOINT_URL.") from None
        raise ServiceError(f"cannot reach {service} to {action}: {exc}",
                           hint="Check the network, AWS_REGION and AWS_ENDPOINT_URL.") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message") or code or str(exc)
        refused = (refusal or api_refusal(service, action))(code, status, message)
        if refused is not None:
            raise refused from None
        raise ServiceError(f"{service} could not {action}: {message}") from None
    except BotoCoreError as exc:
        raise ServiceError(f"{service} could not {action}: {exc}") from None


def api_refusal(service: str, action: str) -> Refusal:
    """How Athena and Glue refuse: missing permissions, or no query result location."""

    def refused(code: str, _status: int | None, message: str) -> ServiceError | None:
        if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
                    "InvalidSignatureException", "ExpiredTokenException"):
            return ServiceError(f"{service} refused to {action} ({code}): {message}", hint=_POLICY_HINT)
        if "output location" in message.lower():
            return ServiceError(
                f"{service} could not {action}: {message}",
                hint="Set athena.output_location (s3://bucket/prefix/) in the config file, or give "
                "the workgroup (athena.workgroup) a query result location.",
            )
        return None

    return refused


def s3_refusal(bucket: str, endpoint: str, action: str, *, bucket_level: bool) -> Refusal:
    """How S3 refuses: no such bucket, bad credentials, access denied. ``bucket_level``: the
    request named no object, so a bare 404 means the bucket is missing."""

    def refused(code: str, status: int | None, _message: str) -> ServiceError | None:
        if code == "NoSuchBucket" or (code == "404" and bucket_level):
            return ServiceError(
                f"S3 bucket '{bucket}' does not exist (endpoint {endpoint})",
                hint="Create it, or fix the lake URI (--lake / MOVIEDL_LAKE).",
            )
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
            return ServiceError(
                f"S3 refused the credentials ({code}) to {action}",
                hint="Check AWS_PROFILE or the access keys in the environment.",
            )
        if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
            return ServiceError(
                f"access denied to {action}",
                hint="The credentials need s3:GetObject, s3:PutObject, s3:ListBucket and "
                "s3:DeleteObject on the lake prefix (see 'moviedl athena-ddl --policy').",
            )
        return None

    return refused
