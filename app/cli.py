"""The `callqa` command: serve, worker, migrate, users, keys, transcribe."""

from __future__ import annotations

import asyncio
import ctypes
import getpass
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app import (
    models,  # noqa: F401  (every table known before the first query)
    storage,
)
from app.accounts import service as accounts
from app.alerts.service import run_sweep
from app.auth import Principal
from app.calls import bulk
from app.calls.models import Call, CallType, Direction
from app.calls.schemas import ConversationIn
from app.calls.service import conversation_segments
from app.calls.tasks import engine_options, pipeline_options
from app.config import Settings, get_settings, split_s3_url
from app.db import engine_for, unit_of_work
from app.errors import CallqaError, NotFound
from app.incentives.service import import_outcomes, lock, read_lines, refresh
from app.migrate import revisions, upgrade
from app.scorecards import service as scorecards
from app.storage.migrate import copy_recordings
from app.teams import service as teams
from app.timeutil import from_local
from app.users.models import Role
from app.users.service import create_api_key, ensure_admin, revoke_api_key
from app.worker import CallqaQueue
from qa import CallFacts, ScorecardInvalid, Utterance, default_path, load
from qa import score as score_call
from qa.embedder import EmbedderUnavailable, shared_embedder
from qa.roles import MeaningRoleJudge
from transcription.audio import probe_audio
from transcription.diarize import create_diarizer
from transcription.engine import create_engine
from transcription.errors import TranscriptionError
from transcription.openai_weights import checkpoint_for, convert, default_target
from transcription.pipeline import transcribe_file
from transcription.types import Layout, Speaker
from transcription.types import Transcript as TranscriptResult
from transcription.weights import resolve_model

