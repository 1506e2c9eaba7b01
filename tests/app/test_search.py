"""Search across transcripts (GET /api/v1/search and the /search page), on SQLite's FTS5 and
PostgreSQL's text search alike: words, phrases, prefixes, any case and accents, Hebrew and
Persian; scoped and filtered like the call list; HTML-safe snippets; audited; and the index
follows every insert, change and deletion of a segment (issue 15, item 2)."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.calls.models import Transcript, TranscriptSegment
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf


def _search(client, person, q, **params):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/search", params={"q": q, **params}, headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _calls(body) -> set[int]:  # type: ignore[no-untyped-def]
    return {h["call_id"] for h in body["items"]}


def test_words_are_found_in_the_calls_one_may_see_and_land_on_the_moment(client, world):
    good, cold, other = (world.calls[k].id for k in ("a1_good", "a2_cold", "b1_good"))
    body = _search(client, world.sup_a, "refund")
    assert body["total"] == 2 and _calls(body) == {good, cold}  # not team B's call
    hit = next(h for h in body["items"] if h["call_id"] == cold)
    assert (hit["segment"], hit["speaker"], hit["agent"]) == (4, "agent", "A2")
    assert hit["start"] == 22.097 and hit["link"] == f"/calls/{cold}?t=22.10#seg-4"
    assert "<mark>refund</mark>" in hit["snippet"]
    # Newest call first: a2_cold started three hours after a1_good.
    assert [h["call_id"] for h in body["items"]] == [cold, good]
    assert _calls(_search(client, world.sup_b, "refund")) == {other}
    assert _calls(_search(client, world.a1, "refund")) == {good}  # an agent: their own calls
    assert _search(client, world.admin, "refund")["total"] == 3


def test_phrases_prefixes_case_and_speaker(client, world):
    promise = world.calls["a1_promise"].id
    assert _calls(_search(client, world.sup_a, '"guaranteed returns"')) == {promise}
    assert _search(client, world.sup_a, '"returns guaranteed"')["total"] == 0
    assert _calls(_search(client, world.sup_a, "returns guaranteed")) == {promise}  # both words
    assert _calls(_search(client, world.sup_a, "GUARANT*")) == {promise}
    assert _search(client, world.sup_a, "guarant")["total"] == 0  # a word is a whole word
    upset = _search(client, world.sup_a, "upset", speaker="customer")
    assert upset["total"] == 3 and {h["speaker"] for h in upset["items"]} == {"customer"}
    assert _search(client, world.sup_a, "upset", speaker="agent")["total"] == 0


def test_the_call_list_filters_apply(client, world):
    assert _calls(_search(client, world.sup_a, "refund", agent="A2")) == {world.calls["a2_cold"].id}
    assert _search(client, world.sup_a, "refund", **{"from": "2026-11-03"})["total"] == 0
    assert _search(client, world.sup_a, "refund", call_type="sales")["total"] == 0
    paged = _search(client, world.admin, "thank", limit=2, offset=2)
    assert paged["limit"] == 2 and len(paged["items"]) == 2 and paged["total"] > 4


def test_hebrew_persian_accents_and_markup(client, world):
    def post(external_id: str, text: str) -> int:
        r = client.post(
            "/api/v1/conversations",
            headers=world.admin.headers,
            json={
                "agent": "A1",
                "external_id": external_id,
                "started_at": "2026-11-10T09:00:00Z",
                "channel": "chat",
                "call_type": "service",
                "direction": "inbound",
                "utterances": [{"speaker": "customer", "start": 0, "end": 5, "text": text}],
            },
        )
        assert r.status_code == 202, r.text
        return int(r.json()["id"])

    hebrew = post("he-1", "אני רוצה לבטל את המנוי שלי בבקשה")
    persian = post("fa-1", "می‌خواهم اشتراکم را لغو کنم، لطفاً بازپرداخت کنید")
    french = post("fr-1", "Le café était froid, remboursement s'il vous plaît")
    markup = post("x-1", "My refund <script>alert(1)</script> never came & I'm angry")
    assert _calls(_search(client, world.admin, "לבטל")) == {hebrew}
    assert _calls(_search(client, world.admin, '"לבטל את המנוי"')) == {hebrew}
    assert _calls(_search(client, world.admin, "بازپرداخت")) == {persian}
    assert _calls(_search(client, world.admin, "cafe")) == {french}  # accents ignored
    hit = next(h for h in _search(client, world.admin, "never")["items"] if h["call_id"] == markup)
    assert "<script>" not in hit["snippet"] and "&lt;script&gt;" in hit["snippet"]
    assert "<mark>never</mark>" in hit["snippet"] and "&amp;" in hit["snippet"]


def test_the_index_follows_changes_and_deletions(client, world, session):
    good = world.calls["a1_good"].id
    transcript = session.exec(select(Transcript).where(Transcript.call_id == good)).one()
    segments = session.exec(
        select(TranscriptSegment).where(TranscriptSegment.transcript_id == transcript.id)
    ).all()
    changed = next(s for s in segments if "refund" in s.text)
    changed.text = "I have credited your account with a voucher."
    session.add(changed)
    session.flush()
    assert good not in _calls(_search(client, world.sup_a, "refund"))
    assert _calls(_search(client, world.sup_a, "voucher")) == {good}
    for segment in segments:  # what retention and erasure do to a transcript
        session.delete(segment)
    session.flush()
    assert _search(client, world.sup_a, "voucher")["total"] == 0


def test_bad_queries_say_how_to_write_one_and_searches_are_audited(client, world, session):
    r = client.get("/api/v1/search", params={"q": "!!! ???"}, headers=world.sup_a.headers)
    assert r.status_code == 400 and "give a word to look for" in r.json()["detail"]
    assert client.get("/api/v1/search", headers=world.sup_a.headers).status_code == 422
    r = client.get(
        "/api/v1/search", params={"q": "x", "speaker": "robot"}, headers=world.sup_a.headers
    )
    assert r.status_code == 422
    _search(client, world.sup_a, '"guaranteed returns"')
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == "transcript_search")
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
    ).first()
    assert event is not None and event.actor_name == world.sup_a.email
    assert event.detail == '"guaranteed returns"' and event.target_id == "1 segments"


def test_the_search_page_lists_moments_that_open_the_call(client, world):
    client.cookies.set(SESSION_COOKIE, world.sup_a.token)
    client.cookies.set(CSRF_COOKIE, make_csrf(client.app.state.settings, world.sup_a.token))
    page = client.get("/search", params={"q": "refund"})
    assert page.status_code == 200
    cold = world.calls["a2_cold"].id
    assert f'href="/calls/{cold}?t=22.10#seg-4"' in page.text
    assert "<mark>refund</mark>" in page.text and "2 moments found" in page.text
    assert 'href="/search"' in page.text  # in the menu
    bad = client.get("/search", params={"q": "???"})
    assert bad.status_code == 200 and "give a word to look for" in bad.text
    empty = client.get("/search")
    assert empty.status_code == 200 and "moments found" not in empty.text
    call = client.get(f"/calls/{cold}")
    assert 'id="seg-4"' in call.text
