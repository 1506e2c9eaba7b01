"""The browser editors (issue 15, item 4): a draft scorecard tried on a stored call beside its
current score (service, API and page), a new version saved from the criteria form, and alert
rules made and changed from their page."""

from __future__ import annotations

import dataclasses
import html
import re

from sqlmodel import select

import qa
from app.alerts.models import AlertRule, RuleKind
from app.audit.models import AuditEvent
from app.calls import preview
from app.scorecards import service as scorecards
from app.scorecards.models import CallScore, ScorecardVersion
from app.teams.models import Team
from app.web import scorecard_form
from app.web.session import CSRF_COOKIE
from qa import yamlload
from tests.app.test_web import _login
from tests.app.world import ADMIN


def _default(session) -> str:  # type: ignore[no-untyped-def]
    return scorecards.current_version(session).definition


def _stricter_dead_air(definition: str, limit: str = "1") -> str:
    """The default with the dead-air limit (10 s) tightened, so a call with 2 s of it fails."""
    data = yamlload.load(definition)
    crit = next(c for c in data["criteria"] if c["id"] == "dead_air")
    crit["max"] = float(limit)
    return scorecard_form.Draft(data).yaml()


def test_a_draft_equal_to_the_scorecard_changes_nothing(world, session, settings):
    result = preview.preview_score(
        session,
        principal=ADMIN,
        call_id=world.calls["a1_good"].id,
        definition=_default(session),
        embedder=preview.embedder_for(settings),
    )
    assert result.changed == [] and result.overall.delta == 0
    assert all(d.delta in (0, None) for d in result.dimensions)
    assert result.current == "default v1"


def test_a_tightened_criterion_flips_and_the_overall_falls_by_its_share(world, session, settings):
    call = world.calls["a1_good"]
    stored = scorecards.latest_score(session, call_id=call.id).result()
    dead_air = stored.criterion("dead_air")
    assert dead_air.passed and dead_air.applicable  # 2.2 s of dead air, under 10 s
    scores_before = session.exec(select(CallScore).where(CallScore.call_id == call.id)).all()

    result = preview.preview_score(
        session,
        principal=ADMIN,
        call_id=call.id,
        definition=_stricter_dead_air(_default(session)),
        embedder=preview.embedder_for(settings),
    )
    assert result.changed == ["dead_air"]
    row = next(c for c in result.criteria if c.id == "dead_air")
    assert (row.before, row.after) == ("pass", "fail") and "above 1" in row.reason
    # Responsiveness loses the criterion's weight among its judged criteria, and the overall
    # (equal weights of the dimensions and script compliance that were judged) falls with it.
    judged = [c for c in stored.applicable if c.dimension == "responsiveness"]
    share = 100 * dead_air.weight / sum(c.weight for c in judged)
    figure = next(d for d in result.dimensions if d.name == "responsiveness")
    assert abs(figure.after - (figure.before - share)) <= 0.1 and figure.delta < 0
    others = [d for d in result.dimensions if d.name != "responsiveness"]
    assert all(d.delta in (0, None) for d in others)
    parts = [d.after for d in result.dimensions if d.after is not None]
    assert abs(result.overall.after - sum(parts) / len(parts)) <= 0.1
    assert result.overall.delta == round(result.overall.after - result.overall.before, 1) < 0
    # Nothing stored: no score, no version; only the transcript view is audited.
    assert (
        session.exec(select(CallScore).where(CallScore.call_id == call.id)).all() == scores_before
    )
    assert len(session.exec(select(ScorecardVersion)).all()) == 1
    views = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "transcript_view", AuditEvent.target_id == str(call.id)
        )
    ).all()
    assert [v.detail for v in views] == ["scorecard preview"]


