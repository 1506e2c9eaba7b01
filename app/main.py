"""create_app(): the FastAPI service with its state, routers and error handlers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from sqlalchemy import text

from app import (
    models,  # noqa: F401  (every table registered before first use)
    web,
)
from app.accounts.routes import me_router
from app.accounts.routes import router as users_router
from app.alerts import service as alerts_service
from app.alerts.routes import router as alerts_router
from app.audit.routes import router as audit_router
from app.auth.routes import router as auth_router
from app.calls.routes import conversations_router, search_router
from app.calls.routes import router as calls_router
from app.calls.routes import scorecard_preview_router as preview_router
from app.coaching.routes import router as coaching_router
from app.config import Settings, get_settings
from app.dashboards.routes import router as dashboards_router
from app.db import SessionDep, engine_for
from app.errors import install_handlers
from app.headers import SecurityHeaders
from app.incentives.routes import router as incentives_router
from app.limits import BodySizeLimit
from app.privacy.routes import router as privacy_router
from app.reviews import service as reviews_service
from app.reviews.routes import router as reviews_router
from app.scorecards.routes import router as scorecards_router
from app.shopper.routes import router as shopper_router
from app.teams.routes import router as teams_router
from app.topics.routes import router as topics_router
from app.worker import CallqaQueue

# Routes reachable without credentials; tests/app/test_auth_coverage.py checks every other one.
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/login",
        "/static",
        "/healthz",
        "/shop/{token}",
        "/api/v1/shop/{token}",
        "/api/v1/auth/token",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/static-offline-docs",
    }
)


class Health(BaseModel):
    status: str
    database: str


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    # FastAPI's own /docs and /redoc load their viewers from a CDN: blank on a server with no
    # way out, and a self-hosted product must not call out. These serve them from the wheel.
    app = FastAPIOffline(
        title="callqa",
        version="0.1.0",
        description="Contact-center QA: upload recordings, read speaker-labelled transcripts.",
    )
    app.state.settings = settings
    app.state.engine = engine_for(settings.db_url)
    # A review that clears an alert's cause closes it (reviews sit below alerts).
    reviews_service.on_review(alerts_service.close_cleared)
    app.state.queue = CallqaQueue(settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_mb * 1024 * 1024)
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, errors and 413 included
    install_handlers(app)
    app.include_router(auth_router)
    app.include_router(calls_router)
    app.include_router(conversations_router)
    app.include_router(search_router)
    app.include_router(topics_router)
    app.include_router(scorecards_router)
    app.include_router(preview_router)
    app.include_router(teams_router)
    app.include_router(reviews_router)
    app.include_router(coaching_router)
    app.include_router(alerts_router)
    app.include_router(dashboards_router)
    app.include_router(audit_router)
    app.include_router(shopper_router)
    app.include_router(incentives_router)
    app.include_router(users_router)
    app.include_router(me_router)
    app.include_router(privacy_router)

    web.install(app)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def health(session: SessionDep) -> Health:
        """Liveness and database reachability."""
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return Health(status="ok", database="ok")

    return app
