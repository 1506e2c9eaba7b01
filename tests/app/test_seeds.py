"""The built-in scorecard, shopper form and bonus rules are version 1 of `default` in every
migrated database: no request stores them (GETs are read-only), and the migration that seeds
them downgrades and upgrades cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

import qa
from app.db import engine_for
from app.migrate import alembic_config
from app.users.models import Role
from scorecards import bonus
from scorecards import shopper as forms
from tests.conftest import BACKENDS, new_database

SEED = "55fed1876ff9"
BEFORE = "4b32a8bed753"
DEFAULTS = {
    "scorecard_version": qa.default_path(),
    "shopper_template": forms.default_path(),
    "bonus_rule_version": bonus.default_path(),
}


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = new_database(request.param, tmp_path)
    yield url
    drop()  # type: ignore[operator]


def _stored(url: str) -> dict[str, list[tuple[str, int, str | None, str]]]:
    with engine_for(url).connect() as conn:
        return {
            table: [
                tuple(r)
                for r in conn.execute(
                    text(f"SELECT name, version, created_by, definition FROM {table} ORDER BY id")
                )
            ]
            for table in DEFAULTS
        }


def _seeded() -> dict[str, list[tuple[str, int, str | None, str]]]:
    return {
        table: [("default", 1, None, path.read_text(encoding="utf-8"))]
        for table, path in DEFAULTS.items()
    }


def test_a_freshly_migrated_database_holds_the_three_defaults(fresh_url):
    assert _stored(fresh_url) == _seeded()


def test_the_defaults_are_listed_by_read_only_requests(client, users):
    """The test's GETs refuse any write (a 500): listing the defaults stores nothing."""
    _, admin = users.make(Role.admin)
    for path, table in (
        ("/api/v1/scorecards", "scorecard_version"),
        ("/api/v1/shopper/templates", "shopper_template"),
        ("/api/v1/incentives/rules", "bonus_rule_version"),
    ):
        r = client.get(path, headers=admin)
        assert r.status_code == 200, (path, r.text)
        [row] = r.json()
        assert (row["name"], row["version"]) == ("default", 1), path
        assert row.get("definition", DEFAULTS[table].read_text(encoding="utf-8")) == DEFAULTS[
            table
        ].read_text(encoding="utf-8"), path


def test_the_seed_downgrades_keeping_a_default_in_use_and_upgrades_without_duplicates(fresh_url):
    config = alembic_config(fresh_url)
    command.downgrade(config, BEFORE)
    assert _stored(fresh_url) == {table: [] for table in DEFAULTS}
    command.upgrade(config, "head")
    assert _stored(fresh_url) == _seeded()
    # A period computed with the built-in rules keeps them on the way down; the way up again
    # leaves them be and seeds the other two.
    with engine_for(fresh_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incentive_period (period, status, rule_version_id) "
                "SELECT '2026-11', 'open', id FROM bonus_rule_version"
            )
        )
    command.downgrade(config, BEFORE)
    kept = _stored(fresh_url)
    assert kept["bonus_rule_version"] == _seeded()["bonus_rule_version"]
    assert kept["scorecard_version"] == kept["shopper_template"] == []
    command.upgrade(config, SEED)
    assert _stored(fresh_url) == _seeded()
