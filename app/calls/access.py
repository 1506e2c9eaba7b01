"""Pieces shared by the API and the web pages: list filters, the recording, the CSV."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import storage
from app.audit.service import audited
from app.auth import OrgZone, Principal
from app.calls import service
from app.calls.models import Call, CallStatus, CallType, Direction
from app.calls.schemas import CallPublic
from app.calls.streaming import recording_response
from app.config import Settings
from app.csvexport import csv_response
from app.errors import BadRequest, Forbidden, NotFound
from app.ranges import date_range
from app.scope import visible_call
from qa.types import DIMENSIONS

_SCORED = (*DIMENSIONS, "script_compliance")


def _opt(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _enum(kind: type[StrEnum], name: str, value: str | None):  # type: ignore[no-untyped-def]
    if (value := _opt(value)) is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise BadRequest(
            f"`{name}`: {value!r} is not one of {', '.join(m.value for m in kind)}"
        ) from None


def _number(name: str, value: str | None, lo: float = 0, hi: float = 100) -> float | None:
    if (value := _opt(value)) is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"`{name}` must be a number, not {value!r}") from None
    if not lo <= number <= hi:
        raise BadRequest(f"`{name}` must be from {lo:g} to {hi:g}")
    return number


def _bool(name: str, value: str | None) -> bool | None:
    if (value := _opt(value)) is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise BadRequest(f"`{name}` must be true or false")


def call_filters(
    zone: OrgZone,
    agent: str | None = None,
    team: str | None = None,
    status: str | None = None,
    call_type: str | None = None,
    direction: str | None = None,
    started_from: Annotated[str | None, Query(alias="from")] = None,
    started_to: Annotated[str | None, Query(alias="to")] = None,
    min_score: str | None = None,
    max_score: str | None = None,
    below: str | None = None,
    below_value: str | None = None,
    auto_fail: str | None = None,
    deal_closed: str | None = None,
    topic: str | None = None,
    sort: str | None = None,
) -> service.CallFilters:
    """Call list filters from query parameters; empty values (a web form's) mean "any".
    `below` is DIMENSION:VALUE (e.g. empathy:60), or a dimension with `below_value`."""
    dates = date_range(zone, started_from, started_to)
    below_filter = None
    if (b := _opt(below)) is not None:
        dimension, _sep, value = b.partition(":")
        value = value or (below_value or "")
        if dimension not in _SCORED:
            raise BadRequest(
                f"`below`: unknown dimension {dimension!r}; use one of {', '.join(_SCORED)}"
            )
        number = _number("below", value)
        if number is None:
            raise BadRequest("`below` needs a value, e.g. empathy:60")
        below_filter = (dimension, number)
    sort_key = _opt(sort) or "-started_at"
    if sort_key.lstrip("-") not in service.SORTS:
        raise BadRequest(f"`sort`: use one of {', '.join(service.SORTS)} (prefix - for descending)")
    team_id = None
    if (t := _opt(team)) is not None:
        if not t.isdigit():
            raise BadRequest("`team` must be a team id")
        team_id = int(t)
    topic_id = None
    if (tp := _opt(topic)) is not None:
        if not tp.isdigit():
            raise BadRequest("`topic` must be a topic id")
        topic_id = int(tp)
    return service.CallFilters(
        agent=_opt(agent),
        team_id=team_id,
        status=_enum(CallStatus, "status", status),
        call_type=_enum(CallType, "call_type", call_type),
        direction=_enum(Direction, "direction", direction),
        started_from=dates.started_from,
        started_to=dates.started_to,
        min_score=_number("min_score", min_score),
        max_score=_number("max_score", max_score),
        below=below_filter,
        auto_fail=_bool("auto_fail", auto_fail),
        deal_closed=_bool("deal_closed", deal_closed),
        topic_id=topic_id,
        sort=sort_key,
    )


CSV_HEADER = [
    "id",
    "external_id",
    "agent",
    "started_at",
    "direction",
    "call_type",
    "customer_ref",
    "duration_seconds",
    "status",
    "deal_closed",
    "deal_value",
]


def calls_csv(items: list[CallPublic]) -> Response:
    return csv_response(
        CSV_HEADER,
        [
            (
                c.id,
                c.external_id,
                c.agent,
                c.started_at,
                c.direction.value,
                c.call_type.value,
                c.customer_ref,
                c.duration_seconds,
                c.status.value,
                c.deal_closed,
                None if c.deal_value is None else float(c.deal_value),
            )
            for c in items
        ],
        filename="calls.csv",
    )


def _recorded_call(
    session: Session, settings: Settings, *, principal: Principal, call_id: int
) -> tuple[Call, str, int]:
    """The call one may see, its recording's key and size; a conversation has none, and a
    recording gone from storage is missing (404 both)."""
    call = visible_call(session, principal, call_id)
    if call.audio_path is None:
        raise NotFound("this conversation has no recording")
    size = storage.audio_store(settings).size(call.audio_path)
    if size is None:
        raise NotFound(f"the recording of call {call_id} is missing from storage")
    return call, call.audio_path, size


def may_download(principal: Principal, settings: Settings) -> bool:
    """Saving a copy is a right of its own: playing stays with everyone who sees the call."""
    if principal.kind == "api_key":
        return True
    return principal.role is not None and principal.role.value in settings.roles_that_download


def audio_response(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    call_id: int,
    *,
    download: bool,
    reason: str | None = None,
) -> Response:
    """The recording, audited as a play or a download. The player's Range requests after
    the first are not logged again: one play, one entry."""
    ranged = request.headers.get("range", "bytes=0-").replace(" ", "")
    first = ranged.startswith("bytes=0-")
    action = "download" if download else "play"
    why = (reason or "").strip()
    if download and not why:
        raise BadRequest("say why you download this recording (reason=…): the reason is audited")
    if first or download:
        # Inside the audit: a play of a conversation that has no recording, or of a file gone
        # from storage, is logged as the refusal it is, not as a play.
        with audited(
            session,
            principal=principal,
            action=action,
            target_type="call",
            target_id=call_id,
            detail=why if download else None,
        ):
            call, key, size = _recorded_call(
                session, settings, principal=principal, call_id=call_id
            )
            if download and not may_download(principal, settings):
                raise Forbidden(
                    f"your role ({principal.role}) may play recordings but not download them"
                )
    else:
        call, key, size = _recorded_call(session, settings, principal=principal, call_id=call_id)
    return recording_response(
        storage.audio_store(settings),
        key,
        size=size,
        range_header=request.headers.get("range"),
        media_type=storage.MEDIA_TYPES.get(call.audio_format or ""),
        filename=f"call-{call_id}.{call.audio_format}",
        disposition="attachment" if download else "inline",
    )
