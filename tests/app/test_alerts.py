"""Alerts: raised with the score, by the sweep, once each; acknowledged; sent to a signed
webhook that a real HTTP server receives."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlmodel import Session, select

from app.alerts import service as alerts
from app.alerts.models import Alert, RuleKind
from app.alerts.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from app.audit.models import AuditEvent
from app.db import engine_for
from tests.app import world as world_module
from tests.conftest import make_settings, new_database


def _alerts(session, **where):
    rows = session.exec(select(Alert)).all()
    return [a for a in rows if all(getattr(a, k) == v for k, v in where.items())]


def test_auto_fail_call_raises_an_alert_that_says_why(world, session):
    call = world.calls["a1_promise"]
    raised = _alerts(session, call_id=call.id, kind=RuleKind.auto_fail)
    assert len(raised) == 1
    assert raised[0].message.startswith("auto-fail: No forbidden promises")
    assert "risk free" in raised[0].message or "guaranteed" in raised[0].message
    # The good call raises no auto-fail and no low-score alert.
    good = world.calls["a1_good"]
    assert not [
        a
        for a in _alerts(session, call_id=good.id)
        if a.kind in (RuleKind.auto_fail, RuleKind.score_below)
    ]


def test_repeat_call_from_the_same_customer_is_a_first_contact_miss(world, session):
    second = world.calls["a1_promise"]  # customer C-1 again, one day after a1_good
    [alert] = _alerts(session, call_id=second.id, kind=RuleKind.repeat_call)
    assert "called again 24 h after call" in alert.message
    assert not _alerts(session, call_id=world.calls["a1_good"].id, kind=RuleKind.repeat_call)


def test_rescoring_does_not_raise_the_same_alert_twice(world, session):
    from app.scorecards.service import latest_score

    call = world.calls["a1_promise"]
    before = len(_alerts(session))
    alerts.check_call(session, call=call, score=latest_score(session, call_id=call.id))
    assert len(_alerts(session)) == before


def test_sweep_raises_weekly_average_alerts_once(world, session, settings, client):
    # All world calls are in ISO week 2026-W45; sweep as of the Thursday after.
    now = datetime(2026, 11, 12, tzinfo=UTC)
    client.patch(
        "/api/v1/alert-rules/5",
        headers=world.admin.headers,
        json={"params": {"dimension": "overall", "target": 101, "min_calls": 2}},
    )
    raised = alerts.sweep(session, settings=settings, now=now)
    weekly = _alerts(session, kind=RuleKind.weekly_below)
    assert {a.agent_id for a in weekly} == {world.calls["a1_good"].agent_id}  # A2 has 1 call
    assert "in 2026-W45 (2 calls)" in weekly[0].message
    assert raised == len(weekly)
    assert alerts.sweep(session, settings=settings, now=now) == 0  # once only


def test_sweep_raises_review_sla_alerts_for_unreviewed_picks(world, session, settings, client):
    from app.timeutil import utcnow

    assert alerts.sweep(session, settings=settings, now=utcnow()) == 0  # within 48 h
    client.post(
        f"/api/v1/calls/{world.calls['a2_cold'].id}/reviews",
        headers=world.sup_a.headers,
        json={"overrides": []},
    )
    later = utcnow() + timedelta(hours=49)
    alerts.sweep(session, settings=settings, now=later)
    sla = {a.call_id for a in _alerts(session, kind=RuleKind.review_sla)}
    # The auto-fail call waits for review; the reviewed one does not.
    assert world.calls["a1_promise"].id in sla
    assert world.calls["a2_cold"].id not in sla


def test_rules_validate_their_parameters(client, world):
    bad = client.post(
        "/api/v1/alert-rules",
        headers=world.admin.headers,
        json={"name": "x", "kind": "score_below", "params": {"threshold": 50}},
    )
    assert bad.status_code == 400 and "dimension" in bad.json()["detail"]
    bad = client.post(
        "/api/v1/alert-rules",
        headers=world.admin.headers,
        json={"name": "x", "kind": "dead_air", "params": {"seconds": "long"}},
    )
    assert bad.status_code == 400 and "number" in bad.json()["detail"]
    assert (
        client.post(
            "/api/v1/alert-rules",
            headers=world.sup_a.headers,
            json={"name": "x", "kind": "auto_fail"},
        ).status_code
        == 403
    )
    ok = client.post(
        "/api/v1/alert-rules",
        headers=world.admin.headers,
        json={
            "name": "Empathy under 50",
            "kind": "score_below",
            "params": {"dimension": "empathy", "threshold": 50},
        },
    )
    assert ok.status_code == 201 and ok.json()["params"]["threshold"] == 50.0


def test_rule_changes_are_audited(client, session, world):
    rule = client.post(
        "/api/v1/alert-rules",
        headers=world.admin.headers,
        json={"name": "Dead air", "kind": "dead_air", "params": {"seconds": 30}},
    ).json()
    client.patch(
        f"/api/v1/alert-rules/{rule['id']}", headers=world.admin.headers, json={"enabled": False}
    )
    trail = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == "alert_rule", AuditEvent.target_id == str(rule["id"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.actor_name for e in trail] == [world.admin.email] * 2
    assert trail[0].detail.startswith("created: Dead air (dead_air, on)")
    assert trail[1].detail.startswith("changed: Dead air (dead_air, off)")


def test_acknowledge_and_list(client, world):
    items = client.get("/api/v1/alerts", params={"open": True}, headers=world.sup_a.headers).json()[
        "items"
    ]
    target = next(a for a in items if a["kind"] == "auto_fail")
    assert target["link"] == f"/calls/{target['call_id']}" and target["agent"] == "A1"
    r = client.post(f"/api/v1/alerts/{target['id']}/acknowledge", headers=world.sup_a.headers)
    assert r.status_code == 200 and r.json()["acknowledged_at"]
    still_open = client.get(
        "/api/v1/alerts", params={"open": True}, headers=world.sup_a.headers
    ).json()["items"]
    assert target["id"] not in {a["id"] for a in still_open}
    assert (
        client.post(
            f"/api/v1/alerts/{target['id']}/acknowledge", headers=world.sup_b.headers
        ).status_code
        == 404
    )


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first > 0:
            _Receiver.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_delivery_is_signed_and_retried(tmp_path):
    url, drop = new_database("sqlite", tmp_path)
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received, _Receiver.fail_first = [], 1
    settings = make_settings(
        tmp_path / "data",
        url,
        alert_webhook_secret="hook-secret",
        alert_webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
        public_url="https://qa.example.com/",
    )
    try:
        engine = engine_for(url)
        with Session(engine) as session:
            w = world_module.build(session, settings)
            session.commit()
            promise_call = w.calls["a1_promise"].id
            expected = len(session.exec(select(Alert)).all())
        assert expected >= 2
        # The receiver answers 503 once: that alert stays pending and goes next time.
        first = alerts.deliver_pending(engine, settings)
        assert first == expected - 1
        with Session(engine) as session:
            pending = session.exec(select(Alert).where(Alert.delivered_at == None)).all()  # noqa: E711
            assert len(pending) == 1 and "503" in pending[0].delivery_error
        assert alerts.deliver_pending(engine, settings) == 1
        assert alerts.deliver_pending(engine, settings) == 0
        assert len(_Receiver.received) == expected
        for headers, body in _Receiver.received:
            assert verify("hook-secret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
            assert not verify("wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
            assert not verify(
                "hook-secret", headers[TIMESTAMP_HEADER], body + b" ", headers[SIGNATURE_HEADER]
            )
        kinds = {json.loads(b)["kind"] for _, b in _Receiver.received}
        assert "auto_fail" in kinds
        auto = next(
            json.loads(b) for _, b in _Receiver.received if json.loads(b)["kind"] == "auto_fail"
        )
        assert auto["call_id"] == promise_call and auto["agent"] == "A1"
        # The receiver gets an address it can open, not only our path.
        assert auto["url"] == f"https://qa.example.com/calls/{promise_call}"
        # A replayed old delivery is refused by a receiver that checks the time.
        headers, body = _Receiver.received[0]
        later = int(headers[TIMESTAMP_HEADER]) + timedelta(minutes=10).total_seconds()
        assert not verify(
            "hook-secret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=later
        )
    finally:
        server.shutdown()
        drop()  # type: ignore[operator]


def test_rule_parameters_are_one_typed_union() -> None:
    from app.alerts.models import RuleKind
    from app.alerts.params import DeadAir, WeeklyBelow, parse_params
    from app.errors import BadRequest

    typed = parse_params(
        RuleKind.weekly_below, {"dimension": "empathy", "target": 70, "min_calls": 5}
    )
    assert isinstance(typed, WeeklyBelow) and typed.min_calls == 5
    assert isinstance(parse_params(RuleKind.dead_air, {"seconds": 12.5}), DeadAir)
    for bad, says in [
        ({"seconds": True}, "seconds"),
        ({}, "needs the parameter 'seconds'"),
        ({"seconds": 3, "minutes": 1}, "takes no parameter 'minutes'"),
    ]:
        with pytest.raises(BadRequest, match=says):
            parse_params(RuleKind.dead_air, bad)
    with pytest.raises(BadRequest, match="dimension"):
        parse_params(RuleKind.score_below, {"dimension": "charm", "threshold": 50})


def test_a_layout_the_words_contradict_raises_a_channel_swapped_alert(client, world, session):
    from app.calls.models import Transcript
    from app.scorecards.service import latest_score

    made = client.post(
        "/api/v1/alert-rules",
        headers=world.admin.headers,
        json={"name": "agent channel", "kind": "channel_swapped", "params": {}},
    )
    assert made.status_code == 201, made.text
    bad = client.post(
        "/api/v1/alert-rules",
        headers=world.admin.headers,
        json={"name": "x", "kind": "channel_swapped", "params": {"days": 3}},
    )
    assert bad.status_code == 400 and "takes no parameter 'days'" in bad.json()["detail"]
    swapped, fine = world.calls["a1_good"], world.calls["a1_promise"]
    reason = "agent channel looks swapped: the layout named at upload puts the agent left"
    for call, roles in (
        (swapped, {"method": "layout", "agent_side": "left", "swapped": True, "reason": reason}),
        (fine, {"method": "layout", "agent_side": "left", "swapped": False, "reason": "ok"}),
    ):
        transcript = session.exec(select(Transcript).where(Transcript.call_id == call.id)).one()
        transcript.roles = roles
        session.add(transcript)
        session.flush()
        alerts.check_call(session, call=call, score=latest_score(session, call_id=call.id))
    [alert] = _alerts(session, kind=RuleKind.channel_swapped)
    assert alert.call_id == swapped.id and alert.message == reason
    detail = client.get(f"/api/v1/calls/{swapped.id}", headers=world.admin.headers).json()
    assert detail["transcript"]["roles"]["swapped"] is True
    assert detail["transcript"]["warnings"] == [f"agent channel looks swapped: {reason}"]


def test_one_cause_raises_one_alert_and_a_review_that_clears_it_closes_it(client, world, session):
    from app.alerts.models import AlertRule

    call = world.calls["a1_promise"]
    overall_rules = {
        r.id
        for r in session.exec(select(AlertRule)).all()
        if r.kind is RuleKind.score_below and r.params.get("dimension") == "overall"
    }
    assert overall_rules, "the seeded rules watch the overall score"
    # The auto-fail took the overall down with it: one alert says so, not two.
    [auto] = _alerts(session, call_id=call.id, kind=RuleKind.auto_fail)
    assert not [a for a in _alerts(session, call_id=call.id) if a.rule_id in overall_rules]
    score = client.get(f"/api/v1/calls/{call.id}", headers=world.sup_a.headers).json()["score"]
    [failing] = [c["id"] for c in score["criteria"] if c["auto_fail"] and not c["passed"]]
    # A review that keeps the auto-fail leaves the alert open...
    client.post(
        f"/api/v1/calls/{call.id}/reviews", headers=world.sup_a.headers, json={"overrides": []}
    )
    session.refresh(auto)
    assert auto.acknowledged_at is None
    # ...one that clears it closes it, saying which review did; and a reviewed overall still
    # under the rule's threshold is now a cause of its own (the auto-fail stood in for it).
    overall_rule = session.get(AlertRule, min(overall_rules))
    overall_rule.params = {**overall_rule.params, "threshold": 100.0}
    session.add(overall_rule)
    session.flush()
    r = client.post(
        f"/api/v1/calls/{call.id}/reviews",
        headers=world.sup_a.headers,
        json={
            "overrides": [
                {"target": "criterion", "key": failing, "value": True, "reason": "a quote"}
            ]
        },
    )
    assert r.status_code in (200, 201), r.text
    session.refresh(auto)
    assert (
        auto.acknowledged_at is not None
        and auto.resolution == f"cleared by review {r.json()['id']}"
    )
    [low] = [a for a in _alerts(session, call_id=call.id) if a.rule_id == overall_rule.id]
    assert "(reviewed, review" in low.message and low.acknowledged_at is None
    listed = client.get("/api/v1/alerts", headers=world.sup_a.headers).json()["items"]
    assert next(a for a in listed if a["id"] == auto.id)["resolution"].startswith("cleared by")
    # What a review does not change stays open: the customer did call again.
    [repeat] = _alerts(session, call_id=call.id, kind=RuleKind.repeat_call)
    assert repeat.acknowledged_at is None
