"""Regenerate tests/data/voice/: resemblyzer 0.1.4 (PyTorch) outputs for transcription/voice.py.

Run it with the project's venv, pointing at a reference venv that has the real thing:

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0     # the CPU build (never plain `torch`: CUDA)
    /tmp/refvenv/bin/pip install --no-deps resemblyzer==0.1.4
    /tmp/refvenv/bin/pip install librosa scipy numpy webrtcvad-wheels
    .venv/bin/python scripts/voice_reference.py --ref-python /tmp/refvenv/bin/python

(resemblyzer's own dependency `webrtcvad` has no wheel; `webrtcvad-wheels` provides the same
module, hence --no-deps. That gave torch 2.13.0+cpu, librosa 0.11.0, numpy 2.4.6, scipy 1.17.1.)

The project side decodes tests/data/basic.flac with `transcription.audio.decode_audio` and cuts
two segments: the agent (left channel) and the customer (right channel), each a different espeak
voice. The reference side (`--worker`, run by the reference interpreter) feeds each raw 16 kHz
float32 segment to `VoiceEncoder("cpu").embed_utterance(wav, return_partials=True, rate=4)`,
without `preprocess_wav` (no volume normalisation, no silence trimming), and saves:

    <name>_partials.npy  (n, 256) float32, the partial embeddings (windows every 0.25 s)
    <name>_embed.npy     (256,) float32, the utterance embedding
    segments.json        where each segment lies in basic.flac (so no audio is stored), the
                         rate, and the reference's package versions
    tiny_zip.pt, tiny_legacy.pt  a few small tensors saved by torch.save in both file formats
                         (zip and `_use_new_zipfile_serialization=False`), for the reader's test
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "voice"
RATE = 4  # partials per second: step 0.25 s
# name: (channel, start s, end s); inside the first agent and customer turns of basic.json.
SEGMENTS = {"agent": (0, 0.5, 5.6), "customer": (1, 5.9, 9.8)}
SR = 16_000


def worker(inputs: Path, out: Path) -> None:
    """Runs inside the reference venv: resemblyzer and torch are importable here."""
    from importlib.metadata import version

    import torch
    from resemblyzer import VoiceEncoder

    encoder = VoiceEncoder("cpu", verbose=False)
    meta = json.loads((inputs / "segments.json").read_text())
    for name in meta["segments"]:
        wav = np.load(inputs / f"{name}.npy")
        assert wav.dtype == np.float32 and wav.ndim == 1
        embed, partials, _slices = encoder.embed_utterance(
            wav, return_partials=True, rate=meta["rate"]
        )
        np.save(out / f"{name}_partials.npy", partials.astype(np.float32))
        np.save(out / f"{name}_embed.npy", embed.astype(np.float32))
    meta["reference"] = {
        pkg: version(pkg) for pkg in ("resemblyzer", "torch", "librosa", "numpy", "scipy")
    }
    (out / "segments.json").write_text(json.dumps(meta, indent=1) + "\n")

    state = {
        "transposed": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
        "offset": torch.arange(10, dtype=torch.float64)[2:7],
        "ints": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
    }
    torch.save({"model_state": state, "step": 7}, out / "tiny_zip.pt")
    torch.save(
        {"model_state": state, "step": 7},
        out / "tiny_legacy.pt",
        _use_new_zipfile_serialization=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-python", type=Path, help="python of the reference venv")
    parser.add_argument("--worker", nargs=2, type=Path, metavar=("INPUTS", "OUT"))
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.ref_python is None:
        parser.error("--ref-python is required")

    sys.path.insert(0, str(ROOT))
    from transcription.audio import decode_audio

    audio = decode_audio(ROOT / "tests" / "data" / "basic.flac")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp)
        segments = {}
        for name, (channel, start, end) in SEGMENTS.items():
            lo, hi = round(start * SR), round(end * SR)
            np.save(inputs / f"{name}.npy", audio.channels[channel][lo:hi].astype(np.float32))
            segments[name] = {
                "file": "basic.flac",
                "channel": channel,
                "start": start,
                "end": end,
                "start_sample": lo,
                "end_sample": hi,
            }
        meta = {"rate": RATE, "sample_rate": SR, "segments": segments}
        (inputs / "segments.json").write_text(json.dumps(meta))
        subprocess.run(
            [str(args.ref_python), __file__, "--worker", str(inputs), str(OUT)], check=True
        )
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {OUT.relative_to(ROOT)}: {sorted(p.name for p in OUT.iterdir())}, {total} bytes")


if __name__ == "__main__":
    main()
