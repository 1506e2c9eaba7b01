"""Every route of the app, flattened: FastAPI 0.16x keeps included routers as nested objects in
app.routes, so walking app.routes alone would silently find none of them."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import BaseRoute


def all_routes(app: FastAPI) -> list[BaseRoute]:
    try:
        from fastapi.routing import _iter_included_route_candidates
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(_iter_included_route_candidates(app.routes))