cli = typer.Typer(
    help="callqa: contact-center QA, self-hosted.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
users_cli = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
keys_cli = typer.Typer(
    help="Manage API keys for machines (payroll, recorders).", no_args_is_help=True
)
teams_cli = typer.Typer(help="Teams: which supervisor leads which agents.", no_args_is_help=True)
alerts_cli = typer.Typer(help="Alerts (management by exception).", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(teams_cli, name="teams")
cli.add_typer(alerts_cli, name="alerts")
outcomes_cli = typer.Typer(help="Deals and their values from a CRM.", no_args_is_help=True)
incentives_cli = typer.Typer(help="Incentive periods: compute, lock.", no_args_is_help=True)
cli.add_typer(outcomes_cli, name="outcomes")
cli.add_typer(incentives_cli, name="incentives")
cli.add_typer(keys_cli, name="keys")
scorecards_cli = typer.Typer(
    help="Which scorecard scores which team's calls and call types.", no_args_is_help=True
)
cli.add_typer(scorecards_cli, name="scorecards")
models_cli = typer.Typer(help="Whisper weights for the engines.", no_args_is_help=True)
cli.add_typer(models_cli, name="models")
storage_cli = typer.Typer(help="Where the recordings are kept.", no_args_is_help=True)
cli.add_typer(storage_cli, name="storage")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def _unit(settings: Settings, *, writes: bool = True) -> Iterator[Session]:
    """One unit of work for a command: committed when it ends well; a CallqaError inside is
    one line and exit 1, with nothing written."""
    _require_database(settings)
    try:
        with unit_of_work(engine_for(settings.db_url), writes=writes) as session:
            yield session
    except CallqaError as exc:
        _fail(exc.message)


def _require_database(settings: Settings) -> None:
    """One line with the fix when there is no database here, or one not migrated: run from
    the wrong folder, the CLI would otherwise create an empty SQLite file and fail on it."""
    url = settings.db_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            _fail(
                f"no database at {path}; run `callqa migrate` (or `callqa serve`, which does) "
                "or set CALLQA_DATA_DIR to your data directory"
            )
    current, head = revisions(url)
    if current != head:
        where = url.split("@")[-1]
        _fail(
            f"the database at {where} is at revision {current or 'none'}, this callqa needs "
            f"{head}; run `callqa migrate`"
        )


def _cli() -> Principal:
    """Who changes accounts at the command line: audited like the API, as `cli:<OS user>`."""
    return Principal(
        kind="cli",
        id=0,
        name=f"cli:{getpass.getuser()}",
        role=None,
        agent_id=None,
        scopes=frozenset(),
    )


def _migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.db_url)


@cli.command()
def migrate() -> None:
    """Apply database migrations."""
    settings = get_settings()
    _migrate(settings)
    typer.echo(f"database at head: {settings.db_url.split('@')[-1]}")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address", envvar="CALLQA_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="port", envvar="CALLQA_PORT")] = None,
    worker: Annotated[bool, typer.Option(help="start a job worker beside the API")] = True,
) -> None:
    """Migrate, create the admin on first start, and serve API, web root and a worker."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    _migrate(settings)
    _clear_staging(settings)
    with _unit(settings) as session:
        generated = ensure_admin(session, password=settings.admin_password)
    # Assemble (or, for openai-whisper, convert) the offline weights now, not on the first call
    # a worker takes.
    try:
        if settings.whisper_engine == "openai-whisper":
            model = checkpoint_for(settings.whisper_model, cache_dir=settings.models_dir)
        else:
            model = resolve_model(settings.whisper_model, cache_dir=settings.models_dir)
    except TranscriptionError as exc:
        _fail(str(exc))
    typer.echo(f"Whisper model ({settings.whisper_engine}): {model}")
    keeper = _WorkerKeeper() if worker else None
    # uvicorn shuts down on SIGTERM and then raises the signal again; with the default handler
    # that would kill this process before `finally` stops the worker (an orphan). As an
    # exception it unwinds through `finally` instead.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if keeper is not None:
            keeper.start()
        bind = host or settings.host
        shown = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind  # where to open it here
        config = uvicorn.Config(
            "app.main:create_app",
            factory=True,
            host=bind,
            port=port or settings.port,
        )
        _Server(
            config,
            banner=(
                _admin_banner(generated, settings.public_url or f"http://{shown}:{config.port}")
                if generated
                else None
            ),
            after=keeper.ready if keeper is not None else None,
        ).run()
    finally:
        if keeper is not None:
            keeper.stop()


def _admin_banner(password: str, url: str) -> str:
    """The first start's admin password, framed so it stands out of the install's output."""
    lines = [
        f"Open {url} and log in as 'admin' with the password:",
        f"    {password}",
        "Shown once. Log in, then change it; set CALLQA_ADMIN_PASSWORD",
        "before the first start to choose it yourself.",
    ]
    width = max(len(line) for line in lines) + 2
    rule = "+" + "-" * width + "+"
    return "\n".join(["", rule, *(f"| {line:<{width - 2}} |" for line in lines), rule, ""])


class _Server(uvicorn.Server):
    """uvicorn's server, which prints the first start's admin password once it listens: last,
    after uvicorn's own start-up lines, where the person who ran `make run` looks."""

    READY_TIMEOUT = 60.0  # a worker loading slowly does not hold the password back for ever

    def __init__(
        self, config: uvicorn.Config, *, banner: str | None, after: threading.Event | None
    ) -> None:
        super().__init__(config)
        self.banner = banner
        self.after = after  # the worker beside it: its start-up lines come first

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.banner or not self.started:
            return
        if self.after is not None:
            await asyncio.to_thread(self.after.wait, self.READY_TIMEOUT)
        typer.echo(self.banner)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class _WorkerKeeper:
    """The worker beside `callqa serve`: a sibling process (Huey's consumer installs its own
    signal handlers), started again when it dies, and stopped with the server. On Linux it
    also dies with the server if the server is killed outright (PR_SET_PDEATHSIG)."""

    RESTART_DELAY = 2.0  # doubled, up to a minute, while the worker keeps dying at once
    MAX_DELAY = 60.0

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.ready = threading.Event()  # the first worker is up, or died trying
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # no new worker once stop() has begun
        self._thread = threading.Thread(target=self._keep, name="worker-keeper", daemon=True)

    def start(self) -> None:
        read_end, write_end = os.pipe()
        try:
            self._spawn(ready_fd=write_end)
        finally:
            os.close(write_end)
        threading.Thread(target=self._await_ready, args=(read_end,), daemon=True).start()
        self._thread.start()

    def _await_ready(self, read_end: int) -> None:
        try:
            os.read(read_end, 1)  # a byte when it is up; end of file if it died first
        finally:
            os.close(read_end)
            self.ready.set()

    def _spawn(self, ready_fd: int | None = None) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            env = dict(os.environ)
            if ready_fd is not None:
                env[READY_FD] = str(ready_fd)
            self.child = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker"],
                env=env,
                pass_fds=() if ready_fd is None else (ready_fd,),
                preexec_fn=_die_with_parent(),
            )
            return True

    def _keep(self) -> None:
        delay = self.RESTART_DELAY
        while not self._stopping.is_set():
            assert self.child is not None
            started = time.monotonic()
            code = self.child.wait()
            if time.monotonic() - started > self.MAX_DELAY:
                delay = self.RESTART_DELAY  # it ran a while: not a crash loop
            if self._stopping.wait(delay):
                return
            logging.getLogger(__name__).warning(
                "the worker (pid %s) exited with %s: starting another in %.0f s",
                self.child.pid,
                code,
                delay,
            )
            if not self._spawn():
                return
            delay = min(delay * 2, self.MAX_DELAY)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
        child = self.child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def _die_with_parent() -> Callable[[], None] | None:
    """What the worker runs before it starts: SIGTERM when the process that started it dies.
    prctl is looked up here, in the parent: between fork and exec the child must not load
    libraries (another thread may hold the loader's lock)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def set_signal() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return set_signal


@cli.command()
def worker() -> None:
    """Run a job worker (transcription) until stopped; start as many as you need."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    typer.echo(f"worker {os.getpid()}: queue {settings.queue_url or 'sqlite'}", err=True)
    _clear_staging(settings)
    CallqaQueue(settings).run_worker(on_ready=_ready_signal())


