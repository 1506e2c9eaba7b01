"""Free text is redacted for card data as it is written (issue 14, item 9): a card number or a
security code typed into a coaching note, an override or dispute reason, a shopper's notes or
answers never reaches the database, whichever route wrote it, so no page or export can show
it. Customer references are identifiers: only a card number beyond doubt is taken out."""

from __future__ import annotations

from sqlmodel import select

from app.calls.models import Call
from app.reviews.models import Dispute, Review

CARD = "4111 1111 1111 1111"


def test_typed_card_data_is_redacted_before_it_is_stored(client, world, session):
    call = world.calls["a1_promise"]
    review = client.post(
        f"/api/v1/calls/{call.id}/reviews",
        headers=world.sup_a.headers,
        json={
            "overrides": [
                {
                    "target": "criterion",
                    "key": "greeting",
                    "value": False,
                    "reason": f"customer read {CARD} aloud, greeting was missing",
                }
            ],
            "coaching_note": "never repeat the security code back: it was 7 3 1",
        },
    )
    assert review.status_code == 201, review.text
    dispute = client.post(
        f"/api/v1/calls/{call.id}/disputes",
        headers=world.a1.headers,
        json={"reason": f"the card was {CARD} and I did not read it out"},
    )
    assert dispute.status_code == 201, dispute.text
    session.expire_all()
    row = session.exec(select(Review).where(Review.call_id == call.id)).one()
    assert row.coaching_note == "never repeat the security code back: it was [REDACTED]"
    assert row.overrides[0]["reason"] == "customer read [REDACTED] aloud, greeting was missing"
    reason = session.exec(select(Dispute.reason).where(Dispute.call_id == call.id)).one()
    assert reason == "the card was [REDACTED] and I did not read it out"
    # A customer reference is an identifier: a card number typed into it goes, but a phone
    # number that happens to pass Luhn stays whole, or erasure and legal holds by customer
    # would miss the call.
    carded = client.patch(
        f"/api/v1/calls/{call.id}",
        headers=world.sup_a.headers,
        json={"customer_ref": f"card {CARD}"},
    )
    assert carded.json()["customer_ref"] == "card [REDACTED]"
    session.expire_all()
    assert session.get(Call, call.id).customer_ref == "card [REDACTED]"
    phone = "+4915112345678"
    patched = client.patch(
        f"/api/v1/calls/{call.id}", headers=world.sup_a.headers, json={"customer_ref": phone}
    )
    assert patched.json()["customer_ref"] == phone
    session.expire_all()
    assert session.get(Call, call.id).customer_ref == phone


def test_shopper_notes_are_redacted(client, world, session):
    from app.shopper.models import ShopperAssignment

    visit = client.post(
        "/api/v1/shopper/assignments",
        headers=world.sup_a.headers,
        json={
            "agent": "A1",
            "channel": "phone",
            "due": "2099-01-01",
            "notes": f"pay with test card {CARD}, cvv 123",
        },
    )
    assert visit.status_code == 201, visit.text
    notes = session.exec(
        select(ShopperAssignment.notes).where(ShopperAssignment.id == visit.json()["id"])
    ).one()
    assert notes == "pay with test card [REDACTED] cvv [REDACTED]"
