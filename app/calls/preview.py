"""What a draft scorecard would make of a stored call, beside the call's current score.

The draft scores the call's stored transcript through the same pure functions the worker uses
(qa.score on `tasks.score_inputs`), and nothing is stored: neither a score nor vectors. Seeing
the result shows quotes of the transcript, so it is audited as a transcript view."""

from __future__ import annotations

from sqlmodel import Session, col, select

import qa
from app.audit.service import audited
from app.auth import Principal
from app.calls.meaning import app_embedder
from app.calls.models import Call, CallStatus
from app.calls.schemas import CriterionChange, FigureChange, ScorePreview, Verdict
from app.calls.tasks import score_inputs, stored_vectors
from app.config import Settings
from app.errors import BadRequest, Unavailable
from app.scope import agent_filter, visible_call
from app.scorecards import service as scorecards
from app.scorecards.models import ScorecardVersion
from app.users.models import Agent
from qa.embedder import Embedder, EmbedderUnavailable
from qa.types import DIMENSIONS, CriterionResult, StoredScore

SCRIPT = "script_compliance"


def embedder_for(settings: Settings) -> Embedder:
    """The worker's embedder (one per process), so a preview matches what the worker scores."""
    try:
        return app_embedder(settings)
    except EmbedderUnavailable as exc:
        raise Unavailable(f"the sentence embedder is not available: {exc}") from None


def _verdict(result: CriterionResult | None) -> Verdict | None:
    if result is None:
        return None
    if not result.applicable:
        return "not judged"
    return "pass" if result.passed else "fail"


def _figure(name: str, before: float | None, after: float | None) -> FigureChange:
    delta = None if before is None or after is None else round(after - before, 1)
    return FigureChange(name=name, before=before, after=after, delta=delta)


def _compare(
    call_id: int, current: str | None, stored: StoredScore | None, draft: qa.CallScore
) -> ScorePreview:
    # Rounded as a stored score is, so a draft equal to the current card differs by nothing.
    after = StoredScore.from_dict(draft.to_dict())
    before_of = {c.id: c for c in stored.criteria} if stored else {}
    rows = [
        CriterionChange(
            id=c.id,
            label=c.label,
            dimension=c.dimension,
            before=_verdict(before_of.get(c.id)),
            after=_verdict(c),
            changed=_verdict(before_of.get(c.id)) != _verdict(c),
            reason=c.reason,
        )
        for c in after.criteria
    ]
    drafted = {c.id for c in after.criteria}
    rows += [
        CriterionChange(
            id=c.id,
            label=c.label,
            dimension=c.dimension,
            before=_verdict(c),
            after=None,
            changed=True,
            reason="not in the draft",
        )
        for c in (stored.criteria if stored else [])
        if c.id not in drafted
    ]
    dims = [
        _figure(d, stored.dimensions.get(d) if stored else None, after.dimensions.get(d))
        for d in DIMENSIONS
    ]
    dims.append(
        _figure(SCRIPT, stored.script_compliance if stored else None, after.script_compliance)
    )
    return ScorePreview(
        call_id=call_id,
        current=current,
        draft=draft.scorecard,
        overall=_figure("overall", stored.overall if stored else None, after.overall),
        dimensions=dims,
        auto_fail_before=stored.auto_fail if stored else None,
        auto_fail_after=after.auto_fail,
        auto_fail_reasons=after.auto_fail_reasons,
        criteria=rows,
        changed=[r.id for r in rows if r.changed],
    )


def preview_score(
    session: Session,
    *,
    principal: Principal,
    call_id: int,
    definition: str,
    embedder: Embedder,
) -> ScorePreview:
    """Score call `call_id` (one `principal` may see; else 404) with the draft `definition`
    (checked as strictly as when it is saved: ScorecardInvalid, 422) and compare it with the
    call's current score. Stores nothing but the audit row of the transcript view."""
    card = qa.parse(definition)
    with audited(
        session,
        principal=principal,
        action="transcript_view",
        target_type="call",
        target_id=call_id,
        detail="scorecard preview",
    ):
        call = visible_call(session, principal, call_id)
    inputs = score_inputs(session, call)
    if inputs is None:
        raise BadRequest(f"call {call_id} has no transcript yet: nothing to score")
    known = stored_vectors(session, transcript_id=inputs.transcript_id, embedder=embedder)
    try:
        draft = qa.score(inputs.utterances, inputs.facts, card, vectors=known, embedder=embedder)
    except EmbedderUnavailable as exc:
        raise Unavailable(f"the sentence embedder is not available: {exc}") from None
    current = scorecards.latest_score(session, call_id=call_id)
    version = session.get(ScorecardVersion, current.scorecard_version_id) if current else None
    return _compare(
        call_id,
        f"{version.name} v{version.version}" if version else None,
        current.result() if current else None,
        draft,
    )


def recent_scored_calls(
    session: Session, *, principal: Principal, limit: int = 20
) -> list[tuple[Call, str]]:
    """The newest scored calls `principal` may see, with their agent's id: to try a draft on."""
    query = (
        select(Call, Agent.external_id)
        .join(Agent, col(Agent.id) == Call.agent_id)
        .where(Call.status == CallStatus.scored)
        .order_by(col(Call.started_at).desc(), col(Call.id).desc())
        .limit(limit)
    )
    mine = agent_filter(principal, Call.agent_id)
    rows = session.exec(query if mine is None else query.where(mine)).all()
    return [(c, agent) for c, agent in rows]
