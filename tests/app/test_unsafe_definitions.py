"""Definitions people type that could take the service down (issue 14, items 1 and 4).

YAML bombs: every definition people type — scorecards, shopper forms,
bonus rules — refuses aliases, huge strings and absurd nesting with a 4xx that says where, before
anything is expanded or stored."""

from __future__ import annotations

import time

import pytest

# 570 bytes that PyYAML's plain safe_load expands to 9**9 strings: hundreds of MB, many seconds.
BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)),
    ]
)

ROUTES = {
    "scorecard": ("/api/v1/scorecards", lambda d: {"name": "bomb", "definition": d}),
    "shopper form": ("/api/v1/shopper/templates", lambda d: {"definition": d}),
    "bonus rules": ("/api/v1/incentives/rules", lambda d: {"definition": d}),
}


@pytest.mark.parametrize("kind", sorted(ROUTES))
def test_an_alias_bomb_is_refused_at_once_and_nothing_is_stored(client, world, kind):
    path, body = ROUTES[kind]
    before = client.get(path, headers=world.admin.headers).json()
    started = time.perf_counter()
    r = client.post(path, headers=world.admin.headers, json=body(BOMB))
    elapsed = time.perf_counter() - started
    assert r.status_code in (400, 422), r.text  # each kind answers as for any invalid definition
    assert "aliases" in r.text and "line 2" in r.text
    assert elapsed < 5  # generous: it is refused while parsing, before any expansion
    assert client.get(path, headers=world.admin.headers).json() == before


@pytest.mark.parametrize("kind", sorted(ROUTES))
def test_huge_texts_and_deep_nesting_are_refused_with_a_reason(client, world, kind):
    path, body = ROUTES[kind]
    long_label = "name: " + "x" * 20_000
    r = client.post(path, headers=world.admin.headers, json=body(long_label))
    assert r.status_code in (400, 422) and "at most 10000" in r.text, r.text
    deep = "name: [" + "[" * 20_000 + "]" * 20_000 + "]"
    r = client.post(path, headers=world.admin.headers, json=body(deep))
    assert r.status_code in (400, 422) and "nested too deeply" in r.text, r.text
    r = client.post(path, headers=world.admin.headers, json=body("a" * 200_001))
    assert r.status_code == 422  # over the definition's own length limit


def test_a_backtracking_pattern_is_refused_when_the_scorecard_is_saved(client, world):
    """Issue 14, item 1: `(\\w+\\s?)*!` would take minutes per sentence; it is refused with the
    line and the criterion, and nothing is stored."""
    before = client.get("/api/v1/scorecards", headers=world.admin.headers).json()
    definition = (
        "name: strict\ncriteria:\n  - id: shouting\n    dimension: empathy\n"
        "    kind: pattern\n    expect: absent\n    pattern: '(\\w+\\s?)*!'\n"
    )
    r = client.post(
        "/api/v1/scorecards",
        headers=world.admin.headers,
        json={"name": "strict", "definition": definition},
    )
    assert r.status_code == 422, r.text
    assert "line 3: criterion shouting" in r.json()["detail"] and "unbounded" in r.json()["detail"]
    assert client.get("/api/v1/scorecards", headers=world.admin.headers).json() == before