READY_FD = "CALLQA_READY_FD"


def _ready_signal() -> Callable[[], None] | None:
    """How a worker started by `callqa serve` tells it that it is up (one byte on a pipe
    serve handed down), so serve prints the admin password after the worker's start-up lines."""
    fd = os.environ.pop(READY_FD, None)
    if fd is None or not fd.isdigit():
        return None

    def ready() -> None:
        try:
            os.write(int(fd), b"1")
            os.close(int(fd))
        except OSError:  # serve is gone or stopped listening: nothing to tell
            pass

    return ready


def _clear_staging(settings: Settings) -> None:
    """At start: what a process that died mid-upload or mid-job left behind (issue 14)."""
    removed = storage.clear_stale_staging(settings.audio_dir)
    if removed:
        logging.getLogger(__name__).info("removed %d stale staging file(s)", removed)


@storage_cli.command("migrate")
def storage_migrate(
    to: Annotated[str, typer.Option("--to", help="the bucket: s3://BUCKET[/prefix]")],
) -> None:
    """Copy every call's recording from the data directory to an S3-compatible bucket
    (CALLQA_S3_ENDPOINT_URL and the AWS_* credentials apply); run again, it copies only what
    is missing. Then set CALLQA_STORAGE_URL to the same address."""
    settings = get_settings()
    try:
        split_s3_url(to)
    except ValueError as exc:
        _fail(str(exc))
    with _unit(settings, writes=False) as session:
        keys = session.exec(select(Call.audio_path).where(col(Call.audio_path).is_not(None))).all()
    source = storage.LocalStore(settings.audio_dir)
    target = storage.store_at(
        to, audio_dir=settings.audio_dir, endpoint_url=settings.s3_endpoint_url
    )
    try:
        done = copy_recordings([k for k in keys if k], source=source, target=target)
    except CallqaError as exc:
        _fail(exc.message)
    for key in done.missing:
        typer.echo(f"missing from {source.where}: {key}", err=True)
    for key in done.mismatched:
        typer.echo(f"copied with the wrong size, removed again: {key}", err=True)
    typer.echo(
        f"{done.copied} copied, {done.present} already there, {len(done.missing)} missing, "
        f"{len(done.mismatched)} failed to verify ({target.where})"
    )
    if done.mismatched:
        raise typer.Exit(1)


