"""Choose each meaning-based criterion's similarity threshold on the *tune* split only.

    python scripts/tune_similarity.py [--scorecard scorecards/default.yaml]

For every `examples` / `acknowledgement` criterion it scores the tune dialogues of
tests/data/validity with thresholds 0.85-0.95 (the others unchanged) and prints how many
supervisor labels the machine agrees with at each, then the best (the middle of the best
plateau: the edges of a plateau are where the set happens to end). The acknowledgement's
`trigger_similarity` (which customer turns voice frustration) is swept the same way. The
holdout split is never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Scorecard, default_path, load, score  # noqa: E402
from tests.qa.validity import ABSENT, Dialogue  # noqa: E402
from tests.qa.validity import load as load_split  # noqa: E402

THRESHOLDS = [round(0.85 + 0.01 * i, 2) for i in range(11)]


def agreement(card: Scorecard, dialogues: list[Dialogue], cid: str) -> tuple[int, int]:
    ok = n = 0
    for d in dialogues:
        label = d.labels.get(cid)
        if label is None:
            continue
        c = next(c for c in score(d.utterances, d.facts, card).criteria if c.id == cid)
        machine = c.passed if c.applicable else (cid in ABSENT)
        n += 1
        ok += machine == label
    return ok, n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scorecard", type=Path, default=default_path())
    card = load(parser.parse_args().scorecard)
    dialogues = load_split("tune")
    for c in card.criteria:
        if c.kind not in ("examples", "acknowledgement") or c.id not in dialogues[0].labels:
            continue
        fields = ["similarity"] + (["trigger_similarity"] if c.triggers else [])
        for field in fields:
            row = []
            for t in THRESHOLDS:
                trial = dataclasses.replace(
                    card,
                    criteria=tuple(
                        dataclasses.replace(x, **{field: t}) if x.id == c.id else x
                        for x in card.criteria
                    ),
                )
                row.append((t, *agreement(trial, dialogues, c.id)))
            top = max(ok for _, ok, _ in row)
            plateau = [r for r in row if r[1] == top]
            best = plateau[len(plateau) // 2]
            cells = " ".join(f"{t:.2f}:{ok}" for t, ok, _ in row)
            print(
                f"{c.id + ' ' + field:42} now {getattr(c, field):.2f}  best {best[0]:.2f} "
                f"({best[1]}/{best[2]})  {cells}",
                flush=True,
            )


if __name__ == "__main__":
    main()
