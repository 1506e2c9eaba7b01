"""Decoding with PyAV: validation of uploads and 16 kHz float channels for Whisper.

The decoder is always given a path we chose, never a client's file name: the container format is
detected from the content.
"""

from __future__ import annotations

import mmap
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import av
import numpy as np

from transcription.errors import AudioTooLong, CorruptAudio, TruncatedAudio, UnsupportedAudio

WHISPER_RATE = 16_000

# A container may round its claimed length; only a large shortfall means the file was cut off.
TRUNCATION_RATIO = 0.9
TRUNCATION_MIN_SECONDS = 1.0


@dataclass(frozen=True)
class AudioInfo:
    format: str  # container, as detected from the content (wav, flac, mp3, ogg, mov/mp4 ...)
    codec: str
    channels: int
    sample_rate: int
    duration: float  # decoded length in seconds
    claimed_duration: float | None


# A 61 KB FLAC can decode to four hours: 921 MB a channel as float32. Past ten minutes a
# channel goes to a temporary file (already unlinked, so nothing outlives the process) and comes
# back memory-mapped; every pass over a whole call then reads it a minute at a time and gives
# the pages back (`blocks`), so memory stays flat whatever the length.
SPOOL_SAMPLES = 10 * 60 * WHISPER_RATE
BLOCK_SAMPLES = 60 * WHISPER_RATE


def release(samples: np.ndarray, start: int = 0, end: int | None = None) -> None:
    """Drop the pages of a spooled channel's samples [start, end) from this process's memory
    (they stay in the file; reading them again maps them back). In-memory arrays: nothing."""
    if not (isinstance(samples, np.memmap) and isinstance(samples.base, mmap.mmap)):
        return  # not a spooled channel (or a view of one, whose offset we do not know)
    item = samples.itemsize
    first = (start * item) // mmap.PAGESIZE * mmap.PAGESIZE
    last = min(len(samples) if end is None else end, len(samples)) * item
    if last > first:
        samples.base.madvise(mmap.MADV_DONTNEED, first, last - first)


def blocks(samples: np.ndarray, size: int = BLOCK_SAMPLES) -> Iterator[tuple[int, np.ndarray]]:
    """(start, samples[start:start + size]) over the whole channel; each block's pages are
    given back once the caller moves on to the next."""
    for start in range(0, len(samples), size):
        yield start, samples[start : start + size]
        release(samples, start, start + size)


class _Spool:
    """Decoded channels, in memory while short, in temporary files once long."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.chunks: list[np.ndarray] = []
        self.files: list[IO[bytes]] | None = None
        self.samples = 0

    def add(self, block: np.ndarray) -> None:  # (channels, samples) float32
        self.samples += block.shape[1]
        if self.files is not None:
            self._write(block)
            return
        self.chunks.append(block)
        if self.samples > SPOOL_SAMPLES:
            if self.directory is not None:
                self.directory.mkdir(parents=True, exist_ok=True)
            self.files = [
                tempfile.TemporaryFile(dir=self.directory, prefix="decoded-")
                for _ in range(block.shape[0])
            ]
            for chunk in self.chunks:
                self._write(chunk)
            self.chunks = []

    def _write(self, block: np.ndarray) -> None:
        for fh, row in zip(self.files or [], block, strict=True):
            fh.write(np.ascontiguousarray(row, dtype=np.float32).tobytes())

    def close(self) -> None:
        for fh in self.files or []:
            fh.close()

    def channels(self) -> list[np.ndarray]:
        if self.files is None:
            if not self.chunks:
                return []
            data = np.concatenate(self.chunks, axis=1).astype(np.float32, copy=False)
            return [np.ascontiguousarray(data[i]) for i in range(data.shape[0])]
        out: list[np.ndarray] = []
        for fh in self.files:
            fh.flush()
            # The map keeps the (unlinked) file alive after the file object is closed.
            out.append(np.memmap(fh, dtype=np.float32, mode="r", shape=(self.samples,)))
        self.close()
        return out


@dataclass
class DecodedAudio:
    channels: list[np.ndarray]  # float32 in [-1, 1], one array per channel, WHISPER_RATE
    sample_rate: int
    duration: float
    spool_dir: Path | None = field(default=None, repr=False)
    _mono: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def mono(self) -> np.ndarray:
        if len(self.channels) == 1:
            return self.channels[0]
        if self._mono is None:
            # Mixed a block at a time: stacking two four-hour channels would take 3.7 GB.
            spool = _Spool(self.spool_dir)
            n = min(len(c) for c in self.channels)
            for start in range(0, n, BLOCK_SAMPLES):
                end = min(n, start + BLOCK_SAMPLES)
                mixed = np.mean([c[start:end] for c in self.channels], axis=0)
                spool.add(mixed.astype(np.float32)[None, :])
                for c in self.channels:
                    release(c, start, end)
            self._mono = spool.channels()[0]
        return self._mono


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise FileNotFoundError(2, "no such file", str(path))
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise UnsupportedAudio("the file is not a recognised audio format") from exc


def _wav_data_seconds(path: Path) -> float | None:
    """Length a WAV header promises. FFmpeg derives a WAV's duration from the file size, so a
    cut-off file looks whole to it; the RIFF `data` chunk size still tells the truth."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        order: Literal["little", "big"] = "little" if head[:4] == b"RIFF" else "big"
        block_align = rate = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], order)
            if cid == b"fmt ":
                fmt = fh.read(size)
                rate = int.from_bytes(fmt[4:8], order)
                block_align = int.from_bytes(fmt[12:14], order)
                fh.seek(size % 2, 1)
            elif cid == b"data":
                # Live recorders write 0 or 0xFFFFFFFF when they do not know the length yet.
                if not block_align or not rate or size in (0, 0xFFFFFFFF):
                    return None
                return size / block_align / rate
            else:
                fh.seek(size + size % 2, 1)


