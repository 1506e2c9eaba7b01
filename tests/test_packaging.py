"""The package as it ships: the wheel built, installed away from the sources, migrating a fresh
database; and the Dockerfile's shape (Docker does not run here, so it is read, not built)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from importlib.metadata import distribution
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sqlmodel import SQLModel

from app import models  # noqa: F401  (every table in the metadata)

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from: the packages, and the files pyproject names.
SOURCES = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "app",
    "transcription",
    "qa",
    "scorecards",
    "migrations",
)
DEV_ONLY = {
    "pytest",
    "hypothesis",
    "jiwer",
    "ruff",
    "mypy",
    "playwright",
    "setuptools",
    "types-pyyaml",
    "moto",
}


def _run(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(ROOT / name, src / name)
    # No build isolation and no index: the venv's setuptools (dev extra) builds it offline.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--check-build-dependencies",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(work / "dist"),
            str(src),
        ]
    )
    (built,) = (work / "dist").glob("callqa-*.whl")
    return built


@pytest.mark.slow
def test_wheel_carries_migrations_templates_static_yaml_and_the_license(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [
        ROOT / "migrations/env.py",
        ROOT / "migrations/script.py.mako",
        *(ROOT / "migrations/versions").glob("*.py"),
        *(ROOT / "app/web/templates").rglob("*"),
        *(ROOT / "app/web/static").rglob("*"),
        *(ROOT / "qa").glob("*.yaml"),
        *(ROOT / "scorecards").glob("*.yaml"),
    ]
    expected = [
        p.relative_to(ROOT).as_posix()
        for p in shipped
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert len(expected) > 10
    assert sorted(set(expected) - names) == []
    dist_info = f"{wheel.name.split('-py3')[0]}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata


@pytest.mark.slow
def test_installed_wheel_migrates_a_fresh_database_without_the_sources(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--target",
            str(site),
            str(wheel),
        ]
    )
    run_dir, data = tmp_path / "run", tmp_path / "data"
    run_dir.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLQA_", "PYTHON")) and k != "ALEMBIC_CONFIG"
    }
    # Only the installed copy is importable: PYTHONPATH comes before the venv's editable
    # install, -P keeps the working directory off sys.path, and that directory has no .env.
    env.update(PYTHONPATH=str(site), PYTHONSAFEPATH="1", CALLQA_DATA_DIR=str(data))
    python = [sys.executable, "-P"]

    probe = "import app, migrations; print(app.__file__, migrations.__file__)"
    where = _run([*python, "-c", probe], cwd=run_dir, env=env).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    assert not (site / "alembic.ini").exists()

    migrated = _run([*python, "-m", "app.cli", "migrate"], cwd=run_dir, env=env)
    assert "database at head" in migrated.stdout

    script = Config()
    script.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(script).get_current_head()
    with sqlite3.connect(data / "callqa.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        revisions = [r[0] for r in db.execute("SELECT version_num FROM alembic_version")]
    assert set(SQLModel.metadata.tables) - tables == set()
    assert revisions == [head]


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [a for k, a in self.instructions if k == keyword]


def _stages(dockerfile: str) -> list[Stage]:
    stages: list[Stage] = []
    text = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")),
    )
    for line in text.splitlines():
        if not line.strip():
            continue
        keyword, _, args = line.strip().partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            stages.append(Stage(base=args))
        elif stages:
            stages[-1].instructions.append((keyword, args))
    return stages


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_healthcheck() -> None:
    stages = _stages((ROOT / "Dockerfile").read_text())
    assert len(stages) >= 2
    final = stages[-1]
    users = final.args("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    (healthcheck,) = final.args("HEALTHCHECK")
    assert "/healthz" in healthcheck and "curl" not in healthcheck
    # The runtime stage takes the built environment from the builder, no sources.
    assert all(a.startswith("--from=") for a in final.args("COPY")), final.args("COPY")
    assert any("CALLQA_DATA_DIR=/data" in a for a in final.args("ENV"))
    assert "8000" in final.args("EXPOSE")
    assert json.loads(final.args("CMD")[-1]) == ["callqa", "serve"]
    runs = [a for s in stages for a in s.args("RUN")]
    assert any(
        re.search(
            r"pip install\b.*(-r|-c|--requirement|--constraint)[ =]\S*"
            r"requirements\.lock",
            a,
        )
        for a in runs
    ), runs


def test_lock_pins_every_runtime_dependency_and_nothing_of_the_dev_extra() -> None:
    pins = _lock()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    missing, unmet = [], []
    for requirement in map(Requirement, project["dependencies"]):
        needed = [requirement]
        # A requested extra's packages (pwdlib[argon2] -> argon2-cffi), from the installed
        # metadata: the lock is generated from this environment.
        for extra in requirement.extras:
            needed += [
                r
                for r in map(Requirement, distribution(requirement.name).requires or [])
                if r.marker is not None and r.marker.evaluate({"extra": extra})
            ]
        for r in needed:
            name = canonicalize_name(r.name)
            if name not in pins:
                missing.append(name)
            elif not r.specifier.contains(pins[name], prereleases=True):
                unmet.append(f"{r} (locked {pins[name]})")
    assert missing == [] and unmet == [], "run `make lock`"
    assert DEV_ONLY & set(pins) == set()


def test_the_image_installs_the_same_voice_weights_as_the_makefile_without_their_torch() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (wanted,) = re.findall(r"^VOICE_WEIGHTS := (\S+)$", makefile, flags=re.M)
    runs = [a for s in _stages((ROOT / "Dockerfile").read_text()) for a in s.args("RUN")]
    assert any(f"pip install --no-deps {wanted}" in a for a in runs), runs
    # resemblyzer's torch/librosa requirement never reaches the lock (nor the image).
    assert {"torch", "librosa", "resemblyzer"} & set(_lock()) == set()


def test_every_setting_is_in_the_readme_table():
    """A setting nobody can find is one nobody sets: each has its row in the README's table."""
    from app.config import Settings

    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {
        name
        for line in table.splitlines()
        if line.startswith("| `CALLQA_")
        for name in re.findall(r"`(CALLQA_[A-Z0-9_]+)`", line.split("|")[1])
    }
    missing = [
        f"CALLQA_{n.upper()}" for n in Settings.model_fields if f"CALLQA_{n.upper()}" not in rows
    ]
    assert missing == []