def test_preview_api_answers_the_diff_and_refuses_what_it_must(client, world, session):
    call = world.calls["a1_good"].id
    body = {"definition": _stricter_dead_air(_default(session)), "call_id": call}
    r = client.post("/api/v1/scorecards/preview", headers=world.sup_a.headers, json=body)
    assert r.status_code == 200, r.text
    diff = r.json()
    assert diff["changed"] == ["dead_air"] and diff["overall"]["delta"] < 0
    assert diff["overall"]["after"] < diff["overall"]["before"]

    broken = {"definition": "name: x\ncriteria: [", "call_id": call}
    r = client.post("/api/v1/scorecards/preview", headers=world.sup_a.headers, json=broken)
    assert r.status_code == 422 and "not valid YAML" in r.json()["detail"]
    unsafe = _default(session).replace('pattern: "', 'pattern: "(a+)+$|', 1)
    r = client.post(
        "/api/v1/scorecards/preview",
        headers=world.sup_a.headers,
        json={"definition": unsafe, "call_id": call},
    )
    assert r.status_code == 422 and "refused" in r.json()["detail"]
    # Another team's call is not there for this supervisor, nor is a call that does not exist.
    other = {**body, "call_id": world.calls["b1_good"].id}
    r = client.post("/api/v1/scorecards/preview", headers=world.sup_a.headers, json=other)
    assert r.status_code == 404
    missing = {**body, "call_id": 999_999}
    assert (
        client.post(
            "/api/v1/scorecards/preview", headers=world.sup_a.headers, json=missing
        ).status_code
        == 404
    )
    # Agents change no scorecard, so they try none.
    r = client.post("/api/v1/scorecards/preview", headers=world.a1.headers, json=body)
    assert r.status_code == 403
    assert client.post("/api/v1/scorecards/preview", json=body).status_code == 401


def test_the_form_round_trips_a_definition_unchanged(session):
    """What the form shows of the default, posted back untouched, is the same scorecard."""
    draft = scorecard_form.load(_default(session))
    fields: dict[str, str] = {}
    for c in scorecard_form.views(draft):
        p = f"c{c.index}."
        fields |= {p + "kind": c.kind, p + "fields": c.names, p + "id": c.id}
        for f in c.fields:
            if f.type == "flag":
                if f.value:
                    fields[p + f.name] = "1"
            elif f.type == "grouped":
                for lang, text in f.value:
                    fields[p + f.name + (f"@{lang}" if lang else "")] = text
            else:
                fields[p + f.name] = f.value
        fields |= {f"{p}call_types.{t}": "1" for t in c.call_types}
        fields |= {f"{p}directions.{d}": "1" for d in c.directions}
    fields |= {f"w.{d}": w for d, w in scorecard_form.weights(draft)}
    back = scorecard_form.from_form("default", fields)
    assert back.problems == []
    before, after = qa.parse(_default(session)), qa.parse(back.yaml())
    assert after.criteria == tuple(
        dataclasses.replace(c, line=a.line)
        for c, a in zip(before.criteria, after.criteria, strict=True)
    )
    assert after.dimension_weights == before.dimension_weights


