"""Every route needs credentials unless it is login, health, docs or the landing page."""

import re

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Route

from app.auth import get_current_principal
from app.main import PUBLIC_PATHS


def _needs_principal(dependant: Dependant) -> bool:
    return any(
        d.call is get_current_principal or _needs_principal(d) for d in dependant.dependencies
    )


def test_every_non_public_route_has_an_auth_dependency(app):
    unprotected = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            if route.path not in PUBLIC_PATHS and not _needs_principal(route.dependant):
                unprotected.append(route.path)
        elif isinstance(route, Route) and route.path not in PUBLIC_PATHS:
            unprotected.append(route.path)  # a plain Starlette route cannot carry auth
    assert unprotected == []


def test_public_list_is_only_what_the_rules_allow():
    assert PUBLIC_PATHS <= {
        "/",
        "/healthz",
        "/api/v1/auth/token",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }


def test_every_protected_route_answers_401_without_credentials(client, app):
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path not in PUBLIC_PATHS:
            path = re.sub(r"\{\w+\}", "1", route.path)
            for method in route.methods:
                response = client.request(method, path)
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
