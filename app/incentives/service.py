"""Outcomes, performance figures, bonus rules, periods and incentive lines. Never commits.

A month's figures come from one query over its calls (with each call's latest score and latest
review as columns), then pure code (scorecards.bonus) judges them: no query per agent. Reading
lines never computes them: an open month is computed by the worker (app.incentives.tasks), on
request (POST .../compute) and when it is locked."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.auth import Principal
from app.calls.models import Call
from app.errors import BadRequest, Conflict, NotFound
from app.incentives.models import (
    BonusRuleVersion,
    IncentiveLine,
    IncentivePeriod,
    LineKind,
    PeriodStatus,
)
from app.reviews.effective import latest_scores, latest_verdicts
from app.reviews.models import Dispute, DisputeStatus, Review
from app.scope import agent_filter, visible_calls
from app.scorecards.models import CallScore
from app.teams.models import Team
from app.timeutil import as_utc, month_bounds, month_of, utcnow
from app.timeutil import zone as named_zone
from app.users.models import Agent
from app.versioned import add_version, latest_version
from scorecards import bonus
from scorecards.bonus import FIELDS, CallFact

DEFAULT_NAME = "default"
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# ---- periods --------------------------------------------------------------------------------


def _month(period: str) -> tuple[int, int]:
    m = _PERIOD.match(period or "")
    if not m:
        raise BadRequest("`period` must be a month as YYYY-MM, e.g. 2026-11")
    return int(m.group(1)), int(m.group(2))


def check_period(period: str) -> str:
    _month(period)
    return period


def bounds(period: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC, as `zone` counts months."""
    return month_bounds(*_month(period), zone)


def period_of(moment: datetime, zone: tzinfo) -> str:
    """The month (YYYY-MM) that `moment` falls in, in `zone`."""
    return month_of(moment, zone)


def previous(period: str) -> str:
    year, month = _month(period)
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def following(period: str) -> str:
    year, month = _month(period)
    return f"{year + (month == 12):04d}-{month % 12 + 1:02d}"


def _locked_span(row: IncentivePeriod) -> tuple[datetime, datetime]:
    """A locked period's instants: as frozen at lock (periods locked before spans were kept:
    their month in the zone they were locked in)."""
    if row.starts_at is not None and row.ends_at is not None:
        return as_utc(row.starts_at), as_utc(row.ends_at)
    return bounds(row.period, named_zone(row.time_zone))