@users_cli.command("add")
def users_add(
    email: Annotated[str, typer.Option(help="login name")],
    password: Annotated[str, typer.Option(help="at least 8 characters")],
    role: Annotated[Role, typer.Option(help="admin, supervisor or agent")],
    agent: Annotated[str | None, typer.Option(help="agent's external id (agents only)")] = None,
) -> None:
    """Create a user."""
    with _unit(get_settings()) as session:
        user = accounts.add_user(
            session, by=_cli(), email=email, password=password, role=role, agent=agent
        ).user
    typer.echo(f"created {user.role.value} {user.email}")


@users_cli.command("list")
def users_list() -> None:
    """Every account: login name, role, linked agent, active or not."""
    with _unit(get_settings(), writes=False) as session:
        for account in accounts.list_accounts(session):
            u = account.user
            state = "active" if u.is_active else "deactivated"
            typer.echo(f"{u.id}\t{u.email}\t{u.role.value}\t{account.agent or '-'}\t{state}")


@users_cli.command("set-role")
def users_set_role(
    user: Annotated[str, typer.Argument(help="login name or id")],
    role: Annotated[Role, typer.Argument(help="admin, supervisor or agent")],
    agent: Annotated[str | None, typer.Option(help="agent id to link (agents)")] = None,
) -> None:
    """Change a user's role (their sessions end); agents are linked to an agent id."""
    with _unit(get_settings()) as session:
        target = accounts.find_user(session, user)
        account = accounts.change_user(
            session, target, accounts.Change(role=role, agent=agent), by=_cli()
        )
    typer.echo(
        f"{account.user.email} is now {role.value}"
        + (f" ({account.agent})" if account.agent else "")
    )


@users_cli.command("deactivate")
def users_deactivate(user: Annotated[str, typer.Argument(help="login name or id")]) -> None:
    """Deactivate a user: they cannot log in, and their open sessions end at once."""
    with _unit(get_settings()) as session:
        target = accounts.find_user(session, user)
        account = accounts.change_user(session, target, accounts.Change(active=False), by=_cli())
    typer.echo(f"deactivated {account.user.email}")


@users_cli.command("activate")
def users_activate(user: Annotated[str, typer.Argument(help="login name or id")]) -> None:
    """Let a deactivated user log in again."""
    with _unit(get_settings()) as session:
        target = accounts.find_user(session, user)
        account = accounts.change_user(session, target, accounts.Change(active=True), by=_cli())
    typer.echo(f"activated {account.user.email}")


@users_cli.command("reset-password")
def users_reset_password(
    user: Annotated[str, typer.Argument(help="login name or id")],
    password: Annotated[
        str | None, typer.Option(help="the new password (default: generated and printed once)")
    ] = None,
) -> None:
    """Set a new password; every session of that user ends."""
    with _unit(get_settings()) as session:
        target = accounts.find_user(session, user)
        new = accounts.reset_password(session, target, password, by=_cli())
    typer.echo(
        f"new password for {target.email}: {new}"
        if password is None
        else f"password of {target.email} changed"
    )


@teams_cli.command("add")
def teams_add(
    name: Annotated[str, typer.Argument(help="team name")],
    lead: Annotated[list[str] | None, typer.Option(help="supervisor's email (repeatable)")] = None,
    agent: Annotated[
        list[str] | None, typer.Option(help="agent's external id (repeatable)")
    ] = None,
) -> None:
    """Create a team (or add to an existing one): its supervisors and agents."""
    with _unit(get_settings()) as session:
        try:
            team = teams.get_team(session, name_or_id=name)
        except NotFound:
            team = teams.create_team(session, name=name)
        for email in lead or []:
            teams.add_lead(session, team=team, email=email)
        for external_id in agent or []:
            teams.set_agent_team(session, agent_external_id=external_id, team=team)
    typer.echo(f"team {team.name}: {len(lead or [])} lead(s), {len(agent or [])} agent(s) added")


@teams_cli.command("list")
def teams_list() -> None:
    """Every team (id, name) with its supervisors and agents."""
    with _unit(get_settings(), writes=False) as session:
        for team, leads, agents in teams.list_teams(session):
            typer.echo(
                f"{team.id}\t{team.name}\tleads: {', '.join(leads) or '-'}"
                f"\tagents: {', '.join(agents) or '-'}"
            )


