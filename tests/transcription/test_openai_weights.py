"""The CTranslate2 → openai-whisper conversion: names, shapes, the same network, bad inputs."""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import MODEL_CACHE, OPENAI_WHISPER
from transcription.errors import ModelUnavailable
from transcription.openai_weights import (
    ALIGNMENT_KEY,
    alignment_dump,
    checkpoint_for,
    convert,
    read_ct2,
    state_dict,
)
from transcription.weights import resolve_model


@cache
def _ct2(model: str) -> dict[str, np.ndarray]:
    return read_ct2(Path(resolve_model(model, cache_dir=MODEL_CACHE)) / "model.bin")


@pytest.mark.parametrize(("model", "tensors", "layers"), [("base", 245, 6), ("tiny.en", 167, 4)])
def test_every_tensor_of_openai_whisper_is_made_with_its_shape(model, tensors, layers):
    state, dims = state_dict(_ct2(model))
    assert len(state) == tensors
    assert dims["n_audio_layer"] == dims["n_text_layer"] == layers
    width = dims["n_text_state"]
    for block in ("encoder.blocks.0.attn", "decoder.blocks.0.cross_attn"):
        for part in ("query", "key", "value", "out"):
            assert state[f"{block}.{part}.weight"].shape == (width, width)
        assert f"{block}.key.bias" not in state  # Whisper's key has no bias
    assert state["decoder.token_embedding.weight"].shape == (dims["n_vocab"], width)
    assert dims["n_vocab"] == (51865 if model == "base" else 51864)  # multilingual or English


def test_the_fused_projections_are_split_in_query_key_value_order():
    ct2 = _ct2("tiny.en")
    state, _ = state_dict(ct2)
    fused = ct2["decoder/layer_1/self_attention/linear_0/weight"]
    n = fused.shape[1]
    assert np.array_equal(state["decoder.blocks.1.attn.query.weight"], fused[:n])
    assert np.array_equal(state["decoder.blocks.1.attn.key.weight"], fused[n : 2 * n])
    assert np.array_equal(state["decoder.blocks.1.attn.value.weight"], fused[2 * n :])
    # CTranslate2 keeps zeros where Whisper's key has no bias.
    bias = ct2["decoder/layer_1/self_attention/linear_0/bias"]
    assert not bias[n : 2 * n].any()
    kv = ct2["decoder/layer_1/attention/linear_1/weight"]
    assert np.array_equal(state["decoder.blocks.1.cross_attn.key.weight"], kv[:n])
    assert np.array_equal(state["decoder.blocks.1.cross_attn.value.weight"], kv[n:])


def _ct2_file(path: Path, version: int = 6, spec: str = "WhisperSpec", type_id: int = 4) -> Path:
    def string(s: str) -> bytes:
        return struct.pack("H", len(s) + 1) + s.encode() + b"\0"

    data = np.zeros(4, dtype=np.float16).tobytes()
    body = struct.pack("I", version) + string(spec) + struct.pack("I", 3) + struct.pack("I", 1)
    body += string("encoder/conv1/weight") + struct.pack("B", 1) + struct.pack("I", 4)
    body += struct.pack("B", type_id) + struct.pack("I", len(data)) + data + struct.pack("I", 0)
    path.write_bytes(body)
    return path


def test_files_that_are_not_float_whisper_models_are_refused(tmp_path):
    assert read_ct2(_ct2_file(tmp_path / "ok.bin"))["encoder/conv1/weight"].shape == (4,)
    with pytest.raises(ModelUnavailable, match="binary version 5"):
        read_ct2(_ct2_file(tmp_path / "old.bin", version=5))
    with pytest.raises(ModelUnavailable, match="holds a TransformerSpec"):
        read_ct2(_ct2_file(tmp_path / "mt.bin", spec="TransformerSpec"))
    with pytest.raises(ModelUnavailable, match="quantized to int8"):
        read_ct2(_ct2_file(tmp_path / "q.bin", type_id=1))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="holds no model.bin"):
        convert(str(tmp_path / "empty"), tmp_path / "x.pt", cache_dir=tmp_path)
    assert not (tmp_path / "x.pt").exists()


@OPENAI_WHISPER
def test_the_converted_model_computes_what_ctranslate2_computes(tmp_path):
    import ctranslate2
    import torch
    import whisper

    out = convert("tiny.en", tmp_path / "tiny.en.pt", cache_dir=MODEL_CACHE)
    model = whisper.load_model(str(out), device="cpu")
    rng = np.random.default_rng(0)
    mel = rng.standard_normal((1, 80, 3000)).astype(np.float32)
    with torch.no_grad():
        ours = model.encoder(torch.from_numpy(mel)).numpy()
    ct2 = ctranslate2.models.Whisper(
        resolve_model("tiny.en", cache_dir=MODEL_CACHE), device="cpu", compute_type="float32"
    )
    theirs = np.array(ct2.encode(ctranslate2.StorageView.from_array(mel)))
    assert ours.shape == theirs.shape == (1, 1500, 384)
    # Both compute from the same float16 weights in float32; only summation order differs.
    assert np.abs(ours - theirs).max() < 2e-3
    # The word-timing heads of the model's config go with it, readable by set_alignment_heads.
    heads = torch.load(out, mmap=True, weights_only=True)[ALIGNMENT_KEY]
    model.set_alignment_heads(heads.encode("ascii"))
    mask = model.alignment_heads.to_dense().numpy()
    assert {tuple(p) for p in np.argwhere(mask)} == {
        (1, 0), (2, 0), (2, 5), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4)
    }  # fmt: skip


def test_alignment_heads_are_written_as_openai_whisper_reads_them():
    import base64
    import gzip

    dump = alignment_dump([[0, 1], [2, 3]], {"n_text_layer": 3, "n_text_head": 4})
    mask = np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool).reshape(3, 4)
    assert {tuple(p) for p in np.argwhere(mask)} == {(0, 1), (2, 3)}


@OPENAI_WHISPER
def test_offline_names_are_converted_once_into_the_cache(tmp_path):
    first = Path(checkpoint_for("tiny.en", cache_dir=tmp_path))
    assert first == tmp_path / "openai-whisper" / "tiny.en.pt"
    stamp = first.stat().st_mtime_ns
    assert Path(checkpoint_for("whisper-tiny.en", cache_dir=tmp_path)) == first
    assert first.stat().st_mtime_ns == stamp
    # A .pt file is used as it is; other names go to openai-whisper (its own downloads).
    assert checkpoint_for(str(first), cache_dir=tmp_path) == str(first)
    assert checkpoint_for("large-v3", cache_dir=tmp_path) == "large-v3"


@OPENAI_WHISPER
def test_cli_converts_and_says_in_one_line_what_is_wrong(tmp_path, monkeypatch):
    from app.cli import cli

    monkeypatch.setenv("CALLQA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CALLQA_MODEL_DIR", str(MODEL_CACHE))
    runner = CliRunner()
    done = runner.invoke(cli, ["models", "convert", "tiny.en", "--out", str(tmp_path / "t.pt")])
    assert done.exit_code == 0, done.output
    assert "wrote" in done.output and (tmp_path / "t.pt").stat().st_size > 30 * 2**20
    (tmp_path / "nomodel").mkdir()
    bad = runner.invoke(cli, ["models", "convert", str(tmp_path / "nomodel")])
    assert bad.exit_code == 1
    assert bad.output.strip().splitlines() == [
        f"error: model folder {tmp_path}/nomodel holds no model.bin"
    ]
