"""The scorecard editor: the scorecards one may read with their versions; a form per criterion
(its kind's fields) that saves the next version; the YAML itself for what the form does not
cover; and, before saving, what the draft would score a call beside the call's current score.
Who may do what is the API's: managers (admins, supervisors) open it, a global scorecard only
an admin saves."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.auth import Principal, SettingsDep
from app.calls import preview
from app.calls.schemas import ScorePreview
from app.config import Settings
from app.db import SessionDep, rollback, rollback_work
from app.errors import BadRequest, CallqaError
from app.scope import visible_teams
from app.scorecards import service as scorecards
from app.scorecards.models import ScorecardVersion
from app.web import scorecard_form
from app.web.deps import PageCallManager
from app.web.render import back, render
from app.web.session import Csrf
from qa.scorecard import KINDS, ScorecardInvalid

router = APIRouter(include_in_schema=False)


class EditorForm(BaseModel):
    """The editor's buttons and call picker; every field of the definition arrives as an extra
    field (`c<i>.<field>`, `w.<dimension>`, `company`, `vocabulary`), known only at run time."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)

    action: str = "update"
    new_kind: str = ""
    call_id: str = ""
    call_pick: str = ""
    definition: str = Field(default="", max_length=200_000)

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in (self.model_extra or {}).items() if isinstance(v, str)}

    def call(self) -> int:
        chosen = self.call_id.strip() or self.call_pick.strip()
        if not chosen:
            raise BadRequest("pick a call to try the draft on, or give its id")
        if not chosen.isdigit():
            raise BadRequest(f"a call id is a number, not {chosen!r}")
        return int(chosen)


def _owners(session: Session, principal: Principal) -> dict[int, str]:
    return {t.id or 0: t.name for t in session.exec(visible_teams(principal))}


@router.get("/scorecards", response_class=HTMLResponse)
def scorecards_page(
    request: Request, session: SessionDep, principal: PageCallManager
) -> HTMLResponse:
    by_name: dict[str, list[ScorecardVersion]] = {}
    for row in scorecards.list_versions(session, principal):
        by_name.setdefault(row.name, []).append(row)
    return render(
        request,
        "scorecards.html",
        principal,
        cards=[
            (name, rows, scorecards.may_change(principal, rows[-1]))
            for name, rows in by_name.items()
        ],
        owners=_owners(session, principal),
    )


def _base(versions: list[ScorecardVersion], version: int | None) -> ScorecardVersion:
    if version is None:
        return versions[-1]
    found = next((v for v in versions if v.version == version), None)
    if found is None:
        raise BadRequest(f"scorecard {versions[-1].name!r} has no version {version}")
    return found


def _editor(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    versions: list[ScorecardVersion],
    base: ScorecardVersion,
    draft: scorecard_form.Draft,
    template: str = "scorecard_edit.html",
    definition: str = "",
    result: ScorePreview | None = None,
    picked: int | None = None,
    error: str | None = None,
    saved: int | None = None,
    code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        template,
        principal,
        code=code,
        name=base.name,
        versions=versions,
        base=base,
        latest=versions[-1],
        owner=_owners(session, principal).get(base.team_id or 0) if base.team_id else None,
        may_change=scorecards.may_change(principal, base),
        draft=draft,
        criteria=scorecard_form.views(draft),
        weights=scorecard_form.weights(draft),
        definition=definition,
        kinds=KINDS,
        form=scorecard_form,
        calls=preview.recent_scored_calls(session, principal=principal),
        picked=picked,
        result=result,
        error=error,
        saved=saved,
    )


def _try(
    session: Session, principal: Principal, settings: Settings, *, call_id: int, definition: str
) -> ScorePreview:
    return preview.preview_score(
        session,
        principal=principal,
        call_id=call_id,
        definition=definition,
        embedder=preview.embedder_for(settings),
    )


def _try_or_save(
    session: Session,
    principal: Principal,
    settings: Settings,
    form: EditorForm,
    *,
    name: str,
    definition: str,
    show: Callable[..., HTMLResponse],
    explain: Callable[[str], str] = str,
) -> Response:
    """The form's action on a definition: try it on the chosen call, or save it as the next
    version; a refusal is shown on the page (`explain` words a scorecard error for it)."""
    try:
        if form.action == "preview":
            picked = form.call()
            result = _try(session, principal, settings, call_id=picked, definition=definition)
            return show(result=result, picked=picked)
        row = scorecards.create_version(
            session, principal=principal, name=name, definition=definition
        )
    except ScorecardInvalid as exc:
        rollback(session)
        return show(error=explain(str(exc)), code=422)
    except CallqaError as exc:
        rollback_work(session)  # a refused preview's audit row (keep_on_error) stays
        return show(error=exc.message, code=exc.status_code)
    return back(f"/scorecards/{name}/edit?saved={row.version}")


@router.get("/scorecards/{name}/edit", response_class=HTMLResponse)
def editor_page(
    request: Request,
    name: str,
    session: SessionDep,
    principal: PageCallManager,
    version: int | None = None,
    saved: int | None = None,
) -> HTMLResponse:
    versions = scorecards.versions_of(session, principal=principal, name=name)
    base = _base(versions, version)
    draft = scorecard_form.load(base.definition)
    return _editor(
        request, session, principal, versions=versions, base=base, draft=draft, saved=saved
    )


@router.post("/scorecards/{name}/edit", response_class=HTMLResponse)
def editor_post(
    request: Request,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageCallManager,
    _csrf: Csrf,
    form: Annotated[EditorForm, Form()],
) -> Response:
    """Update the draft (add a criterion, drop the ones ticked for removal), try it on a call,
    or save it as the next version. Nothing is stored but a saved version."""
    versions = scorecards.versions_of(session, principal=principal, name=name)
    base = versions[-1]
    draft = scorecard_form.from_form(name, form.fields())
    show = partial(_editor, request, session, principal, versions=versions, base=base, draft=draft)
    if form.action == "add":
        scorecard_form.add_criterion(draft, form.new_kind)
    if draft.problems:
        error = "; ".join(draft.problems)
        return show(error=error, code=422)
    if form.action not in ("preview", "save"):
        return show()
    return _try_or_save(
        session,
        principal,
        settings,
        form,
        name=name,
        definition=draft.yaml(),
        show=show,
        explain=partial(scorecard_form.explain, draft),
    )


@router.get("/scorecards/{name}/yaml", response_class=HTMLResponse)
def yaml_page(
    request: Request,
    name: str,
    session: SessionDep,
    principal: PageCallManager,
    version: int | None = None,
) -> HTMLResponse:
    versions = scorecards.versions_of(session, principal=principal, name=name)
    base = _base(versions, version)
    return _editor(
        request,
        session,
        principal,
        versions=versions,
        base=base,
        draft=scorecard_form.load(base.definition),
        template="scorecard_yaml.html",
        definition=base.definition,
    )


@router.post("/scorecards/{name}/yaml", response_class=HTMLResponse)
def yaml_post(
    request: Request,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageCallManager,
    _csrf: Csrf,
    form: Annotated[EditorForm, Form()],
) -> Response:
    """The definition as YAML, comments and all: tried on a call or saved as the next version."""
    versions = scorecards.versions_of(session, principal=principal, name=name)
    show = partial(
        _editor,
        request,
        session,
        principal,
        versions=versions,
        base=versions[-1],
        draft=scorecard_form.Draft({}),
        template="scorecard_yaml.html",
        definition=form.definition,
    )
    return _try_or_save(
        session, principal, settings, form, name=name, definition=form.definition, show=show
    )
