"""The audit log for admins, filtered by action and outcome, and its CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.audit import service as audit
from app.csvexport import csv_response
from app.db import SessionDep, writes_audit
from app.web.deps import PageAuditReader
from app.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    principal: PageAuditReader,
    action: str | None = None,
    outcome: str | None = None,
    page: int = 1,
) -> HTMLResponse:
    page = max(1, page)
    rows, total = audit.list_events(
        session,
        action=action or None,
        actor=None,
        outcome=outcome or None,
        started_from=None,
        started_to=None,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    return render(
        request,
        "audit.html",
        principal,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        action=action,
        outcome=outcome,
        actions=audit.ACTIONS,
    )


@router.get("/audit.csv")
@writes_audit
def audit_export(session: SessionDep, principal: PageAuditReader) -> Response:
    with audit.audited(
        session, principal=principal, action="export", target_type="audit", target_id="log"
    ):
        rows, _ = audit.list_events(
            session,
            action=None,
            actor=None,
            outcome=None,
            started_from=None,
            started_to=None,
            limit=1_000_000,
            offset=0,
        )
    return csv_response(
        ["id", "at", "actor", "action", "target_type", "target_id", "outcome", "detail"],
        [
            (e.id, e.at, e.actor_name, e.action, e.target_type, e.target_id, e.outcome, e.detail)
            for e in rows
        ],
        filename="audit.csv",
    )
