"""openai-whisper checkpoints made from the offline CTranslate2 weights.

No package ships openai-whisper's `.pt` files and nothing may be fetched from a hub, but the
CTranslate2 `model.bin` of the offline wheels holds the same network: its float16 tensors under
other names, with the attention projections fused. `convert` reads that file (its layout is
CTranslate2's `ModelSpec._serialize`: a version, the spec's name and revision, then each
variable as name, shape, type, bytes, then aliases), splits the fused projections and writes
what `whisper.load_model(path)` loads: `{"dims": ..., "model_state_dict": ...}`, plus the
alignment heads of the model's config (word timings use them), kept beside the state dict
because openai-whisper sets them only for the names it downloads.

Needs PyTorch (the `openai` extra) to write the file; reading the CTranslate2 file needs numpy.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from transcription.errors import ModelUnavailable
from transcription.weights import resolve_model

# CTranslate2's type ids, in the order of its `dtypes` tuple.
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # None: bfloat16
_BINARY_VERSION = 6
ALIGNMENT_KEY = "alignment_heads"  # top-level key of our checkpoints (not in the state dict)


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 model file by name, aliases resolved."""
    with path.open("rb") as f:
        version = _unpack(f, "I")
        if version != _BINARY_VERSION:
            raise ModelUnavailable(f"{path}: CTranslate2 binary version {version}, expected 6")
        spec = _string(f)
        if spec != "WhisperSpec":
            raise ModelUnavailable(f"{path} holds a {spec}, not a Whisper model")
        _unpack(f, "I")  # the spec's revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(_unpack(f, "I")):
            name = _string(f)
            shape = [_unpack(f, "I") for _ in range(_unpack(f, "B"))]
            type_id, size = _unpack(f, "B"), _unpack(f, "I")
            dtype = _DTYPES[type_id] if type_id < len(_DTYPES) else None
            data = f.read(size)
            if dtype is None:
                raise ModelUnavailable(f"{path}: {name} has CTranslate2 type {type_id}")
            if dtype is np.int8 and name.endswith("weight"):
                # int8 weights come with a per-row scale; the offline weights are float16.
                raise ModelUnavailable(f"{path} is quantized to int8: convert a float model")
            variables[name] = np.frombuffer(data, dtype=dtype).reshape(shape)
        for _ in range(_unpack(f, "I")):
            alias, target = _string(f), _string(f)
            variables[alias] = variables[target]
    return variables


def _unpack(f: BinaryIO, fmt: str) -> int:
    value: int = struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
    return value


def _string(f: BinaryIO) -> str:
    length = _unpack(f, "H")
    return f.read(length)[:-1].decode("utf-8")


def _layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    return sum(1 for k in variables if k.startswith(prefix) and k.endswith("ffn/linear_0/weight"))


def _attention(
    ct2: dict[str, np.ndarray], src: str, dst: str, *, fused: str
) -> Iterator[tuple[str, np.ndarray]]:
    """openai-whisper's query/key/value/out from CTranslate2's fused projections.
    `fused="qkv"`: linear_0 holds all three (self-attention); `"kv"`: linear_0 is the query and
    linear_1 holds key and value (cross-attention). Whisper's key has no bias: CTranslate2
    stores zeros there, which are dropped."""
    if fused == "qkv":
        w, b = ct2[f"{src}/linear_0/weight"], ct2[f"{src}/linear_0/bias"]
        q_w, k_w, v_w = np.split(w, 3)
        q_b, _, v_b = np.split(b, 3)
        out = 1
    else:
        q_w, q_b = ct2[f"{src}/linear_0/weight"], ct2[f"{src}/linear_0/bias"]
        k_w, v_w = np.split(ct2[f"{src}/linear_1/weight"], 2)
        _, v_b = np.split(ct2[f"{src}/linear_1/bias"], 2)
        out = 2
    yield f"{dst}.query.weight", q_w
    yield f"{dst}.query.bias", q_b
    yield f"{dst}.key.weight", k_w
    yield f"{dst}.value.weight", v_w
    yield f"{dst}.value.bias", v_b
    yield f"{dst}.out.weight", ct2[f"{src}/linear_{out}/weight"]
    yield f"{dst}.out.bias", ct2[f"{src}/linear_{out}/bias"]


