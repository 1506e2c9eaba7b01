"""Transcription benchmark: real-time factor, peak memory, overhead against faster-whisper alone.

    python benchmarks/transcribe.py [--models tiny.en base] [--threads 2]

For each model (in its own child process, so peak RSS is that model's), on ../shared/audio and
on a synthetic 5-minute two-channel call: the wall time of callqa's whole pipeline (decode,
channel split, VAD, Whisper, guards, PCI redaction) and of calling faster-whisper directly on
the same channels with its built-in VAD and word timestamps (same beam size, same settings).
The ratio pipeline/direct is measured in one process, alternating, best of two runs each.
Also prints turn-start errors on the synthetic calls and WER where a human reference exists,
then the mono diarization figures of benchmarks/diarize.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "audio"
DATA = ROOT / "tests" / "data"
CACHE = ROOT / ".cache" / "models"

REFERENCES = {
    "fw_jfk.flac": "And so my fellow Americans, ask not what your country can do for you, ask "
    "what you can do for your country.",
    "speaches_audio.wav": "Hello, world.",
    "fw_hotwords.mp3": "Then you go into your ComfyUI folder again in the ComfyUI",
}
STEREO_REFERENCES = {
    "fw_stereo_diarization.wav": (
        "He began a confused complaint against the wizard, who had vanished behind the curtain "
        "on the left.",
        "The horizon seems extremely distant.",
    )
}


def wer_transform():  # type: ignore[no-untyped-def]
    """The normalisation both sides get before words are compared (case, punctuation, spaces)."""
    import jiwer

    return jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )


def _wer(ref: str, hyp: str) -> float:
    import jiwer

    norm = wer_transform()
    return float(jiwer.wer(ref, hyp, reference_transform=norm, hypothesis_transform=norm))


def child(model_name: str, threads: int, files: list[Path]) -> None:
    from faster_whisper import WhisperModel

    from transcription.audio import decode_audio
    from transcription.engine import EngineOptions, FasterWhisperEngine
    from transcription.pipeline import PipelineOptions, resolve_layout, transcribe_audio
    from transcription.types import Layout
    from transcription.weights import resolve_model

    engine = FasterWhisperEngine(EngineOptions(model=model_name, threads=threads, cache_dir=CACHE))
    direct = WhisperModel(
        resolve_model(model_name, cache_dir=CACHE),
        device="cpu",
        compute_type="int8",
        cpu_threads=threads,
    )

    def run_pipeline(path: Path):  # type: ignore[no-untyped-def]
        audio = decode_audio(path)
        return transcribe_audio(audio, engine, layout=Layout.auto, options=PipelineOptions())

    def run_direct(path: Path) -> None:
        audio = decode_audio(path)
        layout = resolve_layout(audio, Layout.auto, auto_agent_channel="left")
        channels = [audio.mono] if layout is Layout.mono else audio.channels[:2]
        for channel in channels:
            segments, _ = direct.transcribe(
                channel,
                beam_size=5,
                vad_filter=True,
                word_timestamps=True,
                condition_on_previous_text=False,
            )
            list(segments)

    for path in files:
        p_times, d_times = [], []
        result = None
        for _ in range(2):
            t = time.perf_counter()
            run_direct(path)
            d_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = run_pipeline(path)
            p_times.append(time.perf_counter() - t)
        assert result is not None
        row: dict[str, object] = {
            "model": model_name,
            "file": path.name,
            "duration": round(result.duration, 1),
            "pipeline_s": round(min(p_times), 2),
            "direct_s": round(min(d_times), 2),
            "rtf": round(min(p_times) / result.duration, 3),
            "ratio": round(min(p_times) / min(d_times), 3),
        }
        truth = path.with_suffix(".json")
        if truth.is_file():
            errors = []
            for turn in json.loads(truth.read_text())["turns"]:
                starts = [s.start for s in result.segments if s.speaker.value == turn["speaker"]]
                errors.append(min((abs(s - turn["start"]) for s in starts), default=99.0))
            row["turn_start_err_mean"] = round(statistics.mean(errors), 3)
            row["turn_start_err_max"] = round(max(errors), 3)
        if path.name in REFERENCES:
            row["wer"] = round(
                _wer(REFERENCES[path.name], " ".join(s.text for s in result.segments)), 3
            )
        if path.name in STEREO_REFERENCES:
            left, right = STEREO_REFERENCES[path.name]
            hyp_l = " ".join(s.text for s in result.segments if s.speaker.value == "agent")
            hyp_r = " ".join(s.text for s in result.segments if s.speaker.value == "customer")
            row["wer"] = round((_wer(left, hyp_l) + _wer(right, hyp_r)) / 2, 3)
        print(json.dumps(row), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"model": model_name, "peak_rss_mb": round(peak)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, [Path(f) for f in args.files])
        return
    tmp = Path(tempfile.mkdtemp(prefix="callqa-bench-"))
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_synthetic_calls.py"),
            str(tmp),
            "--only",
            "long5min",
        ],
        check=True,
        capture_output=True,
    )
    files = [
        tmp / "long5min.flac",
        DATA / "long_silence.flac",
        DATA / "hold.flac",
        *sorted(p for p in SHARED.iterdir() if p.suffix in {".wav", ".flac", ".mp3"}),
    ]
    rows = []
    for model in args.models:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                model,
                "--threads",
                str(args.threads),
                "--files",
                *map(str, files),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    print(
        f"{'model':8} {'file':52} {'dur s':>6} {'pipe s':>7} {'direct s':>8} {'RTF':>6} "
        f"{'ratio':>6} {'turn err mean/max':>18} {'WER':>6}"
    )
    for r in rows:
        if "file" not in r:
            print(f"{r['model']:8} peak RSS {r['peak_rss_mb']} MB")
            continue
        err = (
            f"{r['turn_start_err_mean']:.2f}/{r['turn_start_err_max']:.2f}"
            if "turn_start_err_max" in r
            else ""
        )
        wer = f"{r['wer']:.3f}" if "wer" in r else ""
        print(
            f"{r['model']:8} {r['file']:52} {r['duration']:6.1f} {r['pipeline_s']:7.2f} "
            f"{r['direct_s']:8.2f} {r['rtf']:6.3f} {r['ratio']:6.3f} {err:>18} {wer:>6}"
        )
    for model in args.models:
        mine = [r for r in rows if r["model"] == model and "file" in r]
        total_p = sum(float(r["pipeline_s"]) for r in mine)  # type: ignore[arg-type]
        total_d = sum(float(r["direct_s"]) for r in mine)  # type: ignore[arg-type]
        ratio = total_p / total_d
        print(f"{model}: whole-set ratio pipeline/direct = {ratio:.3f} (target <= 1.10)")
    # Mono calls: diarization's error, its cost per audio minute and its share of the pipeline.
    print("\ndiarization (benchmarks/diarize.py):", flush=True)
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "diarize.py"), "--threads", str(args.threads)],
        check=True,
    )


if __name__ == "__main__":
    main()
