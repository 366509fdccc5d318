"""The assets bucket (S3): presigned POST uploads and checks on what was uploaded."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.aws import aws_errors, error_code


@dataclass(frozen=True)
class StoredObject:
    content_type: str
    size: int


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
                    from botocore.config import Config
                    from botocore.session import Session

                    config = Config(
                        region_name=self._region,
                        signature_version="s3v4",
                        retries={"mode": "standard", "max_attempts": 3},
                        connect_timeout=2,
                        read_timeout=5,
                    )
                    self._client = Session().create_client("s3", config=config)
        return self._client

    def presigned_post(
        self, key: str, *, content_type: str | None, type_prefix: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """A form the client posts the file with: this key only, this size range, and the
        given content type (or at least one under ``type_prefix``)."""
        fields: dict[str, str] = {}
        conditions: list[Any] = [["content-length-range", 1, max_bytes]]
        if content_type:
            fields["Content-Type"] = content_type
            conditions.append({"Content-Type": content_type})
        else:
            conditions.append(["starts-with", "$Content-Type", type_prefix])
        # Signing is local: no request is made.
        return self._s3.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )

    def head(self, key: str) -> StoredObject | None:
        try:
            with aws_errors("The asset store"):
                out = self._s3.head_object(Bucket=self._bucket, Key=key)
        except Exception as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return StoredObject(content_type=str(out.get("ContentType", "")), size=int(out.get("ContentLength", 0)))

    def first_bytes(self, key: str, count: int = 16) -> bytes:
        with aws_errors("The asset store"):
            out = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{count - 1}")
        return bytes(out["Body"].read())

    def delete(self, key: str) -> None:
        with aws_errors("The asset store"):
            self._s3.delete_object(Bucket=self._bucket, Key=key)
