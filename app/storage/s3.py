"""Recordings in an S3-compatible bucket (AWS, SeaweedFS, MinIO...), through boto3.

Credentials come from where boto3 looks for them itself: AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, AWS_PROFILE, an instance role).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.storage.store import CHUNK, StorageUnavailable

# Uploads over this size go in parts of this size, a few at a time: a long call is never held
# in memory, and a dropped connection costs one part, not the whole file.
PART_BYTES = 16 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Store:
    def __init__(
        self, *, bucket: str, prefix: str, endpoint_url: str | None, spool_dir: Path
    ) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.spool_dir = spool_dir
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )
        self._transfer = TransferConfig(
            multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=4
        )

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _unavailable(self, doing: str, exc: Exception) -> StorageUnavailable:
        return StorageUnavailable(f"the recording store {self.where} failed to {doing}: {exc}")

    def put(self, source: Path, key: str, *, keep_source: bool = False) -> None:
        try:
            # upload_file reads the file in parts (multipart above PART_BYTES) and aborts a
            # multipart upload it cannot finish, so a failure leaves no object.
            self._client.upload_file(
                str(source), self.bucket, self._key(key), Config=self._transfer
            )
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise self._unavailable(f"store {key}", exc) from exc
        finally:
            if not keep_source:
                source.unlink(missing_ok=True)

    def replace(self, source: Path, key: str) -> int:
        # One PUT over the same key: readers get the old object or the new one, never a mix.
        size = source.stat().st_size
        self.put(source, key)
        return size

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(f"delete {key}", exc) from exc

    def size(self, key: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise self._unavailable(f"read {key}", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(f"read {key}", exc) from exc
        return int(head["ContentLength"])

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        if start >= end:
            return
        try:
            body = self._client.get_object(
                Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end - 1}"
            )["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(f"read {key}", exc) from exc
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        path = self.spool_dir / f"{uuid.uuid4().hex}{Path(key).suffix}"
        try:
            try:
                self._client.download_file(
                    self.bucket, self._key(key), str(path), Config=self._transfer
                )
            except ClientError as exc:
                if _missing(exc):
                    raise FileNotFoundError(2, "no such recording", self._key(key)) from exc
                raise self._unavailable(f"read {key}", exc) from exc
            except BotoCoreError as exc:
                raise self._unavailable(f"read {key}", exc) from exc
            yield path
        finally:
            path.unlink(missing_ok=True)
