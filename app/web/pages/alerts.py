"""Alerts: the open ones to act on, acknowledged in place (htmx), and their CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.alerts import service as alerts
from app.audit.service import audited
from app.csvexport import csv_response
from app.db import SessionDep, writes_audit
from app.web.deps import PageAlertReader
from app.web.render import back, render
from app.web.session import Csrf

router = APIRouter(include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, session: SessionDep, principal: PageAlertReader, show: str = "open"
) -> HTMLResponse:
    rows, total = alerts.list_alerts(
        session, principal=principal, open_only=show == "open", kind=None, limit=200, offset=0
    )
    return render(request, "alerts.html", principal, rows=rows, total=total, show=show)


@router.post("/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_alert(
    request: Request, alert_id: int, session: SessionDep, principal: PageAlertReader, _csrf: Csrf
) -> Response:
    alert = alerts.acknowledge(session, principal=principal, alert_id=alert_id)
    if request.headers.get("hx-request"):
        return render(
            request,
            "_alert_row.html",
            principal,
            alert=alert,
            agent=alerts.agent_of(session, alert),
        )
    return back("/alerts")


@router.get("/alerts.csv")
@writes_audit
def alerts_export(session: SessionDep, principal: PageAlertReader) -> Response:
    with audited(
        session, principal=principal, action="export", target_type="alerts", target_id="list"
    ):
        rows, _ = alerts.list_alerts(
            session, principal=principal, open_only=False, kind=None, limit=100_000, offset=0
        )
    return csv_response(alerts.CSV_HEADER, alerts.csv_rows(rows), filename="alerts.csv")