_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def _ogg_cut_off(path: Path) -> bool:
    """Whether an Ogg file stops before its end. FFmpeg takes an Ogg stream's length from its
    last page, so a cut-off file looks whole by duration; but a complete stream's last page is
    whole and carries the end-of-stream flag (header type bit 2)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _OGG_MAX_PAGE))
        tail = fh.read()
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        page = tail[at:]
        if len(page) < 27 or page[4] != 0:  # not a page header (the bytes occur in audio too)
            continue
        segments = page[26]
        if len(page) < 27 + segments:
            return True
        body = sum(page[27 : 27 + segments])
        if len(page) < 27 + segments + body:
            return True  # the last page is cut
        return not page[5] & 0x04
    return True  # no page header in the last 64 KiB: not a whole Ogg stream


def _claimed_seconds(
    container: av.container.InputContainer, stream: av.AudioStream, path: Path
) -> float | None:
    if container.format.name.startswith("wav"):
        return _wav_data_seconds(path)
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _audio_stream(container: av.container.InputContainer) -> av.AudioStream:
    if not container.streams.audio:
        raise UnsupportedAudio("the file holds no audio stream")
    return container.streams.audio[0]


def probe_audio(path: Path, *, max_seconds: float) -> AudioInfo:
    """Decode the whole file once and say what it is, or raise why it cannot be used."""
    with _open(path) as container:
        stream = _audio_stream(container)
        claimed = _claimed_seconds(container, stream, path)
        if claimed is not None and claimed > max_seconds + 1:
            raise AudioTooLong(
                f"the recording is {claimed / 60:.1f} min long; the limit is "
                f"{max_seconds / 60:.0f} min"
            )
        rate = stream.codec_context.sample_rate or stream.rate
        if not rate:
            raise CorruptAudio("the audio stream has no sample rate")
        samples = 0
        try:
            for frame in container.decode(stream):
                samples += frame.samples
                if samples / rate > max_seconds + 1:
                    raise AudioTooLong(
                        f"the recording is longer than the limit of {max_seconds / 60:.0f} min"
                    )
        except av.error.FFmpegError as exc:
            raise CorruptAudio(
                f"the audio cannot be decoded after {samples / rate:.1f} s ({exc.strerror})"
            ) from exc
        duration = samples / rate
        if samples == 0:
            raise CorruptAudio("the file holds no decodable audio")
        if container.format.name == "ogg" and _ogg_cut_off(path):
            raise TruncatedAudio(
                f"the file is truncated: its audio stops at {duration:.1f} s without the "
                "Ogg end-of-stream mark"
            )
        if (
            claimed is not None
            and duration < claimed * TRUNCATION_RATIO
            and claimed - duration > TRUNCATION_MIN_SECONDS
        ):
            raise TruncatedAudio(
                f"the file is truncated: it decodes to {duration:.1f} s but its header "
                f"says {claimed:.1f} s"
            )
        return AudioInfo(
            format=container.format.name.split(",")[0],
            codec=stream.codec_context.name,
            channels=stream.codec_context.channels or len(stream.layout.channels),
            sample_rate=int(rate),
            duration=duration,
            claimed_duration=claimed,
        )


def decode_audio(path: Path, *, spool_dir: Path | None = None) -> DecodedAudio:
    """Every channel of the first audio stream, resampled to 16 kHz float32. A long recording's
    channels are memory-mapped from temporary files in `spool_dir` (default: the system's
    temporary folder; give one on disk, not in RAM), one float32 copy and no more."""
    with _open(path) as container:
        stream = _audio_stream(container)
        n_channels = len(stream.layout.channels) or 1
        layout = "mono" if n_channels == 1 else "stereo"
        # Only the first two channels matter to us (agent and customer legs).
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=WHISPER_RATE)
        spool = _Spool(spool_dir)
        try:
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    spool.add(out.to_ndarray())
            for out in resampler.resample(None):
                spool.add(out.to_ndarray())
        except av.error.FFmpegError as exc:
            spool.close()
            raise CorruptAudio(f"the audio cannot be decoded ({exc.strerror})") from exc
        except BaseException:
            spool.close()
            raise
    channels = spool.channels()
    if not channels or not len(channels[0]):
        raise CorruptAudio("the file holds no decodable audio")
    return DecodedAudio(
        channels=channels,
        sample_rate=WHISPER_RATE,
        duration=len(channels[0]) / WHISPER_RATE,
        spool_dir=spool_dir,
    )
