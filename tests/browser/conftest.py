"""A live server on a real database, and Debian's Chromium driven by Playwright.

Playwright cannot download its own browser here; the Makefile installs Debian's `chromium` and
the tests launch it by path. A missing Chromium fails the tests: it is never a silent skip."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import Session

from app.config import Settings
from app.db import engine_for
from app.main import create_app
from tests.app import world as world_module
from tests.app.world import World
from tests.conftest import ROOT, make_settings, new_database

CHROMIUM = os.environ.get("CALLQA_CHROMIUM", "/usr/bin/chromium")
# As root and on a closed network Chromium needs these (see the machine notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def screenshots_dir(tmp: Path) -> Path:
    """docs/screenshots with `make screenshots`, else a temporary folder."""
    wanted = os.environ.get("CALLQA_SCREENSHOTS")
    path = (ROOT / wanted) if wanted else tmp
    path.mkdir(parents=True, exist_ok=True)
    return path


class Live:
    def __init__(self, url: str, world: World, shots: Path, settings: Settings) -> None:
        self.url, self.world, self.shots, self.settings = url, world, shots, settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    db_url, drop = new_database("sqlite", tmp)
    settings = make_settings(tmp / "data", db_url, review_sample_share=0.0)
    with Session(engine_for(db_url)) as session:
        world = world_module.build(session, settings, prefix="")
        session.commit()
        for call in world.calls.values():
            session.refresh(call)
        for person in (world.admin, world.sup_a, world.sup_b, world.a1, world.a2, world.b1):
            session.refresh(person.user)
        session.expunge_all()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", world, screenshots_dir(tmp / "shots"), settings)
    server.should_exit = True
    thread.join(timeout=10)
    drop()  # type: ignore[operator]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), (
        f"Chromium not found at {CHROMIUM}: run `make sysdeps` (installs Debian's chromium)"
    )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    p = context.new_page()
    p.set_default_timeout(15_000)
    yield p
    context.close()
