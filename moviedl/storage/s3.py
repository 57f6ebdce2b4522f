"""A lake on S3 (or an S3-compatible store), through boto3: conditional writes, multipart uploads, ranged reads."""


from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from moviedl.core.errors import ServiceError
from moviedl.storage.aws import NOT_FOUND, Timeouts, aws_errors, aws_session, error_code, s3_refusal
from moviedl.storage.files import b64_sha256

if TYPE_CHECKING:

    from moviedl.core.config import Settings

from moviedl.storage.lake import Lake, ObjectInfo, Upload


class S3Upload(Upload):
    """Buffers up to the multipart threshold; above it streams parts of ``part_size`` bytes."""

    def __init__(self, lake: S3Lake, key: str) -> None:
        super().__init__(lake, key)
        self._s3 = lake
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, object]] = []

    def _write(self, data: bytes) -> None:
        self._buffer += data
        if self._upload_id is None and len(self._buffer) > self._s3.multipart_threshold:
            with self._s3.errors("start multipart upload of", self.key):
                answer = self._s3.client.create_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._s3.full_key(self.key), ChecksumAlgorithm="SHA256",
                    **self._s3.sse_args,
                )
            self._upload_id = answer["UploadId"]
        if self._upload_id is not None:
            while len(self._buffer) >= self._s3.part_size:
                self._send_part(bytes(self._buffer[: self._s3.part_size]))
                del self._buffer[: self._s3.part_size]

    def _send_part(self, body: bytes) -> None:
        number = len(self._parts) + 1
        checksum = b64_sha256(body)  # S3 refuses the part if the bytes it got differ
        with self._s3.errors("upload a part of", self.key):
            answer = self._s3.client.upload_part(
                Bucket=self._s3.bucket,
                Key=self._s3.full_key(self.key),
                UploadId=self._upload_id,
                PartNumber=number,
                Body=body,
                ChecksumSHA256=checksum,
            )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})

    def _commit(self) -> None:
        s3 = self._s3
        if self._upload_id is None:
            with s3.errors("write", self.key):
                body = bytes(self._buffer)
                s3.client.put_object(
                    Bucket=s3.bucket, Key=s3.full_key(self.key), Body=body,
                    ChecksumSHA256=b64_sha256(body), **s3.sse_args,
                )
        else:
            if self._buffer:
                self._send_part(bytes(self._buffer))
            with s3.errors("complete multipart upload of", self.key):
                s3.client.complete_multipart_upload(
                    Bucket=s3.bucket,
                    Key=s3.full_key(self.key),
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
            self._upload_id = None
        self._buffer = bytearray()
        # S3 already refused any part whose SHA-256 differed; reading back checks the whole
        # object. Never delete on failure here: with --overwrite the previous content is gone,
        # and a read-back that failed on the network says nothing about the stored bytes.
        try:
            self._check_stored(s3.size(self.key) or 0, s3.sha256(self.key), s3.uri_of(self.key))
        except ServiceError as exc:
            raise ServiceError(
                f"{s3.uri_of(self.key)} was written but could not be verified: {exc.message}",
                hint="Run the same command again: it re-checks the stored object.",
            ) from None

    def abort(self) -> None:
        self._buffer = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(Exception):
                self._s3.client.abort_multipart_upload(
                    Bucket=self._s3.bucket, Key=self._s3.full_key(self.key), UploadId=self._upload_id
                )
            self._upload_id = None

    @property
    def multipart(self) -> bool:
        return bool(self._parts) or self._upload_id is not None


class S3Lake(Lake):
    def __init__(self, uri: str, settings: Settings | None = None, *, page_size: int = 1000) -> None:
        from botocore.config import Config

        self.uri = uri
        rest = uri[len("s3://") :]
        self.bucket, _, prefix = rest.partition("/")
        self.prefix = prefix.strip("/")
        self.page_size = page_size
        endpoint = settings.s3_endpoint_url if settings else None
        session = aws_session(settings)
        # Bounded: a frozen endpoint fails after max_attempts x (connect + read) plus at most
        # (max_attempts - 1) x 20 s of backoff, not after minutes of silence.
        self.connect_timeout = settings.s3_connect_timeout_seconds if settings else 5.0
        self.read_timeout = settings.s3_read_timeout_seconds if settings else 20.0
        self.max_attempts = settings.s3_max_attempts if settings else 3  # AWS_MAX_ATTEMPTS feeds it
        self.timeouts = Timeouts(
            self.connect_timeout, self.read_timeout, self.max_attempts,
            hint="Check the network and the endpoint (AWS_ENDPOINT_URL / s3.endpoint_url). If S3 is "
            "only slow, raise s3.read_timeout_seconds, s3.connect_timeout_seconds or s3.max_attempts "
            "(AWS_MAX_ATTEMPTS) in moviedl.toml.",
        )
        self.client = session.client(
            "s3",
            endpoint_url=endpoint,
            config=Config(
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            ),
        )
        self.endpoint = endpoint or self.client.meta.endpoint_url or "AWS"
        sse = settings.s3_sse if settings else "AES256"
        self.sse_args: dict[str, str] = {}
        if sse == "AES256":
            self.sse_args = {"ServerSideEncryption": "AES256"}
        elif sse == "aws:kms":
            assert settings and settings.s3_kms_key_id
            self.sse_args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.s3_kms_key_id}
        self.multipart_threshold = (settings.s3_multipart_threshold_mb if settings else 64) << 20
        self.part_size = (settings.s3_part_size_mb if settings else 16) << 20

    def full_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri_of(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.full_key(key)}"


    @contextlib.contextmanager
    def errors(self, action: str, key: str | None = None) -> Iterator[None]:
        """Turn botocore failures into one clear :class:`ServiceError` (see :mod:`moviedl.storage.aws`)."""
        where = self.uri_of(key) if key is not None else f"s3://{self.bucket}"
        what = f"{action} {where}"
        with aws_errors("S3", what, endpoint=self.endpoint, timeouts=self.timeouts,
                        refusal=s3_refusal(self.bucket, self.endpoint, what, bucket_level=key is None)):
            yield

    def check(self) -> None:
        with self.errors("reach the bucket"):
            self.client.head_bucket(Bucket=self.bucket)

    def size(self, key: str) -> int | None:
        with self.errors("read", key):
            try:
                answer = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
            except Exception as exc:
                if error_code(exc) in NOT_FOUND:
                    return None
                raise
        return int(answer["ContentLength"])

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        with self.errors("read", key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))
        body = answer["Body"]
        try:
            with self.errors("read", key):
                yield body
        finally:
            body.close()

    def begin_upload(self, key: str) -> Upload:
        return S3Upload(self, key)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        with self.errors("read", key):
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self.full_key(key), Range=f"bytes={start}-{end - 1}"
            )
            return answer["Body"].read()

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        full = self.full_key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(f"{self.prefix}/") if self.prefix else 0
        with self.errors("list", prefix or ""):
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=full, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"][strip:], int(item["Size"]), str(item.get("ETag", "")))

    def delete(self, key: str) -> None:
        with self.errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def copy(self, source: str, dest: str) -> None:
        """A server-side copy: no bytes travel through this machine; ``dest`` appears in one step
        (one CopyObject, or a completed multipart copy above 4 GiB)."""
        from boto3.s3.transfer import TransferConfig

        self.guard()
        with self.errors(f"copy {self.uri_of(source)} to", dest):
            self.client.copy(
                {"Bucket": self.bucket, "Key": self.full_key(source)},
                self.bucket,
                self.full_key(dest),
                ExtraArgs=dict(self.sse_args),
                Config=TransferConfig(multipart_threshold=4 << 30, multipart_chunksize=512 << 20),
            )

    def folders(self, prefix: str) -> list[str]:
        if not prefix.endswith("/"):
            return []
        paginator = self.client.get_paginator("list_objects_v2")
        full = self.full_key(prefix)
        names: list[str] = []
        with self.errors("list", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/",
                                           PaginationConfig={"PageSize": self.page_size}):
                names += [p["Prefix"][len(full):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return sorted(names)