def _norm(ct2: dict[str, np.ndarray], src: str, dst: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{dst}.weight", ct2[f"{src}/gamma"]
    yield f"{dst}.bias", ct2[f"{src}/beta"]


def _mlp(ct2: dict[str, np.ndarray], src: str, dst: str) -> Iterator[tuple[str, np.ndarray]]:
    yield from _norm(ct2, f"{src}/layer_norm", f"{dst}.mlp_ln")
    for i, j in ((0, 0), (1, 2)):  # openai-whisper's mlp is Linear, GELU, Linear
        yield f"{dst}.mlp.{j}.weight", ct2[f"{src}/linear_{i}/weight"]
        yield f"{dst}.mlp.{j}.bias", ct2[f"{src}/linear_{i}/bias"]


def state_dict(ct2: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """openai-whisper's state dict and model dimensions for a CTranslate2 Whisper model."""
    n_audio_layer, n_text_layer = _layers(ct2, "encoder/"), _layers(ct2, "decoder/")
    state: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        state[f"encoder.{conv}.weight"] = ct2[f"encoder/{conv}/weight"]
        state[f"encoder.{conv}.bias"] = ct2[f"encoder/{conv}/bias"]
    state["encoder.positional_embedding"] = ct2["encoder/position_encodings/encodings"]
    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        state.update(_attention(ct2, f"{src}/self_attention", f"{dst}.attn", fused="qkv"))
        state.update(_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln"))
        state.update(_mlp(ct2, f"{src}/ffn", dst))
    state.update(_norm(ct2, "encoder/layer_norm", "encoder.ln_post"))
    state["decoder.token_embedding.weight"] = ct2["decoder/embeddings/weight"]
    state["decoder.positional_embedding"] = ct2["decoder/position_encodings/encodings"]
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        state.update(_attention(ct2, f"{src}/self_attention", f"{dst}.attn", fused="qkv"))
        state.update(_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln"))
        state.update(_attention(ct2, f"{src}/attention", f"{dst}.cross_attn", fused="kv"))
        state.update(_norm(ct2, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln"))
        state.update(_mlp(ct2, f"{src}/ffn", dst))
    state.update(_norm(ct2, "decoder/layer_norm", "decoder.ln"))
    conv1 = ct2["encoder/conv1/weight"]
    audio_ctx, audio_state = ct2["encoder/position_encodings/encodings"].shape
    vocab, text_state = ct2["decoder/embeddings/weight"].shape
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(audio_ctx),
        "n_audio_state": int(audio_state),
        "n_audio_head": int(ct2["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(vocab),
        "n_text_ctx": int(ct2["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(text_state),
        "n_text_head": int(ct2["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    return state, dims


def alignment_dump(heads: list[list[int]], dims: dict[str, int]) -> str:
    """The (layer, head) pairs in the form `Whisper.set_alignment_heads` reads: a boolean
    layers × heads mask, gzipped and base85-encoded."""
    mask = np.zeros((dims["n_text_layer"], dims["n_text_head"]), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes())).decode("ascii")


def convert(model: str, out: Path, *, cache_dir: Path) -> Path:
    """Write the openai-whisper checkpoint of `model` (a CTranslate2 folder, or `base` /
    `tiny.en` from the offline weights) to `out`, atomically."""
    # What is wrong with the weights is said first, PyTorch or not.
    folder = Path(resolve_model(model, cache_dir=cache_dir))
    if not (folder / "model.bin").is_file():
        raise ModelUnavailable(f"no CTranslate2 model.bin for {model!r} (looked in {folder})")
    try:
        import torch
    except ImportError as exc:
        raise ModelUnavailable(
            "converting weights needs PyTorch: pip install 'callqa[openai]' (see the README)"
        ) from exc
    state, dims = state_dict(read_ct2(folder / "model.bin"))
    checkpoint: dict[str, Any] = {
        "dims": dims,
        # float16, as openai's own checkpoints are; load_model copies them into float32.
        "model_state_dict": {k: torch.from_numpy(v.astype(np.float16)) for k, v in state.items()},
    }
    config = folder / "config.json"
    if config.is_file():
        heads = json.loads(config.read_text()).get("alignment_heads")
        if heads:
            checkpoint[ALIGNMENT_KEY] = alignment_dump(heads, dims)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def checkpoint_for(model: str, *, cache_dir: Path) -> str:
    """What openai-whisper loads for a model setting: a `.pt` file as is; `base` / `tiny.en`
    (or a CTranslate2 folder) converted once into `cache_dir/openai-whisper/`; any other name
    handed to `whisper.load_model` (its own names, found in its download folder)."""
    path = Path(model).expanduser()
    if path.is_file():
        return str(path)
    if path.is_dir() or model in OFFLINE:
        target = default_target(model, cache_dir=cache_dir)
        if not target.is_file():
            convert(model, target, cache_dir=cache_dir)
        return str(target)
    return model


OFFLINE = frozenset({"base", "whisper-base", "tiny.en", "whisper-tiny.en"})


def default_target(model: str, *, cache_dir: Path) -> Path:
    """Where the converted checkpoint of `model` is kept: `base.pt`, `tiny.en.pt`, or for a
    folder its name and a digest of its path (two folders named alike stay apart)."""
    path = Path(model).expanduser()
    if path.is_dir():
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
        stem = f"{path.name}-{digest}"
    else:
        stem = model.removeprefix("whisper-")
    return cache_dir / "openai-whisper" / f"{stem}.pt"