def span(session: Session, period: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants whose calls belong to `period`. A locked period keeps the span it was
    locked with. An open one is the organisation's month, except that it starts where a
    locked month before it ended and ends where a locked month after it starts: when the
    zone changes (or on the upgrade, whose earlier months were counted in UTC), no call is
    paid twice or never."""
    row = get_period(session, period)
    if row is not None and row.status is PeriodStatus.locked:
        return _locked_span(row)
    start, end = bounds(period, zone)
    before = get_period(session, previous(period))
    if before is not None and before.status is PeriodStatus.locked:
        start = _locked_span(before)[1]
    after = get_period(session, following(period))
    if after is not None and after.status is PeriodStatus.locked:
        end = _locked_span(after)[0]
    return start, max(start, end)


def get_period(session: Session, period: str) -> IncentivePeriod | None:
    check_period(period)
    return session.exec(select(IncentivePeriod).where(IncentivePeriod.period == period)).first()


def list_periods(session: Session) -> list[IncentivePeriod]:
    return list(session.exec(select(IncentivePeriod).order_by(col(IncentivePeriod.period).desc())))


def ensure_period(session: Session, period: str, zone: ZoneInfo) -> IncentivePeriod:
    row = get_period(session, period)
    if row is None:
        try:
            with session.begin_nested():
                row = IncentivePeriod(period=period, time_zone=zone.key)
                session.add(row)
        except IntegrityError:
            row = get_period(session, period)
    assert row is not None
    return row


# ---- rules ----------------------------------------------------------------------------------


def create_rules(session: Session, *, definition: str, created_by: str | None) -> BonusRuleVersion:
    try:
        rules = bonus.parse(definition)
    except bonus.RulesInvalid as exc:
        raise BadRequest(f"bonus rules invalid: {exc}") from None
    return add_version(
        session, BonusRuleVersion, name=rules.name, definition=definition, created_by=created_by
    )


def current_rules(session: Session) -> BonusRuleVersion:
    """The newest version of the bonus rules (the built-in ones are version 1, stored by a
    migration)."""
    row = latest_version(session, BonusRuleVersion, name=DEFAULT_NAME)
    if row is None:
        raise NotFound(
            "no bonus rules named 'default' (the built-in ones are stored by the "
            "migrations: run `callqa migrate`)"
        )
    return row


def list_rules(session: Session) -> list[BonusRuleVersion]:
    return list(session.exec(select(BonusRuleVersion).order_by(col(BonusRuleVersion.version))))


def rules_of(session: Session, version_id: int) -> tuple[BonusRuleVersion, bonus.Rules]:
    row = session.get(BonusRuleVersion, version_id)
    if row is None:
        raise NotFound(f"bonus rules version {version_id} not found")
    return row, bonus.parse(row.definition)


# ---- call facts: one query per period -------------------------------------------------------


def call_facts(
    session: Session, *, start: datetime, end: datetime, agent_clause: Any = None
) -> tuple[list[CallFact], dict[int, set[int]]]:
    """Every call of the period with its score that counts; and, per agent, the scorecard
    versions those scores came from."""
    ls, lv = latest_scores(), latest_verdicts()
    columns: list[Any] = [
        Call.id,
        Call.agent_id,
        Call.direction,
        Call.call_type,
        Call.duration_seconds,
        Call.deal_closed,
        Call.deal_value,
        CallScore.id,
        CallScore.scorecard_version_id,
        CallScore.auto_fail,
        CallScore.agent_talk_share,
        CallScore.hold_seconds,
        CallScore.transferred,
        *(getattr(CallScore, f) for f in FIELDS),
        Review.id,
        Review.auto_fail,
        *(getattr(Review, f) for f in FIELDS),
    ]
    query = (
        sa_select(*columns)
        .outerjoin(ls, ls.c.call_id == Call.id)
        .outerjoin(CallScore, col(CallScore.id) == ls.c.score_id)
        .outerjoin(lv, lv.c.call_id == Call.id)
        .outerjoin(Review, col(Review.id) == lv.c.review_id)
        .where(col(Call.started_at) >= start, col(Call.started_at) < end)
    )
    if agent_clause is not None:
        query = query.where(agent_clause)
    facts: list[CallFact] = []
    versions: dict[int, set[int]] = defaultdict(set)
    n = len(FIELDS)
    for row in session.execute(query.order_by(col(Call.id))):
        (
            call_id,
            agent_id,
            direction,
            call_type,
            duration,
            deal_closed,
            deal_value,
            score_id,
            version_id,
            score_af,
            talk,
            hold,
            transferred,
        ) = row[:13]
        machine = row[13 : 13 + n]
        review_id, review_af = row[13 + n], row[14 + n]
        reviewed_scores = row[15 + n : 15 + 2 * n]
        reviewed = review_id is not None
        values = reviewed_scores if reviewed else machine
        if version_id is not None:
            versions[agent_id].add(version_id)
        facts.append(
            CallFact(
                call_id=call_id,
                agent_id=agent_id,
                direction=str(direction.value),
                call_type=str(call_type.value),
                duration=duration or 0.0,
                deal_closed=bool(deal_closed),
                deal_value=Decimal(deal_value or 0),
                scored=score_id is not None,
                scores={
                    f: (None if v is None else float(v))
                    for f, v in zip(FIELDS, values, strict=True)
                },
                auto_fail=bool(review_af if reviewed else score_af),
                reviewed=reviewed,
                transferred=bool(transferred),
                agent_talk_share=talk,
                hold_seconds=hold or 0.0,
            )
        )
    return facts, versions


# ---- computing and locking ------------------------------------------------------------------


@dataclass
class Computed:
    agent_id: int
    figures: bonus.Figures
    line: bonus.Line
    versions: list[int]


def _evaluate(
    session: Session, rules: bonus.Rules, start: datetime, end: datetime
) -> dict[int, Computed]:
    facts, versions = call_facts(session, start=start, end=end)
    by_agent: dict[int, list[CallFact]] = defaultdict(list)
    for f in facts:
        by_agent[f.agent_id].append(f)
    out = {}
    for agent_id, mine in by_agent.items():
        figs = bonus.figures(mine, rules)
        out[agent_id] = Computed(
            agent_id, figs, bonus.evaluate(figs, rules), sorted(versions.get(agent_id, set()))
        )
    return out


def compute(session: Session, period: str, *, zone: ZoneInfo) -> IncentivePeriod:
    """(Re)compute an open period's lines, and the adjustments it carries for earlier locked
    periods whose figures changed since they were locked. Deterministic. Its month is the
    organisation's (`zone`)."""
    row = ensure_period(session, period, zone)
    # One computation of a period at a time (the worker, a recompute, a lock): the second waits
    # for the first to commit, then replaces its lines or finds the period locked. (SQLite has
    # no FOR UPDATE; its write transactions take the database's one write lock up front.)
    row = session.exec(
        select(IncentivePeriod)
        .where(IncentivePeriod.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if row.status is PeriodStatus.locked:
        raise Conflict(f"period {period} is locked; its lines are frozen")
    rules_row = current_rules(session)
    rules = bonus.parse(rules_row.definition)
    now = utcnow()
    session.exec(
        delete(IncentiveLine).where(  # type: ignore[call-overload]
            col(IncentiveLine.period_id) == row.id
        )
    )
    lines = [
        _line(row, c, LineKind.regular, period, rules_row.id or 0, now)
        for c in _evaluate(session, rules, *span(session, period, zone)).values()
    ]
    # Adjustments: for each locked period whose next open period is this one.
    periods = list(session.exec(select(IncentivePeriod).order_by(col(IncentivePeriod.period))))
    for locked in (p for p in periods if p.status is PeriodStatus.locked and p.period < period):
        nxt = next(
            (p for p in periods if p.period > locked.period and p.status is PeriodStatus.open), None
        )
        if nxt is None or nxt.period != period:
            continue
        lines += _adjust(session, target=row, locked=locked, now=now)
    if lines:  # one multi-row INSERT, not one per agent
        session.execute(
            insert(IncentiveLine),
            [{k: v for k, v in line.model_dump().items() if k != "id"} for line in lines],
        )
    row.rule_version_id, row.computed_at, row.time_zone = rules_row.id, now, zone.key
    session.add(row)
    session.flush()
    return row


def _line(
    period: IncentivePeriod,
    c: Computed,
    kind: LineKind,
    for_period: str,
    rule_version_id: int,
    now: datetime,
    amount: Decimal | None = None,
) -> IncentiveLine:
    return IncentiveLine(
        period_id=period.id or 0,
        agent_id=c.agent_id,
        kind=kind,
        for_period=for_period,
        eligible=c.line.eligible,
        amount=c.line.amount if amount is None else amount,
        currency=c.line.currency,
        rule_version_id=rule_version_id,
        scorecard_versions=c.versions,
        figures=c.figures.to_dict(),
        checks=[ch.__dict__ for ch in c.line.checks],
        computed_at=now,
    )


def _adjust(
    session: Session, *, target: IncentivePeriod, locked: IncentivePeriod, now: datetime
) -> list[IncentiveLine]:
    """What the locked period would pay now, minus what it paid and what was adjusted since,
    becomes an adjustment line in `target` (the locked period's rules, today's data)."""
    _, rules = rules_of(session, locked.rule_version_id or 0)
    fresh = _evaluate(session, rules, *_locked_span(locked))
    paid: dict[int, Decimal] = defaultdict(Decimal)
    currency = rules.currency
    out = []
    for line in session.exec(
        select(IncentiveLine).where(
            IncentiveLine.for_period == locked.period, IncentiveLine.period_id != target.id
        )
    ):
        paid[line.agent_id] += Decimal(line.amount)
    for agent_id in sorted(set(fresh) | set(paid)):
        c = fresh.get(agent_id)
        now_amount = c.line.amount if c else Decimal("0")
        delta = (now_amount - paid.get(agent_id, Decimal("0"))).quantize(Decimal("0.01"))
        if delta == 0:
            continue
        if c is None:  # the agent's calls left the period (e.g. a corrected date)
            figs = bonus.Figures()
            c = Computed(agent_id, figs, bonus.evaluate(figs, rules), [])
        line = _line(
            target,
            c,
            LineKind.adjustment,
            locked.period,
            locked.rule_version_id or 0,
            now,
            amount=delta,
        )
        line.currency = currency
        out.append(line)
    return out


def open_disputes(session: Session, period: str, *, zone: ZoneInfo) -> list[tuple[int, int]]:
    """(dispute id, call id) of undecided disputes on the period's calls."""
    start, end = span(session, period, zone)
    return [
        (d or 0, c)
        for d, c in session.exec(
            select(Dispute.id, Dispute.call_id)
            .join(Call, col(Call.id) == Dispute.call_id)
            .where(
                Dispute.status == DisputeStatus.open,
                Call.started_at >= start,
                Call.started_at < end,
            )
            .order_by(col(Dispute.id))
        )
    ]


def lock(session: Session, period: str, *, by: str, zone: ZoneInfo) -> IncentivePeriod:
    waiting = open_disputes(session, period, zone=zone)
    if waiting:
        listed = ", ".join(f"dispute {d} on call {c}" for d, c in waiting)
        raise Conflict(
            f"period {period} has {len(waiting)} open dispute(s) to decide first: {listed}"
        )
    row = compute(session, period, zone=zone)
    row.starts_at, row.ends_at = span(session, period, zone)  # frozen with the lines
    row.status, row.locked_at, row.locked_by = PeriodStatus.locked, utcnow(), by
    session.add(row)
    session.flush()
    return row


# ---- reading lines --------------------------------------------------------------------------


@dataclass
class PayLine:
    agent: Agent
    team: str | None
    regular: IncentiveLine | None
    adjustments: list[IncentiveLine]

    @property
    def amount(self) -> Decimal:
        return sum(
            (
                Decimal(x.amount)
                for x in ([self.regular] if self.regular else []) + self.adjustments
            ),
            Decimal("0"),
        ).quantize(Decimal("0.01"))


def open_periods(session: Session) -> list[str]:
    """The months stored and still open (payroll may read any of them)."""
    return list(
        session.exec(
            select(IncentivePeriod.period)
            .where(IncentivePeriod.status == PeriodStatus.open)
            .order_by(col(IncentivePeriod.period))
        )
    )


def refresh(session: Session, period: str, *, zone: ZoneInfo) -> IncentivePeriod:
    """Compute the period if it is open (a month not seen before is); a locked one is returned
    as it is."""
    row = get_period(session, period)
    if row is not None and row.status is PeriodStatus.locked:
        return row
    return compute(session, period, zone=zone)


def read_lines(
    session: Session, period: str, *, principal: Principal | None, agent_id: int | None = None
) -> tuple[IncentivePeriod, list[PayLine]]:
    """The period's lines per agent as last computed, in a stable order (agent external id).
    Never writes: a month never computed is an open period with no lines and no
    `computed_at` (not stored)."""
    row = get_period(session, period)
    if row is None:
        return IncentivePeriod(period=period), []
    query = (
        select(IncentiveLine, Agent)
        .join(Agent, col(Agent.id) == IncentiveLine.agent_id)
        .where(IncentiveLine.period_id == row.id)
    )
    if principal is not None and (clause := agent_filter(principal, Agent.id)) is not None:
        query = query.where(clause)
    if agent_id is not None:
        query = query.where(Agent.id == agent_id)
    teams = {t.id: t.name for t in session.exec(select(Team))}
    grouped: dict[int, PayLine] = {}
    for line, agent in session.exec(
        query.order_by(col(Agent.external_id), col(IncentiveLine.for_period))
    ):
        pay = grouped.setdefault(
            agent.id or 0,
            PayLine(agent, teams.get(agent.team_id) if agent.team_id else None, None, []),
        )
        if line.kind is LineKind.regular:
            pay.regular = line
        else:
            pay.adjustments.append(line)
    return row, sorted(grouped.values(), key=lambda p: p.agent.external_id)


# ---- outcomes import ------------------------------------------------------------------------


def _rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str | None, Any]]]:
    """(line, row) of a CSV, with what the csv module cannot read (a field over its 128 KiB
    limit, a bare carriage return inside a field) and a file over MAX_OUTCOME_ROWS refused as
    the client's error, naming the line."""
    count = 0
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The line being read when it failed: the ones read before it, and one.
            line = reader.line_num + 1
            raise BadRequest(f"the CSV cannot be read at line {line}: {exc}") from None
        count += 1
        if count > MAX_OUTCOME_ROWS:
            raise BadRequest(f"the CSV has more than {MAX_OUTCOME_ROWS} rows: split it")
        yield reader.line_num, raw


