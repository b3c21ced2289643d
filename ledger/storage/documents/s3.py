"""Documents in S3-compatible object storage (AWS S3, MinIO, Ceph, R2...): one object per
document, key ``<prefix><sha256>``, its content type as the object's ``Content-Type``.
Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` and friends, a profile, an
instance role): never from Tracemark's settings. Re-hashed on every read, like the others.
boto3 is imported here only (``TRACEMARK_DOCUMENT_STORE=s3://...`` needs it installed)."""

from __future__ import annotations

from typing import Any

from ledger.errors import InvalidInput, NotFound, StorageUnavailable
from ledger.ports.documents import (
    MAX_DOCUMENT_BYTES,
    MISSING,
    OK,
    TAMPERED,
    Document,
    DocumentTampered,
    checked,
    parse_digest,
)

__all__ = ["S3Documents"]


class S3Documents:
    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str = "",
        region: str = "",
        client: Any = None,
    ) -> None:
        if client is None:
            try:
                import boto3  # noqa: PLC0415 (optional, only for this driver)
            except ImportError:
                raise InvalidInput("an s3:// document store needs boto3 installed") from None
            client = boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None)
        self.client, self.bucket = client, bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def _key(self, sha256: str) -> str:
        return self.prefix + parse_digest(sha256)

    def _errors(self) -> tuple[type[Exception], ...]:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        return BotoCoreError, ClientError

    def put(self, document: Document) -> bool:
        if self.check(document.sha256) == OK:
            return False
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(document.sha256),
                Body=document.data,
                ContentType=document.content_type,
            )
        except self._errors() as exc:
            raise StorageUnavailable(f"the document store refused the write: {exc}") from None
        return True

    def get(self, sha256: str) -> Document:
        key = self._key(sha256)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            if int(answer.get("ContentLength", 0)) > MAX_DOCUMENT_BYTES:
                raise DocumentTampered(f"document {sha256} is larger than any stored document")
            data = answer["Body"].read(MAX_DOCUMENT_BYTES + 1)
        except self._errors() as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFound(f"no document {sha256}") from None
            raise StorageUnavailable(f"the document store is unavailable: {exc}") from None
        kind = str(answer.get("ContentType", "application/octet-stream"))
        return checked(sha256, kind, data)

    def check(self, sha256: str) -> str:
        try:
            self.get(sha256)
        except NotFound:
            return MISSING
        except DocumentTampered:
            return TAMPERED
        return OK