@scorecards_cli.command("choose")
def scorecards_choose(
    scorecard: Annotated[str, typer.Argument(help="scorecard name (GET /api/v1/scorecards)")],
    team: Annotated[str | None, typer.Option(help="team name or id; default: every team")] = None,
    call_type: Annotated[
        CallType | None, typer.Option(help="call type; default: every type")
    ] = None,
) -> None:
    """Score new calls of a team and/or call type with this scorecard (most specific wins)."""
    with _unit(get_settings()) as session:
        team_id = teams.get_team(session, name_or_id=team).id if team else None
        row = scorecards.set_choice(
            session, principal=_cli(), team_id=team_id, call_type=call_type, scorecard=scorecard
        )
    typer.echo(f"choice {row.id}: {row.slot} -> {row.scorecard}")


@scorecards_cli.command("choices")
def scorecards_choices() -> None:
    """Every choice (team:call type -> scorecard; * is every); calls no choice covers are
    scored with `default`."""
    with _unit(get_settings(), writes=False) as session:
        for row in scorecards.list_choices(session, _cli()):
            typer.echo(f"{row.id}\t{row.slot}\t{row.scorecard}")


@scorecards_cli.command("unchoose")
def scorecards_unchoose(choice_id: Annotated[int, typer.Argument(help="choice id")]) -> None:
    """Remove a choice: its calls fall back to the next less specific one."""
    with _unit(get_settings()) as session:
        scorecards.delete_choice(session, principal=_cli(), choice_id=choice_id)
    typer.echo(f"choice {choice_id} removed")


@alerts_cli.command("sweep")
def alerts_sweep() -> None:
    """Evaluate the rules over time now and deliver pending webhooks (workers do it too)."""
    settings = get_settings()
    result = run_sweep(engine_for(settings.db_url), settings)
    typer.echo(f"{result.raised} alert(s) raised, {result.delivered} delivered")


@outcomes_cli.command("import")
def outcomes_import(
    file: Annotated[Path, typer.Argument(help="CSV: external_id, deal_closed, deal_value")],
    dry_run: Annotated[bool, typer.Option(help="check only; change nothing")] = False,
) -> None:
    """Apply a CRM export to the calls, all or nothing: any bad row and nothing changes."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {file}: {exc}")
    with _unit(get_settings()) as session:
        report = import_outcomes(session, text=text, principal=None, dry_run=dry_run)
        for r in report.rejected:
            typer.echo(f"line {r['line']} ({r['external_id'] or '-'}): {r['reason']}")
        if report.rejected:  # leaving the unit by an error rolls everything back
            _fail(f"{len(report.rejected)} row(s) rejected; nothing was applied")
    typer.echo(
        f"{report.applied} of {report.rows} row(s) applied"
        + (" (dry run: none applied)" if dry_run else "")
    )


@incentives_cli.command("compute")
def incentives_compute(period: Annotated[str, typer.Option(help="YYYY-MM")]) -> None:
    """Compute an open month's lines (and the adjustments it carries) and print them; a locked
    month's are printed as they were frozen."""
    settings = get_settings()
    with _unit(settings) as session:
        refresh(session, period, zone=settings.zone)
        row, lines = read_lines(session, period, principal=None)
    typer.echo(f"{period} {row.status.value}: {len(lines)} agent(s)")
    for p in lines:
        eligible = "eligible" if p.regular and p.regular.eligible else "not eligible"
        typer.echo(f"  {p.agent.external_id:<20} {eligible:<13} {p.amount:>10}")


@incentives_cli.command("lock")
def incentives_lock(period: Annotated[str, typer.Option(help="YYYY-MM")]) -> None:
    """Freeze a month (refused while disputes on its calls are open)."""
    settings = get_settings()
    with _unit(settings) as session:
        lock(session, period, by="cli", zone=settings.zone)
    typer.echo(f"{period} locked")


