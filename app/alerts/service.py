"""Management by exception: rules that raise alerts on a call or an agent, and their delivery.

Per-call rules run when a call is scored, in the same transaction as the score. Rules over time
(an agent's weekly average, the review SLA) run in `sweep`, which every worker calls
periodically and `callqa alerts sweep` runs on demand. Each alert has a dedupe key, so a rescore
or a second sweep never raises the same alert twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from sqlalchemy import Engine, and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.alerts import webhook
from app.alerts.models import Alert, AlertRule, RuleKind
from app.alerts.params import validate_params
from app.audit.service import record
from app.auth import Principal
from app.calls.models import Call, Transcript
from app.config import Settings
from app.db import unit_of_work
from app.errors import NotFound
from app.reviews.effective import review_queue, scored_calls
from app.reviews.models import Review
from app.scope import agent_filter
from app.scorecards.models import CallScore
from app.timeutil import as_utc, local, utcnow, week_start
from app.users.models import Agent

log = logging.getLogger(__name__)


def list_rules(session: Session) -> list[AlertRule]:
    """Every rule, oldest first: rules are the organisation's, not a team's."""
    return list(session.exec(select(AlertRule).order_by(col(AlertRule.id))))


def create_rule(
    session: Session,
    *,
    by: Principal,
    name: str,
    kind: RuleKind,
    params: dict[str, Any],
    enabled: bool = True,
) -> AlertRule:
    """A new rule; its parameters are checked for its kind (a 400 names what is wrong)."""
    rule = AlertRule(name=name, kind=kind, params=validate_params(kind, params), enabled=enabled)
    session.add(rule)
    session.flush()
    _audit(session, by, rule, "created")
    return rule


def _audit(session: Session, by: Principal, rule: AlertRule, what: str) -> None:
    # Switching a rule off silences a whole kind of alert for everyone: who did it is kept.
    state = "on" if rule.enabled else "off"
    record(
        session,
        principal=by,
        action="alert_rule",
        target_type="alert_rule",
        target_id=rule.id,
        detail=f"{what}: {rule.name} ({rule.kind.value}, {state}) {rule.params}",
    )


def get_rule(session: Session, *, rule_id: int) -> AlertRule:
    rule = session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound(f"alert rule {rule_id} not found")
    return rule


def update_rule(
    session: Session,
    *,
    by: Principal,
    rule_id: int,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    enabled: bool | None = None,
) -> AlertRule:
    """Change what is given of a rule (its kind stays); an unknown id is 404."""
    rule = get_rule(session, rule_id=rule_id)
    if params is not None:
        rule.params = validate_params(rule.kind, params)
    if name is not None:
        rule.name = name
    if enabled is not None:
        rule.enabled = enabled
    session.add(rule)
    session.flush()
    _audit(session, by, rule, "changed")
    return rule


def _add(session: Session, alert: Alert) -> Alert | None:
    """Insert unless an alert with the same key exists (a savepoint keeps the transaction)."""
    if session.exec(select(Alert.id).where(Alert.dedupe_key == alert.dedupe_key)).first():
        return None
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None
    return alert


def _label(field: str) -> str:
    return field.replace("_", " ")


def check_call(session: Session, *, call: Call, score: CallScore) -> list[Alert]:
    """Evaluate the per-call rules on a freshly scored call."""
    raised: list[Alert] = []
    rules = session.exec(select(AlertRule).where(col(AlertRule.enabled))).all()
    stored = score.result()
    # One cause, one alert: an auto-fail takes the overall down with it, so where it raises
    # its own alert the overall's "under the threshold" would say the same thing twice.
    auto_failing = score.auto_fail and any(r.kind is RuleKind.auto_fail for r in rules)
    for rule in rules:
        p, message = rule.params, None
        if rule.kind is RuleKind.auto_fail and score.auto_fail:
            message = "auto-fail: " + "; ".join(stored.auto_fail_reasons)
        elif rule.kind is RuleKind.score_below:
            if auto_failing and p["dimension"] == "overall":
                continue
            value = getattr(score, p["dimension"])
            if value is not None and value < p["threshold"]:
                message = f"{_label(p['dimension'])} {value:.0f} under {p['threshold']:.0f}"
        elif rule.kind is RuleKind.negative_ending:
            end = stored.sentiment.get("customer_end")
            if end is not None and end <= p["threshold"]:
                message = f"the customer ended the call negative (sentiment {end:+.2f})"
        elif rule.kind is RuleKind.dead_air:
            longest = stored.metrics.get("longest_dead_air") or 0
            if longest > p["seconds"]:
                message = f"{longest:.0f} s of dead air (limit {p['seconds']:.0f} s)"
        elif rule.kind is RuleKind.channel_swapped:
            roles = session.exec(
                select(Transcript.roles).where(Transcript.call_id == call.id)
            ).first()
            if roles and roles.get("swapped"):
                message = roles.get("reason") or "agent channel looks swapped"
        elif rule.kind is RuleKind.repeat_call and call.customer_ref:
            since = as_utc(call.started_at) - timedelta(days=p["days"])
            # The call before this one (same start time: the one uploaded first).
            earlier = session.exec(
                select(Call)
                .where(
                    Call.customer_ref == call.customer_ref,
                    Call.id != call.id,
                    Call.started_at >= since,
                    or_(
                        col(Call.started_at) < call.started_at,
                        and_(
                            col(Call.started_at) == call.started_at, col(Call.id) < (call.id or 0)
                        ),
                    ),
                )
                .order_by(col(Call.started_at).desc(), col(Call.id).desc())
            ).first()
            if earlier is not None:
                hours = (as_utc(call.started_at) - as_utc(earlier.started_at)).total_seconds()
                message = (
                    f"customer {call.customer_ref} called again {hours / 3600:.0f} h "
                    f"after call {earlier.id}: not resolved on first contact"
                )
        if message is None:
            continue
        alert = _add(
            session,
            Alert(
                rule_id=rule.id or 0,
                kind=rule.kind,
                dedupe_key=f"{rule.id}:call:{call.id}",
                call_id=call.id,
                agent_id=call.agent_id,
                message=message[:2000],
            ),
        )
        if alert is not None:
            raised.append(alert)
    session.flush()
    return raised


def close_cleared(session: Session, call: Call, review: Review) -> list[Alert]:
    """A review that clears an open alert's cause closes it (no auto-fail once reviewed, the
    score back over the threshold), saying so; returns the alerts it closed. Other alerts
    (dead air, a repeat call) stay: a review does not change what happened on the call."""
    closed = []
    for alert in session.exec(
        select(Alert).where(Alert.call_id == call.id, col(Alert.acknowledged_at).is_(None))
    ).all():
        rule = session.get(AlertRule, alert.rule_id)
        if rule is None:
            continue
        if alert.kind is RuleKind.auto_fail:
            cleared = not review.auto_fail
        elif alert.kind is RuleKind.score_below:
            value = getattr(review, rule.params["dimension"], None)
            cleared = value is not None and value >= rule.params["threshold"]
        else:
            cleared = False
        if cleared:
            alert.acknowledged_at = utcnow()
            alert.acknowledged_by = review.reviewer_id
            alert.resolution = f"cleared by review {review.id}"
            session.add(alert)
            closed.append(alert)
            if alert.kind is RuleKind.auto_fail:
                _overall_after_review(session, call, review)
    session.flush()
    return closed


def _overall_after_review(session: Session, call: Call, review: Review) -> None:
    """With the auto-fail gone, a low overall is a cause of its own: the alert that the
    auto-fail stood in for at scoring is raised now if the reviewed overall is still low."""
    for rule in session.exec(
        select(AlertRule).where(col(AlertRule.enabled), AlertRule.kind == RuleKind.score_below)
    ).all():
        p = rule.params
        if p["dimension"] != "overall" or review.overall is None:
            continue
        if review.overall < p["threshold"]:
            _add(
                session,
                Alert(
                    rule_id=rule.id or 0,
                    kind=rule.kind,
                    dedupe_key=f"{rule.id}:call:{call.id}",
                    call_id=call.id,
                    agent_id=call.agent_id,
                    message=(
                        f"overall {review.overall:.0f} under {p['threshold']:.0f} "
                        f"(reviewed, review {review.id})"
                    ),
                ),
            )


@dataclass(frozen=True)
class SweepResult:
    raised: int
    delivered: int


def sweep(session: Session, *, settings: Settings, now: datetime | None = None) -> int:
    """Evaluate the rules over time; returns the number of alerts raised. Never commits."""
    now = as_utc(now or utcnow())
    raised = 0
    for rule in session.exec(select(AlertRule).where(col(AlertRule.enabled))).all():
        p = rule.params
        if rule.kind is RuleKind.weekly_below:
            # The last complete week, Monday to Monday as the organisation's clock has it.
            end = week_start(now, settings.zone)
            start = week_start(end - timedelta(days=1), settings.zone)
            per_agent: dict[int, list[float]] = {}
            for s in scored_calls(session, principal=None, started_from=start, started_to=end):
                value = s.value(p["dimension"])
                if value is not None:
                    per_agent.setdefault(s.call.agent_id, []).append(value)
            for agent_id, values in per_agent.items():
                avg = mean(values)
                if len(values) >= p["min_calls"] and avg < p["target"]:
                    week = local(start, settings.zone).strftime("%G-W%V")
                    raised += (
                        _add(
                            session,
                            Alert(
                                rule_id=rule.id or 0,
                                kind=rule.kind,
                                agent_id=agent_id,
                                dedupe_key=f"{rule.id}:agent:{agent_id}:{week}",
                                message=(
                                    f"weekly average {_label(p['dimension'])} {avg:.1f} under "
                                    f"target {p['target']:.0f} in {week} ({len(values)} calls)"
                                ),
                            ),
                        )
                        is not None
                    )
        elif rule.kind is RuleKind.review_sla:
            deadline = now - timedelta(hours=p["hours"])
            for call, score, why in review_queue(
                session,
                principal=None,
                share=settings.review_sample_share,
                below=settings.review_below,
                limit=None,
            ):
                if as_utc(score.created_at) <= deadline:
                    raised += (
                        _add(
                            session,
                            Alert(
                                rule_id=rule.id or 0,
                                kind=rule.kind,
                                call_id=call.id,
                                agent_id=call.agent_id,
                                dedupe_key=f"{rule.id}:call:{call.id}",
                                message=(
                                    f"picked for review ({why}) and not reviewed within "
                                    f"{p['hours']:.0f} h of scoring"
                                ),
                            ),
                        )
                        is not None
                    )
    session.flush()
    return raised


def payload(alert: Alert, agent: str | None, public_url: str | None = None) -> dict[str, Any]:
    """The alert as the API and the webhook send it. `link` is the page's path; `url` its full
    address when CALLQA_PUBLIC_URL says where people reach callqa (the webhook's receiver,
    a chat channel say, cannot complete a path)."""
    link = f"/calls/{alert.call_id}" if alert.call_id else f"/agents/{alert.agent_id}"
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "message": alert.message,
        "call_id": alert.call_id,
        "agent": agent,
        "rule_id": alert.rule_id,
        "created_at": as_utc(alert.created_at).isoformat(),
        "link": link,
        "url": public_url.rstrip("/") + link if public_url else None,
    }


def deliver_pending(engine: Engine, settings: Settings, *, max_attempts: int = 5) -> int:
    """Send undelivered alerts to the webhook; a failure is kept and retried next sweep. No
    transaction is open while a request is in flight: each outcome is written on its own."""
    if not settings.alert_webhook_url:
        return 0
    secret = settings.alert_webhook_secret or settings.signing_key
    sent = 0
    with unit_of_work(engine, writes=False) as session:
        pending = session.exec(
            select(Alert, Agent.external_id)
            .outerjoin(Agent, col(Agent.id) == Alert.agent_id)
            .where(col(Alert.delivered_at).is_(None), Alert.delivery_attempts < max_attempts)
            .order_by(col(Alert.id))
            .limit(100)
        ).all()
    for alert, agent in pending:
        delivered_at, error = None, None
        try:
            webhook.deliver(
                settings.alert_webhook_url, secret, payload(alert, agent, settings.public_url)
            )
            delivered_at = utcnow()
            sent += 1
        except Exception as exc:  # the receiver's problem must not stop the sweep
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("alert %s not delivered: %s", alert.id, error)
        with unit_of_work(engine) as session:
            session.exec(
                update(Alert)
                .where(col(Alert.id) == alert.id)
                .values(  # type: ignore[call-overload]
                    delivered_at=delivered_at,
                    delivery_error=error,
                    delivery_attempts=Alert.delivery_attempts + 1,
                )
            )
    return sent


def run_sweep(engine: Engine, settings: Settings) -> SweepResult:
    with unit_of_work(engine) as session:
        raised = sweep(session, settings=settings)
    return SweepResult(raised=raised, delivered=deliver_pending(engine, settings))


def visible_alerts(principal: Principal) -> Any:
    query = select(Alert)
    clause = agent_filter(principal, Alert.agent_id)
    return query if clause is None else query.where(clause)


def list_alerts(
    session: Session,
    *,
    principal: Principal,
    open_only: bool,
    kind: RuleKind | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Alert, str | None]], int]:
    query = visible_alerts(principal)
    if open_only:
        query = query.where(col(Alert.acknowledged_at).is_(None))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    listed = select(Alert, Agent.external_id).outerjoin(Agent, col(Agent.id) == Alert.agent_id)
    listed = listed.where(col(Alert.id).in_(query.with_only_columns(col(Alert.id))))
    rows = session.exec(listed.order_by(col(Alert.id).desc()).limit(limit).offset(offset)).all()
    return [(a, ext) for a, ext in rows], total


def acknowledge(session: Session, *, principal: Principal, alert_id: int) -> Alert:
    alert = session.exec(visible_alerts(principal).where(Alert.id == alert_id)).first()
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = utcnow(), principal.user_id
        session.add(alert)
        session.flush()
    return alert


def agent_of(session: Session, alert: Alert) -> str | None:
    """The external id of the alert's agent, if it is about one."""
    agent = session.get(Agent, alert.agent_id) if alert.agent_id else None
    return agent.external_id if agent else None


CSV_HEADER = ["id", "kind", "message", "call_id", "agent", "created_at", "acknowledged_at"]


def csv_rows(rows: list[tuple[Alert, str | None]]) -> list[tuple[object, ...]]:
    """`list_alerts` rows as the export has them."""
    return [
        (a.id, a.kind.value, a.message, a.call_id, agent, a.created_at, a.acknowledged_at)
        for a, agent in rows
    ]
