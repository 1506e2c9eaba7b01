"""create_app(): the FastAPI service with its state, routers and error handlers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import text

from app import models  # noqa: F401  (every table registered before first use)
from app.calls.routes import router as calls_router
from app.config import Settings, get_settings
from app.db import SessionDep, engine_for
from app.errors import install_handlers
from app.jobs.queue import JobQueue
from app.limits import BodySizeLimit
from app.scorecards.routes import router as scorecards_router
from app.users.routes import router as auth_router

# Routes reachable without credentials; tests/app/test_auth_coverage.py checks every other one.
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/healthz",
        "/api/v1/auth/token",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }
)

_HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>callqa</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:.1rem .3rem}</style></head><body>
<h1>callqa</h1><p>Self-hosted contact-center QA: every call transcribed, scored and explained.</p>
<ul><li><a href="/docs">API documentation</a> (log in with <em>Authorize</em>)</li>
<li><code>POST /api/v1/auth/token</code> to get a token, then <code>/api/v1/calls</code></li></ul>
</body></html>"""


class Health(BaseModel):
    status: str
    database: str


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    app = FastAPI(
        title="callqa",
        version="0.1.0",
        description="Contact-center QA: upload recordings, read speaker-labelled transcripts.",
    )
    app.state.settings = settings
    app.state.engine = engine_for(settings.db_url)
    app.state.queue = JobQueue(settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_mb * 1024 * 1024)
    install_handlers(app)
    app.include_router(auth_router)
    app.include_router(calls_router)
    app.include_router(scorecards_router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return _HOME

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def health(session: SessionDep) -> Health:
        """Liveness and database reachability."""
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return Health(status="ok", database="ok")

    return app