@keys_cli.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who uses the key, e.g. payroll")],
    scope: Annotated[
        list[str], typer.Option(help="calls:read, calls:write, outcomes:write, incentives:read")
    ],
) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    with _unit(get_settings()) as session:
        issued = create_api_key(session, name=name, scopes=scope)
    typer.echo(issued.secret)


@keys_cli.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="key name or prefix")]) -> None:
    """Revoke every active key with this name (or prefix)."""
    with _unit(get_settings()) as session:
        count = revoke_api_key(session, name_or_prefix=name)
    typer.echo(f"revoked {count} key(s)")


def _transcribe_offline(
    file: Path,
    *,
    layout: Layout,
    model: str | None,
    hotwords: tuple[str, ...] = (),
    company: str | None = None,
) -> TranscriptResult:
    """Validate and transcribe a file in this process; any problem is one line and exit 1."""
    settings = get_settings()
    if model:
        settings.whisper_model = model
    if file.is_dir():
        _fail(f"{file} is a folder; give one recording (a folder of them: `callqa import`)")
    if not file.is_file():
        _fail(f"no such file: {file}")
    try:
        probe_audio(file, max_seconds=settings.max_call_minutes * 60)
        engine = create_engine(settings.whisper_engine, engine_options(settings))
        embedder = shared_embedder(settings.embedder, settings.models_dir / "embeddings")
        return transcribe_file(
            file,
            engine,
            layout=layout,
            options=pipeline_options(settings, hotwords=hotwords),
            diarizer=create_diarizer(settings.diarizer),
            judge=MeaningRoleJudge(embedder, company=company),
            spool_dir=storage.staging_dir(settings.audio_dir),  # on disk, not a tmpfs
        )
    except (TranscriptionError, EmbedderUnavailable) as exc:
        _fail(str(exc))
        raise  # not reached: _fail exits


@cli.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="a recording", exists=False)],
    layout: Annotated[Layout, typer.Option(help="where agent and customer are")] = Layout.auto,
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    model: Annotated[
        str | None, typer.Option(help="Whisper model name or folder", envvar="CALLQA_WHISPER_MODEL")
    ] = None,
) -> None:
    """Transcribe one recording offline (no server) and print the speaker-labelled transcript."""
    result = _transcribe_offline(file, layout=layout, model=model)
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "duration": round(result.duration, 3),
                    "language": result.language,
                    "layout": result.layout.value,
                    "speakers_labelled": result.speakers_labelled,
                    "roles": result.roles.to_dict(),
                    "diarizer": result.diarizer,
                    "model": result.model,
                    "engine": result.engine,
                    "redactions": result.redactions,
                    "segments": [s.to_dict() for s in result.segments],
                },
                indent=1,
            )
        )
        return
    typer.echo(f"# roles: {result.roles.reason}")
    for seg in result.segments:
        who = seg.speaker.value if seg.speaker is not Speaker.unknown else (seg.voice or "unknown")
        typer.echo(f"[{_clock(seg.start)} - {_clock(seg.end)}] {who:>8}: {seg.text}")


def _read_conversation(file: Path) -> ConversationIn:
    """A conversation file (the POST /api/v1/conversations body), validated; else one line."""
    try:
        return ConversationIn.model_validate_json(file.read_bytes())
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        _fail(f"{file}: {where}: {first['msg']}{more}")
    raise AssertionError("not reached: _fail exits")


