"""Every route needs credentials unless it is login, health, docs or the landing page."""

import re

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from app.auth import get_current_principal
from app.main import PUBLIC_PATHS
from app.web.session import get_web_principal
from tests.routes import all_routes


def _needs(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _needs(d, call) for d in dependant.dependencies)


def _api_routes(app) -> list[APIRoute]:
    routes = [r for r in all_routes(app) if isinstance(r, APIRoute)]
    # Guard against walking nothing (and so proving nothing).
    assert len(routes) > 50
    return routes


def test_every_non_public_route_has_an_auth_dependency(app):
    unprotected = []
    for route in all_routes(app):
        if isinstance(route, APIRoute):
            if route.path in PUBLIC_PATHS:
                continue
            guard = get_current_principal if route.path.startswith("/api/") else get_web_principal
            if not _needs(route.dependant, guard):
                unprotected.append(route.path)
        elif isinstance(route, Mount):
            # Stylesheet and scripts only; the API viewers' own assets (fastapi-offline).
            assert route.path in ("/static", "/static-offline-docs")
        elif isinstance(route, Route) and route.path not in PUBLIC_PATHS:
            unprotected.append(route.path)  # a plain Starlette route cannot carry auth
    assert unprotected == []


def test_public_list_is_only_what_the_rules_allow():
    assert PUBLIC_PATHS <= {
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


def test_the_api_viewers_come_from_this_server_not_a_cdn(client):
    # A self-hosted install often has no way out: /docs and /redoc must not need one.
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        answer = client.get(page)
        html = answer.text
        # Their policy lets the browser reach this server only.
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert "http" not in answer.headers["content-security-policy"]
        assert f"/static-offline-docs/{asset}" in html
        assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
        served = client.get(f"/static-offline-docs/{asset}")
        assert served.status_code == 200 and len(served.content) > 500_000
    assert "swagger-ui" in client.get("/static-offline-docs/swagger-ui.css").text


def test_every_protected_route_answers_401_or_goes_to_login(client, app):
    for route in _api_routes(app):
        if route.path in PUBLIC_PATHS:
            continue
        path = re.sub(r"\{\w+\}", "1", route.path)
        for method in route.methods:
            response = client.request(method, path, follow_redirects=False)
            if route.path.startswith("/api/"):
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
            else:
                assert response.status_code == 303, (method, path, response.text)
                assert response.headers["location"].startswith("/login?next=")
