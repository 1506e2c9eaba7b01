"""Signed webhook delivery: the receiver recomputes HMAC-SHA256 over "<timestamp>.<body>"."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Callqa-Signature"
TIMESTAMP_HEADER = "X-Callqa-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    max_age_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does; also used by the tests. Old timestamps are refused (replays)."""
    if abs((now or time.time()) - int(timestamp)) > max_age_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def deliver(url: str, secret: str, payload: dict[str, Any], *, timeout: float = 5.0) -> None:
    """POST the payload; raises on a network error or a non-2xx answer."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    response = httpx.post(
        url,
        content=body,
        timeout=timeout,
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        },
    )
    response.raise_for_status()