@cli.command()
def score(
    file: Annotated[Path, typer.Argument(help="a recording, or a conversation as JSON (.json)")],
    scorecard: Annotated[
        Path | None, typer.Option(help="scorecard YAML (default: built in)")
    ] = None,
    layout: Annotated[Layout, typer.Option(help="where agent and customer are")] = Layout.auto,
    call_type: Annotated[
        str, typer.Option(help="service, sales or other (a .json file says its own)")
    ] = "service",
    direction: Annotated[str, typer.Option(help="inbound or outbound")] = "inbound",
    json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    model: Annotated[
        str | None, typer.Option(help="Whisper model name or folder", envvar="CALLQA_WHISPER_MODEL")
    ] = None,
) -> None:
    """Score one recording (transcribed here) or one text conversation (FILE.json, the body of
    POST /api/v1/conversations) offline; print the scorecard with its evidence."""
    try:
        card = load(scorecard or default_path())
    except (ScorecardInvalid, OSError) as exc:
        _fail(f"scorecard {scorecard}: {exc}")
    if file.suffix.lower() == ".json":
        conversation = _read_conversation(file)
        segments, _ = conversation_segments(conversation)
        facts = CallFacts(
            call_type=conversation.call_type.value,
            direction=conversation.direction.value,
            duration=conversation.duration,
            customer_name=conversation.customer_name,
            channel=conversation.channel.value,
            language=conversation.language,
        )
    else:
        result = _transcribe_offline(
            file, layout=layout, model=model, hotwords=card.vocabulary, company=card.company
        )
        segments = result.segments
        facts = CallFacts(
            call_type=call_type,
            direction=direction,
            duration=result.duration,
            language=result.language,
        )
    utterances = [
        Utterance(i, s.speaker.value, s.start, s.end, s.text)  # type: ignore[arg-type]
        for i, s in enumerate(segments)
    ]
    settings = get_settings()
    try:
        scored = score_call(
            utterances,
            facts,
            card,
            embedder=shared_embedder(settings.embedder, settings.models_dir / "embeddings"),
        )
    except EmbedderUnavailable as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(json.dumps(scored.to_dict(), indent=1, ensure_ascii=False))
        return
    overall = "n/a" if scored.overall is None else f"{scored.overall:.0f}/100"
    typer.echo(f"{file.name}: overall {overall}  (scorecard {card.name} v{card.version})")
    rows = [*scored.dimensions.items(), ("script_compliance", scored.script_compliance)]
    for name, value in rows:
        bar = "" if value is None else "█" * round(value / 5)
        shown = "  n/a" if value is None else f"{value:5.0f}"
        typer.echo(f"  {name:18} {shown} {bar}")
    for reason in scored.auto_fail_reasons:
        typer.echo(f"  AUTO-FAIL: {reason}")
    typer.echo("")
    for c in scored.criteria:
        if not c.applicable:
            continue
        mark = "✓" if c.passed else "✗"
        at = next((e.start for e in c.evidence if e.start is not None), None)
        when = f"[{_clock(at)}] " if at is not None else ""
        typer.echo(f"  {mark} {c.label:45} {when}{c.reason}")


@cli.command()
def rescore(
    version_id: Annotated[int, typer.Option(help="scorecard version id (GET /api/v1/scorecards)")],
    call: Annotated[list[int] | None, typer.Option(help="a call id; repeat for more")] = None,
    started_from: Annotated[datetime | None, typer.Option("--from", help="calls from")] = None,
    started_to: Annotated[datetime | None, typer.Option("--to", help="calls before")] = None,
) -> None:
    """Queue calls to be scored again with a scorecard version (workers do the work)."""
    settings = get_settings()
    queue = CallqaQueue(settings)
    with _unit(settings) as session:
        version = scorecards.get_version(session, version_id=version_id)
        calls = scorecards.calls_in_range(
            session,
            call_ids=call,
            # Times without an offset are the organisation's, as on the API.
            started_from=from_local(started_from, settings.zone) if started_from else None,
            started_to=from_local(started_to, settings.zone) if started_to else None,
            base=select(Call),
            version=version,
        )
        queued = scorecards.queue_rescore(session, version=version, calls=calls)
        for stage, call_id in queued:
            queue.enqueue_after_commit(session, stage, call_id)
    typer.echo(f"queued {len(queued)} call(s) for {version.name} v{version.version}")


def _clock(seconds: float) -> str:
    minutes, sec = divmod(seconds, 60)
    return f"{int(minutes):02d}:{sec:05.2f}"


@models_cli.command("convert")
def models_convert(
    model: Annotated[
        str | None,
        typer.Argument(
            help="base, tiny.en or a CTranslate2 folder (default: CALLQA_WHISPER_MODEL)"
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="the .pt file to write")] = None,
) -> None:
    """Convert CTranslate2 Whisper weights into an openai-whisper checkpoint (needs the openai
    extra: make install-openai). CALLQA_WHISPER_ENGINE=openai-whisper then loads it."""
    settings = get_settings()
    name = model or settings.whisper_model
    target = out or default_target(name, cache_dir=settings.models_dir)
    try:
        convert(name, target, cache_dir=settings.models_dir)
    except TranscriptionError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {target} ({target.stat().st_size / 2**20:.0f} MB)")


