"""The assets bucket (S3): presigned POST uploads and checks on what was uploaded."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import aws_errors, error_code


@dataclass(frozen=True)
class StoredObject:
    """An uploaded object, as read once: its type, size, first and last bytes, and which
    version of it that was (so the copy made of it is of those very bytes)."""

    content_type: str
    size: int
    head: bytes
    tail: bytes
    etag: str
    version_id: str | None


class AssetStorage:
    def __init__(self, bucket: str, region: str) -> None:
        self._bucket = bucket
        self._region = region
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def _s3(self) -> Any:
        # Its own client: presigned posts must be SigV4 and name the bucket's region,
        # which a default S3 client does not promise.
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    config = Config(
                        region_name=self._region,
                        signature_version="s3v4",
                        retries={"mode": "standard", "max_attempts": 3},
                        connect_timeout=2,
                        read_timeout=5,
                    )
                    self._client = boto3.session.Session().client("s3", config=config)
        return self._client

    def presigned_post(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
        """A form the client posts the file with: this key only, this size range, exactly
        this content type."""
        conditions: list[Any] = [["content-length-range", 1, max_bytes], {"Content-Type": content_type}]
        # Signing is local: no request is made.
        return self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=conditions,
            ExpiresIn=expires_in,
        )

    def inspect(self, key: str, head_bytes: int, tail_bytes: int) -> StoredObject | None:
        """One ranged GET of the first bytes (it also says the size, type and version), and
        one of the last bytes when the first did not reach them; ``None`` if no object."""
        first = self._get(key, f"bytes=0-{head_bytes - 1}")
        if first is None:
            return None
        head = bytes(first["Body"].read())
        size = int(str(first.get("ContentRange", "")).rpartition("/")[2] or first.get("ContentLength", 0))
        version_id = first.get("VersionId")
        tail = head[-tail_bytes:]
        if size > len(head):
            last = self._get(key, f"bytes={size - tail_bytes}-{size - 1}", version_id)
            tail = bytes(last["Body"].read()) if last is not None else b""
        return StoredObject(
            content_type=str(first.get("ContentType", "")),
            size=size,
            head=head,
            tail=tail,
            etag=str(first.get("ETag", "")),
            version_id=version_id if version_id and version_id != "null" else None,
        )

    def _get(self, key: str, byte_range: str, version_id: str | None = None) -> Any:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key, "Range": byte_range}
        if version_id and version_id != "null":
            params["VersionId"] = version_id
        try:
            with aws_errors("The asset store"):
                return self._s3.get_object(**params)
        except Exception as exc:
            code = error_code(exc)
            if code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}:
                return None
            if code == "InvalidRange":  # an empty object
                return {"Body": _Empty(), "ContentLength": 0, "ContentType": ""}
            raise

    def publish(self, source: str, stored: StoredObject, target: str, content_type: str) -> bool:
        """Copies the inspected version of ``source`` to ``target`` with a type the server
        sets; ``False`` (nothing copied) if ``source`` changed since it was inspected."""
        copy_source: dict[str, str] = {"Bucket": self._bucket, "Key": source}
        if stored.version_id:
            copy_source["VersionId"] = stored.version_id
        try:
            with aws_errors("The asset store"):
                self._s3.copy_object(
                    Bucket=self._bucket,
                    Key=target,
                    CopySource=copy_source,
                    CopySourceIfMatch=stored.etag,
                    MetadataDirective="REPLACE",
                    ContentType=content_type,
                    ContentDisposition="inline",
                    CacheControl="public, max-age=31536000, immutable",
                )
        except Exception as exc:
            if error_code(exc) == "PreconditionFailed":
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        with aws_errors("The asset store"):
            self._s3.delete_object(Bucket=self._bucket, Key=key)


class _Empty:
    @staticmethod
    def read() -> bytes:
        return b""
