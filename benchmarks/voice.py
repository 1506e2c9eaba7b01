"""Speaker-embedding benchmark: transcription/voice.py (numpy) against resemblyzer (PyTorch).

    python benchmarks/voice.py [--seconds 120] [--step 0.25] [--repeat 3]
    REF_PYTHON=/tmp/refvenv/bin/python python benchmarks/voice.py   # with the reference too

On basic.flac mixed to mono and tiled to `--seconds`: the time to compute partial embeddings
(1.6 s windows every `--step` seconds) over the whole audio, best of `--repeat`; the import and
weight-loading times; the peak RSS of the process that did it. Each side runs in its own child
process so that peak memory is its own. With REF_PYTHON (a venv with torch, librosa and
resemblyzer 0.1.4; see scripts/voice_reference.py for how to make one), the reference runs
`VoiceEncoder.embed_utterance(wav, return_partials=True, rate=1/step)` on the same samples, the
two sets of partials are compared, and the installed sizes are set side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORT = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
from threadpoolctl import threadpool_info
from transcription.voice import VoiceEncoder
t1 = time.perf_counter()
encoder = VoiceEncoder()
t2 = time.perf_counter()
blas = next((b for b in threadpool_info() if b["user_api"] == "blas"), {})
wav = np.load(sys.argv[1])
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
best = float("inf")
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    times, partials = encoder.partial_embeddings(wav, step=float(sys.argv[2]))
    best = min(best, time.perf_counter() - t)
np.save(sys.argv[4], partials)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "embed": best, "n": len(partials),
                  "rss_before_mb": rss0 / 1024,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "threads": f"1 ({blas.get('internal_api')} {blas.get('architecture')})",
                  "torch_imported": "torch" in sys.modules}))
"""

REFERENCE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
import torch
from resemblyzer import VoiceEncoder
t1 = time.perf_counter()
encoder = VoiceEncoder("cpu", verbose=False)
t2 = time.perf_counter()
if sys.argv[5] != "default":
    torch.set_num_threads(int(sys.argv[5]))
wav = np.load(sys.argv[1])
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
best = float("inf")
for _ in range(int(sys.argv[3])):
    t = time.perf_counter()
    _, partials, _ = encoder.embed_utterance(wav, return_partials=True, rate=1 / float(sys.argv[2]))
    best = min(best, time.perf_counter() - t)
np.save(sys.argv[4], partials)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "embed": best, "n": len(partials),
                  "rss_before_mb": rss0 / 1024,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "threads": f"{torch.get_num_threads()} (torch {torch.__version__})"}))
"""


def _du(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        for folder, _, files in os.walk(path):
            total += sum((Path(folder) / f).lstat().st_size for f in files)
    return total


def _site_packages(python: str) -> Path:
    out = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _ours_installed() -> dict[str, int]:
    """resemblyzer (installed --no-deps) and scipy, with their dist-info and bundled libraries."""
    site = _site_packages(sys.executable)
    sizes = {}
    for name in ("resemblyzer", "scipy"):
        parts = [p for p in site.iterdir() if p.name.lower().startswith(name)]
        sizes[name] = _du(parts)
    return sizes


def _run(
    python: str,
    code: str,
    wav: Path,
    step: float,
    repeat: int,
    out: Path,
    *extra: str,
    unset: tuple[str, ...] = (),
) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in unset:
        env.pop(name, None)
    done = subprocess.run(
        [python, "-c", code, str(wav), str(step), str(repeat), str(out), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"{python} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--step", type=float, default=0.25)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from transcription.audio import decode_audio

    mono = decode_audio(ROOT / "tests" / "data" / "basic.flac").mono
    n = int(args.seconds * 16_000)
    wav = np.tile(mono, -(-n // len(mono)))[:n].astype(np.float32)
    print(f"audio: basic.flac mono tiled to {args.seconds:g} s; windows 1.6 s every {args.step} s")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    ref_python = os.environ.get("REF_PYTHON")
    # OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) may be set on this machine for older OpenBLAS
    # builds; they hold numpy's OpenBLAS to AVX2 kernels. Run the port both ways.
    pinned = tuple(v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "wav.npy"
        np.save(wav_path, wav)
        common = (wav_path, args.step, args.repeat)
        port_out, ref_out = Path(tmp) / "port.npy", Path(tmp) / "ref.npy"
        rows = [("numpy port", _run(sys.executable, PORT, *common, port_out))]
        if pinned:
            label = "numpy port, " + " ".join(pinned) + " unset"
            rows.append((label, _run(sys.executable, PORT, *common, port_out, unset=pinned)))
        if ref_python:
            for threads in ("default", "1"):
                label = "resemblyzer/torch" + ("" if threads == "default" else ", 1 thread")
                rows.append((label, _run(ref_python, REFERENCE, *common, ref_out, threads)))
        port = np.load(port_out)
        ref = np.load(ref_out) if ref_python else None

    width = max(len(label) for label, _ in rows)
    print(
        f"{'':{width}} {'import s':>8} {'load s':>6} {'embed s':>7} {'x real':>6} "
        f"{'windows':>7} {'RSS MB':>6} {'peak MB':>7}  threads"
    )
    for label, r in rows:
        print(
            f"{label:{width}} {r['import']:8.2f} {r['load']:6.3f} {r['embed']:7.2f} "
            f"{args.seconds / r['embed']:6.0f} {r['n']:7d} {r['rss_before_mb']:6.0f} "
            f"{r['peak_rss_mb']:7.0f}  {r['threads']}"
        )
    print("(RSS MB: after import, load and reading the audio; peak MB: after embedding)")
    print(f"port imported torch: {rows[0][1]['torch_imported']}")
    if ref is not None:
        cos = np.sum(port * ref, 1) / np.linalg.norm(port, axis=1) / np.linalg.norm(ref, axis=1)
        print(
            f"partials vs reference: min cosine {cos.min():.7f}, "
            f"max abs diff {np.abs(port - ref).max():.2e}"
        )

    mb = 1024 * 1024
    ours = _ours_installed()
    print(
        "installed, ours: "
        + ", ".join(f"{k} {v / mb:.0f} MB" for k, v in ours.items())
        + f" = {sum(ours.values()) / mb:.0f} MB"
    )
    if ref_python:
        site = _site_packages(ref_python)
        skip = ("pip", "setuptools", "_distutils_hack", "distutils-precedence.pth")
        parts = [p for p in site.iterdir() if not p.name.startswith(skip)]
        print(
            f"installed, reference venv site-packages (without pip/setuptools): "
            f"{_du(parts) / mb:.0f} MB"
        )
        for name in ("torch", "librosa", "numba", "llvmlite", "scipy", "sklearn", "numpy"):
            found = [p for p in parts if p.name == name or p.name.startswith(f"{name}.libs")]
            print(f"  {name:10} {_du(found) / mb:6.0f} MB")


if __name__ == "__main__":
    main()
