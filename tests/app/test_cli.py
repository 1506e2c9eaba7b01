import json
import re

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.db import engine_for
from app.scorecards.models import ScorecardChoice
from app.teams.models import Team, TeamLead
from app.users.models import Agent, ApiKey, Role, User
from tests.conftest import DATA, MODEL_CACHE

runner = CliRunner()


@pytest.fixture
def env(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("CALLQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CALLQA_DATABASE_URL", db_url)
    monkeypatch.setenv("CALLQA_MODEL_DIR", str(MODEL_CACHE))
    yield db_url
    with Session(engine_for(db_url)) as session:  # the CLI commits; clean up after it
        for choice in session.exec(select(ScorecardChoice)).all():
            session.delete(choice)
        for lead in session.exec(select(TeamLead)).all():
            session.delete(lead)
        for agent in session.exec(select(Agent)).all():
            agent.team_id = None
            session.add(agent)
        session.flush()
        for row in [
            *session.exec(select(User)).all(),
            *session.exec(select(ApiKey)).all(),
            *session.exec(select(Team)).all(),
        ]:
            session.delete(row)
        session.commit()


def test_users_add_creates_a_linked_agent_login(env):
    result = runner.invoke(
        cli,
        [
            "users",
            "add",
            "--email",
            "Laura@Example.com",
            "--password",
            "long-enough",
            "--role",
            "agent",
            "--agent",
            "laura",
        ],
    )
    assert result.exit_code == 0, result.output
    with Session(engine_for(env)) as session:
        user = session.exec(select(User).where(User.email == "laura@example.com")).one()
        assert user.role is Role.agent and user.agent_id is not None


def test_users_add_refuses_a_duplicate_with_one_line(env):
    args = [
        "users",
        "add",
        "--email",
        "s@example.com",
        "--password",
        "long-enough",
        "--role",
        "supervisor",
    ]
    assert runner.invoke(cli, args).exit_code == 0
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.output.strip() == "error: a user 's@example.com' already exists"


def test_keys_create_prints_once_and_revoke_disables(env):
    result = runner.invoke(
        cli, ["keys", "create", "--name", "payroll", "--scope", "incentives:read"]
    )
    assert result.exit_code == 0
    secret = result.output.strip()
    assert secret.startswith("cqk_")
    with Session(engine_for(env)) as session:
        key = session.exec(select(ApiKey).where(ApiKey.name == "payroll")).one()
        assert secret not in key.key_hash and key.scopes == "incentives:read"
    assert runner.invoke(cli, ["keys", "revoke", "payroll"]).exit_code == 0
    again = runner.invoke(cli, ["keys", "revoke", "payroll"])
    assert again.exit_code == 1 and "no active API key" in again.output


def test_keys_create_rejects_unknown_scope(env):
    result = runner.invoke(cli, ["keys", "create", "--name", "x", "--scope", "root"])
    assert result.exit_code == 1 and "unknown scope(s) root" in result.output


def test_transcribe_prints_speaker_labelled_json(env):
    result = runner.invoke(
        cli, ["transcribe", str(DATA / "basic.flac"), "--json", "--model", "tiny.en"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["layout"] == "stereo-agent-left" and body["model"] == "tiny.en"
    assert {s["speaker"] for s in body["segments"]} == {"agent", "customer"}


def test_transcribe_readable_output_and_bad_file(env, tmp_path):
    result = runner.invoke(cli, ["transcribe", str(DATA / "basic.flac"), "--model", "tiny.en"])
    assert result.exit_code == 0 and "   agent: " in result.output
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    result = runner.invoke(cli, ["transcribe", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip() == "error: the file is not a recognised audio format"


def test_score_prints_dimensions_and_evidence(env):
    # base, the default: tiny.en's int8 output depends on the CPU, and on some it hears
    # "And you for calling" for "Thank you for calling".
    result = runner.invoke(cli, ["score", str(DATA / "basic.flac"), "--model", "base"])
    assert result.exit_code == 0, result.output
    assert "overall" in result.output and "responsiveness" in result.output
    assert "✓ Greeting with the company" in result.output
    assert "✗ Recording disclosure" in result.output
    as_json = json.loads(
        runner.invoke(cli, ["score", str(DATA / "basic.flac"), "--json", "--model", "base"]).output
    )
    assert set(as_json["dimensions"]) == {
        "reliability",
        "responsiveness",
        "empathy",
        "competence",
        "personal_touch",
    }
    assert as_json["scorecard"] == "default" and as_json["metrics"]["reply_latencies"] >= 3


def _conversation_file(tmp_path, utterances, **fields):
    body = {
        "agent": "dana",
        "started_at": "2026-11-20T10:00:00Z",
        "channel": "chat",
        "call_type": "service",
        "direction": "inbound",
        "language": "en",
        "customer_name": "Maya",
        "utterances": utterances,
        **fields,
    }
    path = tmp_path / "conversation.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


GOOD_CHAT = [
    {
        "speaker": "agent",
        "start": 0,
        "end": 2,
        "text": "Hello, thank you for contacting Brightline, my name is Dana.",
    },
    {
        "speaker": "customer",
        "start": 3,
        "end": 5,
        "text": "My bill is wrong again, this is the third time I'm writing.",
    },
    {
        "speaker": "agent",
        "start": 6,
        "end": 9,
        "text": "I'm so sorry about that, Maya. I've refunded the charge just now.",
    },
    {
        "speaker": "agent",
        "start": 10,
        "end": 12,
        "text": "Is there anything else I can help with? Have a lovely evening.",
    },
]


def test_score_of_a_conversation_file_prints_one_json_object(env, tmp_path):
    path = _conversation_file(tmp_path, GOOD_CHAT)
    result = runner.invoke(cli, ["score", str(path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert {"overall", "dimensions", "auto_fail", "criteria", "judged"} <= set(body)
    assert all({"id", "applicable", "passed"} <= set(c) for c in body["criteria"])
    by_id = {c["id"]: c for c in body["criteria"]}
    assert by_id["greeting"]["passed"] and by_id["customer_name"]["passed"]
    assert not by_id["reply_speed"]["applicable"]  # a chat has no timing to judge
    assert body["auto_fail"] is False and 0 <= body["overall"] <= 100
    readable = runner.invoke(cli, ["score", str(path)])
    assert readable.exit_code == 0 and "✓ Greeting with the company" in readable.output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "utterances.0: Value error, end (1.0) is before start (4.0)"),
        ("{not json", "Invalid JSON"),
        ('{"agent": "dana"}', "started_at: Field required (and 1 more)"),
    ],
)
def test_score_refuses_a_bad_conversation_file_with_one_line(env, tmp_path, content, says):
    path = _conversation_file(tmp_path, [{"speaker": "agent", "start": 4, "end": 1, "text": "hi"}])
    if content is not None:
        path.write_text(content)
    result = runner.invoke(cli, ["score", str(path), "--json"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and says in result.output
    missing = runner.invoke(cli, ["score", str(tmp_path / "none.json")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_score_rejects_an_invalid_scorecard_with_its_line(env, tmp_path):
    card = tmp_path / "card.yaml"
    card.write_text("name: x\ncriteria:\n  - id: a\n    dimension: mood\n    kind: phrases\n")
    result = runner.invoke(cli, ["score", str(DATA / "basic.flac"), "--scorecard", str(card)])
    assert result.exit_code == 1 and "line 3: dimension 'mood'" in result.output


def test_rescore_needs_calls_and_a_known_version(env):
    result = runner.invoke(cli, ["rescore", "--version-id", "999", "--call", "1"])
    assert result.exit_code == 1 and "scorecard version 999 not found" in result.output


def test_teams_add_links_supervisors_and_agents(env):
    assert (
        runner.invoke(
            cli,
            [
                "users",
                "add",
                "--email",
                "lead@cc.test",
                "--password",
                "long-enough-1",
                "--role",
                "supervisor",
            ],
        ).exit_code
        == 0
    )
    result = runner.invoke(
        cli, ["teams", "add", "Billing", "--lead", "lead@cc.test", "--agent", "agent-7"]
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["teams", "list"]).output
    assert re.search(r"^\d+\tBilling\tleads: lead@cc.test\tagents: agent-7$", listed, re.M)
    bad = runner.invoke(cli, ["teams", "add", "Billing", "--lead", "nobody@cc.test"])
    assert bad.exit_code == 1 and "not found" in bad.output


def test_alerts_sweep_runs(env):
    result = runner.invoke(cli, ["alerts", "sweep"])
    assert result.exit_code == 0 and "alert(s) raised" in result.output


def test_cli_works_in_a_fresh_process(tmp_path):
    """Each command runs in its own process: every table must be known there, not only in a
    test run that imported the whole app already."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CALLQA_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("migrate").returncode == 0
    made = run(
        "users",
        "add",
        "--email",
        "x@cc.test",
        "--password",
        "long-enough-1",
        "--role",
        "agent",
        "--agent",
        "x1",
    )
    assert made.returncode == 0, made.stderr
    assert run("teams", "add", "T", "--agent", "x1").returncode == 0


def test_outcomes_import_and_incentives(env, tmp_path):
    bad = tmp_path / "crm.csv"
    bad.write_text("external_id,deal_closed\nnope,yes\n")
    result = runner.invoke(cli, ["outcomes", "import", str(bad)])
    assert result.exit_code == 1
    assert "line 2 (nope): no call with this external_id" in result.output
    assert "nothing was applied" in result.output
    computed = runner.invoke(cli, ["incentives", "compute", "--period", "2031-01"])
    assert computed.exit_code == 0 and "2031-01 open: 0 agent(s)" in computed.output
    assert runner.invoke(cli, ["incentives", "lock", "--period", "2031-01"]).exit_code == 0
    again = runner.invoke(cli, ["incentives", "compute", "--period", "2031-01"])
    assert again.exit_code == 0 and "locked" in again.output
    wrong = runner.invoke(cli, ["incentives", "compute", "--period", "2031-13"])
    assert wrong.exit_code == 1 and "YYYY-MM" in wrong.output


def test_scorecards_are_chosen_per_team_and_call_type_at_the_command_line(env):
    assert runner.invoke(cli, ["teams", "add", "Night"]).exit_code == 0
    chosen = runner.invoke(
        cli, ["scorecards", "choose", "default", "--team", "Night", "--call-type", "sales"]
    )
    assert chosen.exit_code == 0, chosen.output
    choice_id, slot = chosen.output.split(":", 1)[0].split()[1], chosen.output.split()[2]
    assert slot.endswith(":sales") and chosen.output.strip().endswith("-> default")
    listed = runner.invoke(cli, ["scorecards", "choices"])
    assert listed.output.split() == [choice_id, slot, "default"]
    unknown = runner.invoke(cli, ["scorecards", "choose", "nope"])
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "error: scorecard 'nope' not found among the global ones"
    removed = runner.invoke(cli, ["scorecards", "unchoose", choice_id])
    assert removed.exit_code == 0 and runner.invoke(cli, ["scorecards", "choices"]).output == ""


def _outside(tmp_path, *args: str, **extra: str):  # type: ignore[no-untyped-def]
    """The installed `callqa` run from a folder that is not the repository, with no CALLQA_
    settings: what a user who opened a new terminal gets."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLQA_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("callqa")), *args],
        cwd=tmp_path,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "extra", "says"),
    [
        (("users", "list"), {}, "no database at {tmp}/data/callqa.db; run `callqa migrate`"),
        (
            ("keys", "create", "--name", "x", "--scope", "calls:read"),
            {},
            "no database at {tmp}/data/callqa.db",
        ),
        (
            ("users", "list"),
            {"CALLQA_DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:9/none"},
            "cannot use the database: connection failed",
        ),
        (
            ("users", "list"),
            {"CALLQA_WHISPER_BEAM_SIZE": "many"},
            "CALLQA_WHISPER_BEAM_SIZE: Input should be a valid integer",
        ),
    ],
)
def test_outside_the_repository_a_problem_is_one_line_with_the_fix(tmp_path, args, extra, says):
    done = _outside(tmp_path, *args, **extra)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr  # one line, no traceback
    assert done.stderr.startswith("error: ") and says.format(tmp=tmp_path) in done.stderr
    assert not (tmp_path / "data" / "callqa.db").exists()  # no empty database left behind


def test_a_database_not_migrated_names_the_revisions(tmp_path):
    import sqlite3

    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "callqa.db").close()
    done = _outside(tmp_path, "users", "list")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "is at revision none, this callqa needs" in done.stderr
    assert "run `callqa migrate`" in done.stderr
    assert _outside(tmp_path, "migrate").returncode == 0
    listed = _outside(tmp_path, "users", "list")
    assert listed.returncode == 0, listed.stderr
