"""Turns kept on stereo calls, and the same words twice: the figures behind issue 11's items 4-5.

    python benchmarks/turns.py [--model base] [--threads 2]

In one run, three engine settings on the same audio:
- `callqa`: the defaults (speech chunks that got no word in the glued pass are decoded again
  alone; no sampled temperature fallback);
- `no re-decode`: without the second pass over missed chunks (the code before the fix);
- `sampled fallback`: with faster-whisper's fallback to random sampling on doubtful windows.

Printed per setting:
- on the synthetic stereo calls in tests/data (their scripts are the reference): the share of
  true turns heard (a word of that speaker inside the turn, 0.5 s either side), the same for
  short turns (three words or fewer), and the word error rate of each leg against its script;
- on the real call 40 in ../shared/audio: which of its short turns are in the transcript (the
  list below was written by decoding each speech chunk of each leg cut out alone);
- wall time of the whole pipeline over all of it.
Last, determinism: a noisy call (the basic call under white noise at -5 dB SNR, where Whisper's
thresholds fail and the fallback samples) transcribed in three processes with different random
seeds, with and without the sampled fallback: how many different transcripts came back.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "audio"
DATA = ROOT / "tests" / "data"
CACHE = ROOT / ".cache" / "models"
REAL = SHARED / "lca_Auto_Repairs_40_UTC_stereo_agentL_callerR.wav"
# (speaker, start, end, words any of which must be there): short turns of call 40.
REAL_SHORT_TURNS = [
    ("agent", 65.4, 66.1, ("okay",)),
    ("customer", 89.0, 89.7, ("yes", "yeah")),
    ("customer", 212.6, 215.6, ("earlier", "better")),
    ("customer", 242.3, 243.5, ("see", "soon")),
    ("agent", 243.8, 244.6, ("bye",)),
    ("customer", 244.8, 245.4, ("bye",)),
]
SETTINGS = {
    "callqa": {},
    "no re-decode": {"redecode_missed": False},
    "sampled fallback": {"sampling_fallback": True},
}


def _norm(text: str) -> str:
    from transcription.guards import normalise

    return normalise(text).replace("-", " ")


def _wer(ref: str, hyp: str) -> float:
    import jiwer

    return float(jiwer.wer(_norm(ref), _norm(hyp) or "-"))


def noisy_call(path: Path) -> Path:
    """basic.flac mixed to mono under white noise at -5 dB SNR (fixed noise), as a WAV."""
    from transcription.audio import decode_audio

    audio = decode_audio(DATA / "basic.flac").mono
    noise = np.random.default_rng(0).normal(0, 1, len(audio)).astype(np.float32)
    noise *= np.sqrt(np.mean(audio**2) / np.mean(noise**2)) * 10 ** (5 / 20)
    pcm = (np.clip(audio + noise, -1, 1) * 32767).astype(np.int16)
    raw = path.with_suffix(".raw")
    pcm.tofile(raw)
    sox = ["sox", "-r", "16000", "-c", "1", "-b", "16", "-e", "signed", "-t", "raw"]
    subprocess.run([*sox, str(raw), str(path)], check=True)
    return path


def digest(model: str, threads: int, setting: str, seed: int, path: Path) -> str:
    """Transcribe `path` in a child process whose CTranslate2 random seed is `seed`."""
    code = (
        "import sys, ctranslate2; ctranslate2.set_random_seed(int(sys.argv[1])); "
        "sys.path.insert(0, sys.argv[2]); "
        "from benchmarks.turns import child_digest; child_digest(*sys.argv[3:])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(seed), str(ROOT), model, str(threads), setting, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def child_digest(model: str, threads: str, setting: str, path: str) -> None:
    from transcription.audio import decode_audio
    from transcription.engine import EngineOptions, FasterWhisperEngine
    from transcription.pipeline import PipelineOptions, transcribe_audio
    from transcription.types import Layout

    options = EngineOptions(model=model, threads=int(threads), cache_dir=CACHE, **SETTINGS[setting])
    result = transcribe_audio(
        decode_audio(Path(path)),
        FasterWhisperEngine(options),
        layout=Layout.auto,
        options=PipelineOptions(),
    )
    words = [(w.text, round(w.start, 2)) for s in result.segments for w in s.words]
    print(hashlib.sha256(json.dumps(words).encode()).hexdigest()[:12])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="base")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from transcription.audio import decode_audio
    from transcription.engine import EngineOptions, FasterWhisperEngine
    from transcription.pipeline import PipelineOptions, transcribe_audio
    from transcription.types import Layout

    calls = [p for p in sorted(DATA.glob("*.flac")) if p.with_suffix(".json").is_file()]
    audio = {p: decode_audio(p) for p in calls}
    real = decode_audio(REAL) if REAL.is_file() else None
    print(f"{len(calls)} synthetic stereo calls; real call 40: {'yes' if real else 'missing'}")
    for name, extra in SETTINGS.items():
        engine = FasterWhisperEngine(
            EngineOptions(model=args.model, threads=args.threads, cache_dir=CACHE, **extra)
        )
        heard = total = short_heard = short_total = 0
        wers: list[float] = []
        t0 = time.perf_counter()
        for path in calls:
            truth = json.loads(path.with_suffix(".json").read_text())["turns"]
            result = transcribe_audio(
                audio[path], engine, layout=Layout.stereo_agent_left, options=PipelineOptions()
            )
            for turn in truth:
                got = any(
                    s.speaker.value == turn["speaker"]
                    and any(turn["start"] - 0.5 <= w.start <= turn["end"] + 0.5 for w in s.words)
                    for s in result.segments
                )
                heard += got
                total += 1
                if len(turn["text"].split()) <= 3:
                    short_heard += got
                    short_total += 1
            for speaker in ("agent", "customer"):
                ref = " ".join(t["text"] for t in truth if t["speaker"] == speaker)
                hyp = " ".join(s.text for s in result.segments if s.speaker.value == speaker)
                wers.append(_wer(ref, hyp))
        real_found = ""
        if real is not None:
            result = transcribe_audio(
                real, engine, layout=Layout.stereo_agent_left, options=PipelineOptions()
            )
            found = 0
            for speaker, a, b, words in REAL_SHORT_TURNS:
                said = " ".join(
                    _norm(w.text)
                    for s in result.segments
                    if s.speaker.value == speaker
                    for w in s.words
                    if a - 0.3 <= w.start <= b + 0.3
                )
                found += any(w in said.split() for w in words)
            real_found = f"{found}/{len(REAL_SHORT_TURNS)}"
        wall = time.perf_counter() - t0
        print(
            f"{name:>17}: turns heard {heard}/{total}, short turns {short_heard}/{short_total}, "
            f"WER per leg mean {np.mean(wers):.3f}, call 40 short turns {real_found or 'n/a'}, "
            f"wall {wall:.1f} s",
            flush=True,
        )
    with tempfile.TemporaryDirectory() as tmp:
        noisy = noisy_call(Path(tmp) / "noisy.wav")
        for name in ("callqa", "sampled fallback"):
            digests = {digest(args.model, args.threads, name, seed, noisy) for seed in (1, 2, 3)}
            print(
                f"determinism, {name}: {len(digests)} different transcript(s) "
                "from 3 processes with seeds 1, 2, 3",
                flush=True,
            )


if __name__ == "__main__":
    main()
