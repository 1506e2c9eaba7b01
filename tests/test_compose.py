"""compose.yaml, the scale-out shape, checked without Docker (which these machines lack): every
callqa service runs a real `callqa` command with options it has, every CALLQA_ variable is a
setting, the settings it makes validate, and the parts it depends on exist and are checked."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from app.cli import cli as cli_app
from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]
CALLQA = ("migrate", "api", "worker", "worker-gpu")
# A `${NAME:?message}` or `${NAME:-default}` reference, as compose substitutes it.
_REF = re.compile(r"\$\{(\w+)(?::[?-]([^}]*))?\}")
SAMPLE = {"POSTGRES_PASSWORD": "pw", "CALLQA_SECRET_KEY": "k" * 40, "S3_SECRET_KEY": "s3secret"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _substitute(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) in SAMPLE:
            return SAMPLE[m.group(1)]
        assert m.group(0).startswith(f"${{{m.group(1)}:-"), f"{m.group(0)}: no sample value"
        return m.group(2) or ""

    return _REF.sub(one, str(value))


def test_every_callqa_service_runs_a_real_command(compose):
    root = get_command(cli_app)
    for name in CALLQA:
        service = compose["services"][name]
        argv = service["command"]
        assert argv[0] == "callqa", name
        command = root.commands[argv[1]]  # type: ignore[attr-defined]
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for word in argv[2:]:
            if word.startswith("--"):
                assert word in known, f"{name}: `callqa {argv[1]}` has no option {word}"
    assert compose["services"]["api"]["command"][:3] == ["callqa", "serve", "--no-worker"]
    # Every API and worker waits for the one migration run.
    for name in CALLQA[1:]:
        wait = compose["services"][name]["depends_on"]["migrate"]
        assert wait == {"condition": "service_completed_successfully"}, name


def test_every_callqa_variable_is_a_setting_and_validates(compose, monkeypatch):
    fields = {f"CALLQA_{name.upper()}" for name in Settings.model_fields}
    for name in CALLQA:
        env = {k: _substitute(v) for k, v in compose["services"][name]["environment"].items()}
        unknown = [k for k in env if k.startswith("CALLQA_") and k not in fields]
        assert not unknown, f"{name}: not settings: {unknown}"
        for key in list(os.environ):
            if key.startswith("CALLQA_"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.environment == "production"
        # The scaled shape: nothing of the truth on a process's own disk.
        assert settings.database_url and settings.database_url.startswith("postgresql+psycopg://")
        assert settings.queue_url == "redis://redis:6379/0"
        assert env["CALLQA_STORAGE_URL"].startswith("s3://")
        assert len(settings.signing_key) >= 32  # shared by every API process
    gpu = compose["services"]["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["environment"]["CALLQA_WHISPER_DEVICE"] == "cuda"
    assert gpu["environment"]["CALLQA_WHISPER_COMPUTE_TYPE"] == "float16"


def test_the_parts_exist_are_health_checked_and_keep_their_data(compose):
    services, volumes = compose["services"], compose["volumes"]
    assert compose["services"]["api"]["deploy"]["replicas"] >= 2
    assert compose["services"]["worker"]["deploy"]["replicas"] >= 2
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dep, how in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on a missing {dep}"
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no health check"
            if how.get("condition") == "service_completed_successfully":
                assert "restart" not in services[dep], f"{dep} runs once: no restart"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source in volumes, f"{name}: volume {source} is not declared"
    # The state lives in named volumes, not in a container.
    for name, path in (
        ("postgres", "/var/lib/postgresql/data"),
        ("redis", "/data"),
        ("seaweedfs", "/data"),
    ):
        assert any(m.endswith(f":{path}") for m in services[name]["volumes"]), name
    # The one published port is the proxy's, in front of the API replicas.
    published = [n for n, s in services.items() if s.get("ports")]
    assert published == ["proxy"]
    assert "dynamic a api 8000" in compose["configs"]["caddyfile"]["content"]
    # The S3 keys callqa sends are the ones SeaweedFS enforces.
    api, weed = services["api"]["environment"], services["seaweedfs"]["environment"]
    assert api["AWS_ACCESS_KEY_ID"] == weed["AWS_ACCESS_KEY_ID"]
    assert api["AWS_SECRET_ACCESS_KEY"] == weed["AWS_SECRET_ACCESS_KEY"]
    assert api["CALLQA_STORAGE_URL"].removeprefix("s3://").split("/")[0] == weed["S3_BUCKET"]
