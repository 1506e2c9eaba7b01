"""Alerts: the open ones to act on, acknowledged in place (htmx), and their CSV; the rules that
raise them, read by supervisors and made, changed, switched on and off by admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Session

from app.alerts import service as alerts
from app.alerts.models import RuleKind
from app.alerts.params import DIMENSIONS, param_names, params_from_form
from app.audit.service import audited
from app.auth import Principal
from app.csvexport import csv_response
from app.db import SessionDep, rollback, writes_audit
from app.errors import BadRequest, CallqaError
from app.web.deps import PageAlertManager, PageAlertReader
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


# ---- the rules ------------------------------------------------------------------------------


class RuleForm(BaseModel):
    """A rule's form: its parameters arrive as `param_<name>` extra fields (each kind has its
    own, app.alerts.params)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = PydanticField(init=False)

    name: str = PydanticField(default="", max_length=200)
    kind: str = ""
    enabled: str = ""

    def params(self, kind: RuleKind) -> dict[str, Any]:
        extra = {k: v for k, v in (self.model_extra or {}).items() if isinstance(v, str)}
        return params_from_form(kind, extra)


def _kind(value: str | None) -> RuleKind:
    try:
        return RuleKind(value or RuleKind.score_below)
    except ValueError:
        raise BadRequest(f"an alert rule's kind is one of {', '.join(RuleKind)}") from None


def _rules_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    kind: RuleKind = RuleKind.score_below,
    error: str | None = None,
    failed: int | None = None,
    form: dict[str, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "alert_rules.html",
        principal,
        code=code,
        rules=alerts.list_rules(session),
        kinds=list(RuleKind),
        kind=kind,
        param_names=param_names,
        dimensions=DIMENSIONS,
        error=error,
        failed=failed,
        form=form or {},
    )


@router.get("/alert-rules", response_class=HTMLResponse)
def rules_page(
    request: Request, session: SessionDep, principal: PageAlertReader, kind: str | None = None
) -> HTMLResponse:
    """The rules, each with a form to change it, and one to add a rule of the kind chosen."""
    return _rules_page(request, session, principal, kind=_kind(kind))


@router.post("/alert-rules", response_class=HTMLResponse)
def rules_add(
    request: Request,
    session: SessionDep,
    principal: PageAlertManager,
    _csrf: Csrf,
    form: Annotated[RuleForm, Form()],
) -> Response:
    kind = _kind(form.kind)
    try:
        if not form.name.strip():
            raise BadRequest("name the rule")
        alerts.create_rule(
            session,
            by=principal,
            name=form.name.strip(),
            kind=kind,
            params=form.params(kind),
            enabled=bool(form.enabled),
        )
    except CallqaError as exc:
        rollback(session)
        shown = {k: str(v) for k, v in form.model_dump().items()} | (form.model_extra or {})
        return _rules_page(
            request,
            session,
            principal,
            kind=kind,
            error=exc.message,
            form=shown,
            code=exc.status_code,
        )
    return back("/alert-rules")


@router.post("/alert-rules/{rule_id}", response_class=HTMLResponse)
def rules_change(
    request: Request,
    rule_id: int,
    session: SessionDep,
    principal: PageAlertManager,
    _csrf: Csrf,
    form: Annotated[RuleForm, Form()],
) -> Response:
    rule = alerts.get_rule(session, rule_id=rule_id)
    try:
        if not form.name.strip():
            raise BadRequest("name the rule")
        alerts.update_rule(
            session,
            by=principal,
            rule_id=rule_id,
            name=form.name.strip(),
            params=form.params(rule.kind),
            enabled=bool(form.enabled),
        )
    except CallqaError as exc:
        rollback(session)
        error = f"rule {rule_id}: {exc.message}"
        return _rules_page(
            request, session, principal, error=error, failed=rule_id, code=exc.status_code
        )
    return back(f"/alert-rules#rule-{rule_id}")


@router.post("/alert-rules/{rule_id}/enabled", response_class=HTMLResponse)
def rules_enable(
    rule_id: int,
    session: SessionDep,
    principal: PageAlertManager,
    _csrf: Csrf,
    enabled: Annotated[str, Form()] = "",
) -> Response:
    """Switch a rule on (`enabled` set) or off, its parameters as they are."""
    alerts.update_rule(session, by=principal, rule_id=rule_id, enabled=bool(enabled))
    return back(f"/alert-rules#rule-{rule_id}")