@dataclass
class ImportReport:
    rows: int
    applied: int
    rejected: list[dict[str, Any]]


_TRUE, _FALSE = {"true", "yes", "1", "y", "won"}, {"false", "no", "0", "n", "lost"}
# One CRM export a month is thousands of rows; past this a file is refused before any lookup.
MAX_OUTCOME_ROWS = 100_000
_LOOKUP_BATCH = 5_000  # external ids per query (PostgreSQL takes at most 65 535 parameters)


def import_outcomes(
    session: Session, *, text: str, principal: Principal | None, dry_run: bool = False
) -> ImportReport:
    """A CRM export (CSV: external_id, deal_closed, deal_value) applied all-or-nothing: one bad
    row and nothing is changed; the report lists every rejected row and why. Only calls that
    `principal` may see are matched (None: the CLI, every call); another team's call is
    reported exactly like one that does not exist."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise BadRequest(f"the CSV cannot be read at line 1: {exc}") from None
    if "external_id" not in header or not {"deal_closed", "deal_value"} & set(header):
        raise BadRequest(
            "the CSV needs a header with external_id and deal_closed and/or deal_value"
        )
    parsed: list[tuple[int, str, dict[str, Any]]] = []
    rejected: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in _rows(reader):
        if None in raw:  # DictReader keeps the fields past the header under None
            rejected.append(
                {
                    "line": number,
                    "external_id": (raw.get("external_id") or "").strip(),
                    "reason": "the row has more fields than the header",
                }
            )
            continue
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        ext = row.get("external_id", "")
        problems = []
        if not ext:
            problems.append("external_id is empty")
        elif ext in seen:
            problems.append("external_id appears twice in the file")
        seen.add(ext)
        changes: dict[str, Any] = {}
        if row.get("deal_closed"):
            v = row["deal_closed"].lower()
            if v in _TRUE:
                changes["deal_closed"] = True
            elif v in _FALSE:
                changes["deal_closed"] = False
            else:
                problems.append(f"deal_closed {row['deal_closed']!r} is not true/false")
        if row.get("deal_value"):
            try:
                value = Decimal(row["deal_value"].replace(",", ""))
                if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
                    raise InvalidOperation
                changes["deal_value"] = value.quantize(Decimal("0.01"))
            except InvalidOperation:
                problems.append(f"deal_value {row['deal_value']!r} is not an amount >= 0")
        if problems:
            rejected.append({"line": number, "external_id": ext, "reason": "; ".join(problems)})
        else:
            parsed.append((number, ext, changes))
    if not parsed and not rejected:
        raise BadRequest("the CSV has no rows")
    ids = [ext for _, ext, _ in parsed]
    calls: dict[str | None, Call] = {}
    for start in range(0, len(ids), _LOOKUP_BATCH):
        query = select(Call) if principal is None else visible_calls(principal)
        batch = ids[start : start + _LOOKUP_BATCH]
        calls.update(
            (c.external_id, c) for c in session.exec(query.where(col(Call.external_id).in_(batch)))
        )
    for number, ext, _ in parsed:
        if ext not in calls:
            rejected.append(
                {"line": number, "external_id": ext, "reason": "no call with this external_id"}
            )
    rejected.sort(key=lambda r: r["line"])
    if rejected or dry_run:
        return ImportReport(
            rows=len(parsed) + len({r["line"] for r in rejected} - {n for n, _, _ in parsed}),
            applied=0,
            rejected=rejected,
        )
    now = utcnow()
    for _, ext, changes in parsed:
        call = calls[ext]
        for k, v in changes.items():
            setattr(call, k, v)
        call.updated_at = now
        session.add(call)
    session.flush()
    return ImportReport(rows=len(parsed), applied=len(parsed), rejected=[])


# ---- performance and service vs sales -------------------------------------------------------


def performance(
    session: Session, *, principal: Principal, period: str, group: str, zone: ZoneInfo
) -> list[tuple[str, str | None, bonus.Figures]]:
    """(key, label, figures) per agent or team for the period."""
    if group not in ("agent", "team"):
        raise BadRequest("group by agent or team")
    start, end = span(session, period, zone)
    facts, _ = call_facts(
        session, start=start, end=end, agent_clause=agent_filter(principal, Call.agent_id)
    )
    rules = bonus.parse(current_rules(session).definition)
    agents = {a.id: a for a in session.exec(select(Agent))}
    teams = {t.id: t.name for t in session.exec(select(Team))}
    groups: dict[str, list[CallFact]] = defaultdict(list)
    labels: dict[str, str | None] = {}
    for f in facts:
        agent = agents.get(f.agent_id)
        if group == "agent":
            key = agent.external_id if agent else str(f.agent_id)
            labels[key] = agent.name if agent else None
        else:
            key = teams.get(agent.team_id, "(no team)") if agent and agent.team_id else "(no team)"
            labels[key] = None
        groups[key].append(f)
    return [(k, labels[k], bonus.figures(v, rules)) for k, v in sorted(groups.items())]


@dataclass
class BandCell:
    band: str
    calls: int
    sales_calls: int
    deals: int
    conversion: float | None
    average_length: float | None


def service_vs_sales(
    session: Session, *, principal: Principal, period: str, team_id: int | None, zone: ZoneInfo
) -> list[BandCell]:
    """Score bands against conversion and call length, with the calls behind each cell."""
    start, end = span(session, period, zone)
    clause = agent_filter(principal, Call.agent_id)
    if team_id is not None:
        team_clause = col(Call.agent_id).in_(select(Agent.id).where(Agent.team_id == team_id))
        clause = team_clause if clause is None else clause & team_clause
    facts, _ = call_facts(session, start=start, end=end, agent_clause=clause)
    cells = []
    for band in bonus.BANDS:
        mine = [f for f in facts if f.scored and bonus.score_band(f.scores["overall"]) == band]
        sales = [f for f in mine if f.call_type == "sales"]
        deals = sum(f.deal_closed for f in sales)
        cells.append(
            BandCell(
                band=band,
                calls=len(mine),
                sales_calls=len(sales),
                deals=deals,
                conversion=round(deals / len(sales), 3) if sales else None,
                average_length=round(sum(f.duration for f in mine) / len(mine), 1)
                if mine
                else None,
            )
        )
    return cells
