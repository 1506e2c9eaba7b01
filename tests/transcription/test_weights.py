from pathlib import Path

import pytest

from transcription.engine import EngineOptions, create_engine
from transcription.errors import ModelUnavailable
from transcription.weights import assemble_base, resolve_model, tiny_en_dir


def test_base_is_assembled_from_the_two_wheels(tmp_path):
    folder = assemble_base(tmp_path)
    assert folder is not None
    assert (folder / "tokenizer.json").is_file() and (folder / "config.json").is_file()
    assert (folder / "model.bin").stat().st_size > 140_000_000
    # Second call reuses it, no second copy.
    assert assemble_base(tmp_path) == folder
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]


def test_offline_names_resolve_to_folders(tmp_path):
    assert resolve_model("tiny.en", cache_dir=tmp_path) == str(tiny_en_dir())
    assert Path(resolve_model("base", cache_dir=tmp_path)).name == "whisper-base"


def test_any_other_name_or_folder_is_passed_on(tmp_path):
    assert resolve_model("Systran/faster-whisper-small", cache_dir=tmp_path) == (
        "Systran/faster-whisper-small"
    )
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x")
    with pytest.raises(ModelUnavailable, match="tokenizer.json"):
        resolve_model(str(folder), cache_dir=tmp_path)


def test_a_model_that_cannot_load_says_so(tmp_path):
    with pytest.raises(ModelUnavailable, match="cannot load Whisper model"):
        create_engine(
            "faster-whisper", EngineOptions(model=str(tmp_path / "nope-model"), cache_dir=tmp_path)
        )
    with pytest.raises(ModelUnavailable, match="unknown engine"):
        create_engine("whisper.cpp", EngineOptions())