@cli.command("import")
def import_folder(
    folder: Annotated[Path, typer.Argument(help="the folder of recordings (searched in full)")],
    metadata: Annotated[
        Path | None,
        typer.Option(
            help="CSV: a `file` column (path relative to FOLDER) and upload fields as columns: "
            + ", ".join(bulk.COLUMNS[1:])
        ),
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="agent of files the metadata does not name")
    ] = None,
    layout: Annotated[Layout, typer.Option(help="layout where the metadata gives none")] = (
        Layout.auto
    ),
    direction: Annotated[Direction, typer.Option()] = Direction.inbound,
    call_type: Annotated[CallType, typer.Option()] = CallType.service,
) -> None:
    """Bring a folder of recordings in: each file once (by external id or content), so a run
    stopped half-way carries on where it stopped when run again. Files without a
    started_at get the time the recorder wrote them. Exit 1 when any file was refused."""
    settings = get_settings()
    if not folder.is_dir():
        _fail(f"no such folder: {folder}")
    _require_database(settings)
    root = folder.resolve()
    try:
        rows = bulk.read_metadata(metadata, root) if metadata is not None else None
    except bulk.MetadataUnusable as exc:
        _fail(str(exc))
    defaults = bulk.Defaults(agent=agent, direction=direction, call_type=call_type, layout=layout)
    items = bulk.plan(root, metadata=rows, defaults=defaults)
    if not items:
        _fail(f"no recordings in {folder}")
    engine = engine_for(settings.db_url)
    queue = CallqaQueue(settings)
    summary = bulk.Summary()
    console = Console(stderr=True)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("importing", total=len(items), counts="")
            for item in items:
                progress.update(task, description=_short(item.relative))
                summary.add(bulk.import_one(engine, settings, item, queue.enqueue_after_commit))
                progress.update(
                    task,
                    advance=1,
                    counts=f"{len(summary.imported)} new · {len(summary.already)} already · "
                    f"{len(summary.refused)} refused",
                )
            progress.update(task, description="imported")
    except KeyboardInterrupt:
        typer.echo(
            f"stopped: {len(summary.imported)} imported so far; run the same command again "
            "to carry on",
            err=True,
        )
        raise typer.Exit(130) from None
    _print_summary(summary, total=len(items))
    if summary.refused:
        raise typer.Exit(1)


def _short(relative: str, width: int = 32) -> str:
    return relative if len(relative) <= width else "…" + relative[-(width - 1) :]


def _print_summary(summary: bulk.Summary, *, total: int) -> None:
    typer.echo(
        f"imported {len(summary.imported)}, already there {len(summary.already)}, "
        f"refused {len(summary.refused)} (of {total} files)"
    )
    if summary.refused:
        typer.echo("refused:")
        width = min(max(len(o.relative) for o in summary.refused), 60)
        for outcome in summary.refused:
            typer.echo(f"  {outcome.relative:<{width}}  {outcome.reason}")
    if summary.imported:
        typer.echo(
            f"{len(summary.imported)} call(s) wait for transcription: `callqa serve` (or "
            "`callqa worker`) transcribes and scores them"
        )


def main() -> None:
    """The `callqa` command: a database or settings problem is one line that says what to do,
    not a traceback (CALLQA_DEBUG=1 shows the traceback as well)."""
    try:
        cli()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        _fail_at_top("; ".join(_setting_error(e) for e in exc.errors()))
    except OperationalError as exc:
        _fail_at_top(
            f"cannot use the database: {_first_line(exc.orig or exc)}; check that it is "
            "running and what CALLQA_DATABASE_URL names"
        )


def _setting_error(error: Any) -> str:
    name = "CALLQA_" + "_".join(str(part) for part in error["loc"]).upper()
    return f"{name}: {error['msg']}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _fail_at_top(message: str) -> None:
    if os.environ.get("CALLQA_DEBUG"):
        raise
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(1)


if __name__ == "__main__":
    main()
