"""Security headers and start-up housekeeping (issue 14, item 11)."""

from __future__ import annotations

import os
import re
import time

from app import storage
from app.headers import CSP


def test_pages_carry_a_content_security_policy_and_every_answer_the_basic_headers(client, world):
    page = client.get("/login")
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    for r in (
        page,
        client.get("/api/v1/calls", headers=world.admin.headers),
        client.get("/api/v1/calls/999999", headers=world.admin.headers),  # an error too
        client.get("/healthz"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
    assert "content-security-policy" not in client.get("/healthz").headers  # JSON: no page


def test_no_page_relies_on_inline_scripts_the_policy_would_block(client, world):
    """Inline handlers and javascript: links do not run under script-src 'self'."""
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
    for path in templates.glob("*.html"):
        text = path.read_text()
        assert "javascript:" not in text, path.name
        assert not re.search(r"\son[a-z]+\s*=", text), path.name  # onclick=, onchange=, …
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), path.name  # inline scripts


def test_stale_staging_files_are_cleared_and_fresh_ones_kept(tmp_path):
    audio = tmp_path / "audio"
    stale = storage.staging_path(audio)
    stale.write_bytes(b"half an upload from a process that died")
    old = time.time() - storage.STALE_STAGING_SECONDS - 60
    os.utime(stale, (old, old))
    fresh = storage.staging_path(audio)
    fresh.write_bytes(b"an upload arriving right now in another process")
    assert storage.clear_stale_staging(audio) == 1
    assert not stale.exists() and fresh.exists()
    assert storage.clear_stale_staging(tmp_path / "nothing-here") == 0


def test_cookies_are_secure_when_the_public_address_is_https(tmp_path, db_url):
    from fastapi import Response

    from app.web.session import set_session
    from tests.conftest import make_settings

    for url, secure in (("https://qa.example.com", True), ("http://10.0.0.5:8000", False)):
        settings = make_settings(tmp_path / "data", db_url, public_url=url)
        response = Response()
        set_session(response, "token", settings)
        cookies = response.headers.getlist("set-cookie")
        assert len(cookies) == 2  # the session and a fresh CSRF token
        assert all(("; secure" in c.lower()) is secure for c in cookies), cookies