def _editor_fields(client, path: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The fields of the editor form as the browser would post them (ticked boxes only)."""
    html = client.get(path).text
    form = html[html.index('id="editor"') :]
    fields: dict[str, str] = {}
    for tag in re.finditer(r"<(input|textarea|select)\b([^>]*)>", form):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(2)))
        name = attrs.get("name")
        if not name or name in ("action", "call_id"):
            continue
        if tag.group(1) == "textarea":
            end = form.index("</textarea>", tag.end())
            fields[name] = _unescape(form[tag.end() : end])
        elif tag.group(1) == "select":
            end = form.index("</select>", tag.end())
            options = re.findall(r"<option([^>]*)>([^<]*)<", form[tag.end() : end])
            chosen = next((o for o in options if "selected" in o[0].split()), options[0])
            value = re.search(r'value="([^"]*)"', chosen[0])
            fields[name] = _unescape(value.group(1) if value else chosen[1])
        elif attrs.get("type") == "checkbox":
            if "checked" in tag.group(2).split():
                fields[name] = attrs.get("value", "on")
        else:
            fields[name] = _unescape(attrs.get("value", ""))
    return fields


def _unescape(text: str) -> str:
    return html.unescape(text)


def _index_of(fields: dict[str, str], criterion: str) -> str:
    return next(k.split(".")[0] for k, v in fields.items() if k.endswith(".id") and v == criterion)


def test_a_new_version_is_saved_from_the_form_and_a_mistake_stores_nothing(client, world, session):
    _login(client, world.admin.email)
    fields = _editor_fields(client, "/scorecards/default/edit")
    csrf = client.cookies.get(CSRF_COOKIE)
    c = _index_of(fields, "dead_air")
    assert fields[f"{c}.max"] == "10"

    bad = {**fields, f"{c}.max": "ten", "csrf": csrf, "action": "save"}
    r = client.post("/scorecards/default/edit", data=bad)
    assert r.status_code == 422 and "criterion dead_air: max must be a number" in r.text
    assert 'value="ten"' in r.text  # shown back as typed
    # A rule qa.parse enforces, said of the criterion rather than of a line of generated YAML.
    g = _index_of(fields, "greeting")
    empty = {k: v for k, v in fields.items() if not k.startswith(f"{g}.examples")}
    r = client.post("/scorecards/default/edit", data={**empty, "csrf": csrf, "action": "save"})
    assert r.status_code == 422 and "criterion greeting: an examples criterion needs" in r.text
    assert len(scorecards.versions_of(session, principal=ADMIN, name="default")) == 1

    # Try first: the page shows the flip and the fall of the overall, and stores nothing.
    tried = {**fields, f"{c}.max": "1", "csrf": csrf, "action": "preview"}
    tried["call_pick"] = str(world.calls["a1_good"].id)
    r = client.post("/scorecards/default/edit", data=tried)
    assert r.status_code == 200, r.text
    assert re.search(r'<tr data-criterion="dead_air" class="differ">', r.text)
    assert "1 criterion judged differently: <strong>dead_air</strong>" in r.text
    assert 'value="1"' in r.text  # the draft is kept on the page
    assert len(scorecards.versions_of(session, principal=ADMIN, name="default")) == 1

    # Remove one criterion, weigh another, save.
    n = _index_of(fields, "few_interruptions")
    saved = {**fields, f"{c}.max": "5", f"{n}.remove": "1", "csrf": csrf, "action": "save"}
    r = client.post("/scorecards/default/edit", data=saved, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/scorecards/default/edit?saved=2"
    page = client.get(r.headers["location"])
    assert "Saved as version 2" in page.text
    card = scorecards.to_scorecard(scorecards.current_version(session))
    assert card.version == 2
    ids = [x.id for x in card.criteria]
    assert "few_interruptions" not in ids and len(ids) == 23
    assert next(x for x in card.criteria if x.id == "dead_air").max == 5


def test_adding_a_criterion_shows_its_kind_s_fields(client, world):
    _login(client, world.admin.email)
    fields = _editor_fields(client, "/scorecards/default/edit")
    csrf = client.cookies.get(CSRF_COOKIE)
    r = client.post(
        "/scorecards/default/edit",
        data={**fields, "csrf": csrf, "action": "add", "new_kind": "metric"},
    )
    assert r.status_code == 200
    new = r.text[r.text.index('data-criterion="new_metric_1"') :]
    new = new[: new.index("</fieldset>")]
    assert 'name="c24.metric"' in new and 'name="c24.max"' in new
    assert "c24.examples" not in new


def test_a_supervisor_tries_the_global_scorecard_but_only_an_admin_saves_it(client, session, world):
    _login(client, world.sup_a.email)
    assert "/scorecards" in client.get("/scorecards").text
    fields = _editor_fields(client, "/scorecards/default/edit")
    csrf = client.cookies.get(CSRF_COOKIE)
    assert 'id="read-only"' in client.get("/scorecards/default/edit").text
    r = client.post("/scorecards/default/edit", data={**fields, "csrf": csrf, "action": "save"})
    assert r.status_code == 403 and "only an admin may change it" in r.text
    # Another team's call is not offered, and asked for by id it is not found.
    listed = client.get("/scorecards/default/edit").text
    assert f"#{world.calls['b1_good'].id} " not in listed
    other = {**fields, "csrf": csrf, "action": "preview", "call_id": str(world.calls["b1_good"].id)}
    r = client.post("/scorecards/default/edit", data=other)
    assert r.status_code == 404 and "not found" in r.text
    # The refused look at another team's call is kept in the audit trail, not rolled back.
    denied = session.exec(
        select(AuditEvent).where(
            AuditEvent.target_id == str(world.calls["b1_good"].id),
            AuditEvent.outcome == "denied",
        )
    ).all()
    assert len(denied) == 1 and denied[0].actor_name == world.sup_a.email
    _login(client, world.a1.email)
    assert client.get("/scorecards").status_code == 403
    assert client.get("/scorecards/default/edit").status_code == 403


def test_the_yaml_page_saves_with_comments_and_names_the_line_of_a_mistake(client, world, session):
    _login(client, world.admin.email)
    page = client.get("/scorecards/default/yaml")
    assert page.status_code == 200 and "# callqa default scorecard" in _unescape(page.text)
    csrf = client.cookies.get(CSRF_COOKIE)
    broken = "name: default\ncriteria:\n  - id: a\n    dimension: mood\n    kind: phrases\n"
    r = client.post("/scorecards/default/yaml", data={"csrf": csrf, "definition": broken})
    assert r.status_code == 422 and "line 3: dimension" in _unescape(r.text)
    assert "mood" in r.text  # the text is kept to correct
    text = _default(session).replace("max: 10\n", "max: 6\n")
    r = client.post(
        "/scorecards/default/yaml",
        data={"csrf": csrf, "definition": text, "action": "save"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert scorecards.current_version(session).definition == text


# ---- alert rules ---------------------------------------------------------------------------


def test_an_admin_makes_and_changes_an_alert_rule_from_the_page(client, world, session):
    _login(client, world.admin.email)
    page = client.get("/alert-rules?kind=dead_air")
    assert page.status_code == 200 and 'name="param_seconds"' in page.text
    csrf = client.cookies.get(CSRF_COOKIE)
    r = client.post(
        "/alert-rules",
        data={"csrf": csrf, "name": "Long dead air", "kind": "dead_air", "param_seconds": "x"},
    )
    assert r.status_code == 400 and "seconds" in r.text
    assert session.exec(select(AlertRule).where(AlertRule.name == "Long dead air")).first() is None
    r = client.post(
        "/alert-rules",
        data={
            "csrf": csrf,
            "name": "Long dead air",
            "kind": "dead_air",
            "param_seconds": "30",
            "enabled": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    rule = session.exec(select(AlertRule).where(AlertRule.name == "Long dead air")).one()
    assert (rule.kind, rule.params, rule.enabled) == (RuleKind.dead_air, {"seconds": 30.0}, True)
    listed = client.get("/api/v1/alert-rules", headers=world.admin.headers).json()
    assert {"name": "Long dead air", "params": {"seconds": 30.0}} in [
        {"name": x["name"], "params": x["params"]} for x in listed
    ]

    r = client.post(
        f"/alert-rules/{rule.id}",
        data={"csrf": csrf, "name": "Dead air over 20 s", "param_seconds": "20"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(rule)
    assert (rule.name, rule.params, rule.enabled) == (
        "Dead air over 20 s",
        {"seconds": 20.0},
        False,
    )
    r = client.post(
        f"/alert-rules/{rule.id}/enabled",
        data={"csrf": csrf, "enabled": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(rule)
    assert rule.enabled
    bad = client.post(
        f"/alert-rules/{rule.id}", data={"csrf": csrf, "name": "x", "param_seconds": ""}
    )
    assert bad.status_code == 400 and "needs the parameter" in bad.text
    assert client.post("/alert-rules/999999/enabled", data={"csrf": csrf}).status_code == 404


def test_supervisors_read_the_rules_and_agents_do_not(client, world):
    _login(client, world.sup_a.email)
    page = client.get("/alert-rules")
    assert page.status_code == 200 and 'id="new-rule"' not in page.text
    csrf = client.cookies.get(CSRF_COOKIE)
    r = client.post("/alert-rules", data={"csrf": csrf, "name": "x", "kind": "auto_fail"})
    assert r.status_code == 403
    _login(client, world.a1.email)
    assert client.get("/alert-rules").status_code == 403


def test_a_team_s_scorecard_is_edited_by_its_supervisor_and_hidden_from_others(
    client, world, session
):
    definition = _default(session).replace("name: default", "name: team_a_card", 1)
    r = client.post(
        "/api/v1/scorecards",
        headers=world.sup_a.headers,
        json={"name": "team_a_card", "definition": definition, "team_id": _team_a(session)},
    )
    assert r.status_code == 201, r.text
    _login(client, world.sup_a.email)
    assert 'data-scorecard="team_a_card"' in client.get("/scorecards").text
    fields = _editor_fields(client, "/scorecards/team_a_card/edit")
    csrf = client.cookies.get(CSRF_COOKIE)
    r = client.post(
        "/scorecards/team_a_card/edit",
        data={**fields, "csrf": csrf, "action": "save"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("saved=2")
    _login(client, world.sup_b.email)
    assert 'data-scorecard="team_a_card"' not in client.get("/scorecards").text
    assert client.get("/scorecards/team_a_card/edit").status_code == 404
    assert client.get("/scorecards/team_a_card/yaml").status_code == 404


def _team_a(session) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(Team.id).where(Team.name == "Team A")).one()
