"""Speaker embeddings for diarization: resemblyzer 0.1.4's VoiceEncoder, inference ported to numpy.

Why a port: resemblyzer runs its 3-layer LSTM in PyTorch (a ~720 MB CPU build) and computes its mel
spectrogram with librosa (numba, llvmlite, scikit-learn...), all for a 1.4M-parameter network and
one filterbank. Here the same network runs in float32 numpy and the spectrogram is computed the
way librosa 0.11 computes it. The 17 MB weights are still read from resemblyzer's own wheel,
installed with `pip install --no-deps resemblyzer==0.1.4` (so `import resemblyzer` would fail:
the package is located with `importlib.util.find_spec`, which does not run its `__init__`).

`pretrained.pt` is a *legacy* (pre-1.6, 2019) `torch.save` file, not the zip format: five pickles
in a row (magic number, protocol version, system info, the checkpoint, the storage keys) followed by
each storage's raw bytes. Both that format and the zip format are read here without torch, by an
unpickler that builds numpy arrays and refuses every class but the few a state dict needs.

What is *not* ported: resemblyzer's `preprocess_wav` trims long silences with webrtcvad, which
would shift every time we report, so windows here always cover the audio as given. Its volume
normalisation is a whole-file gain and is offered as `normalize_volume`; the encoder never applies
it by itself (the golden test feeds raw audio to both implementations).
"""

from __future__ import annotations

import collections
import importlib.util
import io
import pickle
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from transcription.audio import release
from transcription.errors import ModelUnavailable

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms window
HOP = 160  # 10 ms step
N_MELS = 40
PARTIAL_FRAMES = 160  # frames in one partial utterance
WINDOW_SECONDS = PARTIAL_FRAMES * HOP / SAMPLE_RATE  # 1.6
HIDDEN = 256
EMBEDDING_SIZE = 256
N_LAYERS = 3
# Time steps whose input projections are computed in one product (bounds memory: 40 steps of a
# 128-window batch are 21 MB).
_PROJECTION_STEPS = 40
INSTALL_HINT = "pip install --no-deps resemblyzer==0.1.4"

F32 = npt.NDArray[np.float32]


# --- torch-free checkpoint reader ----------------------------------------------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES: dict[str, type[np.generic]] = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """The file is not a torch checkpoint this reader understands (or it is damaged)."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype[Any]
    offset: int = 0  # in elements, for a legacy view into a larger storage
    numel: int | None = None  # None: to the end of the storage


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: object,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> _TensorRef:
    if not isinstance(storage, _StorageRef):
        raise CheckpointError("a tensor refers to something that is not a storage")
    return _TensorRef(storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride)))


def _rebuild_parameter(data: object, requires_grad: bool = False, hooks: object = None) -> object:
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds placeholders for storages and tensors; any other class is refused."""

    def __init__(self, file: IO[bytes], *, legacy: bool) -> None:
        super().__init__(file)
        self.legacy = legacy
        self.storage_dtypes: dict[str, np.dtype[Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(np.dtype(_STORAGE_DTYPES[name]))
        raise CheckpointError(f"refusing to unpickle {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise CheckpointError(f"unsupported persistent id {pid!r:.80}")
        if self.legacy:
            # ('storage', type, root_key, location, numel, view_metadata)
            if len(pid) != 6:
                raise CheckpointError("malformed legacy storage reference")
            _, stype, key, _location, _numel, view = pid
        else:
            # ('storage', type, key, location, numel)
            if len(pid) != 5:
                raise CheckpointError("malformed storage reference")
            _, stype, key, _location, _numel = pid
            view = None
        if not isinstance(stype, _StorageType):
            raise CheckpointError("storage of an unknown type")
        if self.storage_dtypes.setdefault(str(key), stype.dtype) != stype.dtype:
            raise CheckpointError(f"storage {key} is used with two types")
        if view is None:
            return _StorageRef(str(key), stype.dtype)
        _view_key, offset, size = view
        return _StorageRef(str(key), stype.dtype, int(offset), int(size))


def _materialize(obj: Any, storages: dict[str, npt.NDArray[Any]]) -> Any:
    """The unpickled tree with each tensor (or bare storage) replaced by a numpy array."""
    if isinstance(obj, _StorageRef):
        if obj.key not in storages:
            raise CheckpointError(f"storage {obj.key} is missing from the file")
        base = storages[obj.key]
        end = len(base) if obj.numel is None else obj.offset + obj.numel
        return np.array(base[obj.offset : end])
    if isinstance(obj, _TensorRef):
        ref = obj.storage
        if ref.key not in storages:
            raise CheckpointError(f"storage {ref.key} is missing from the file")
        base = storages[ref.key]
        end = len(base) if ref.numel is None else ref.offset + ref.numel
        flat = base[ref.offset : end]
        if len(obj.shape) != len(obj.stride) or any(s < 0 for s in obj.shape + obj.stride):
            raise CheckpointError("malformed tensor shape")
        if 0 in obj.shape:
            return np.zeros(obj.shape, dtype=flat.dtype)
        last = obj.offset + sum((n - 1) * s for n, s in zip(obj.shape, obj.stride, strict=True))
        if obj.offset < 0 or last >= len(flat):
            raise CheckpointError("a tensor reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[obj.offset :],
            shape=obj.shape,
            strides=tuple(s * flat.itemsize for s in obj.stride),
            writeable=False,
        )
        return np.array(view)  # own, contiguous copy
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _materialize(v, storages)
        return out
    if isinstance(obj, list):
        return [_materialize(v, storages) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_materialize(v, storages) for v in obj)
    return obj


def _unpickle(fh: IO[bytes], *, legacy: bool) -> tuple[Any, dict[str, np.dtype[Any]]]:
    """One pickle from `fh`, and the element type of each storage it refers to."""
    unpickler = _RestrictedUnpickler(fh, legacy=legacy)
    try:
        return unpickler.load(), unpickler.storage_dtypes
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"damaged or foreign file ({exc})") from exc


def _read_legacy(fh: IO[bytes]) -> Any:
    # torch.save before 1.6 (`_legacy_save`): magic number, protocol version and system info
    # pickles, the object pickle, the pickled list of storage keys, then each storage in that
    # order as its element count (int64) followed by its raw elements.
    try:
        magic, _ = _unpickle(fh, legacy=True)
    except CheckpointError as exc:
        raise CheckpointError("not a torch checkpoint") from exc
    if magic != _LEGACY_MAGIC:
        raise CheckpointError("not a torch checkpoint (wrong magic number)")
    protocol, _ = _unpickle(fh, legacy=True)
    if protocol != _LEGACY_PROTOCOL:
        raise CheckpointError(f"unsupported legacy protocol {protocol!r}")
    sys_info, _ = _unpickle(fh, legacy=True)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
        raise CheckpointError("only little-endian checkpoints are supported")
    obj, dtypes = _unpickle(fh, legacy=True)
    keys, _ = _unpickle(fh, legacy=True)
    if not isinstance(keys, list):
        raise CheckpointError("damaged checkpoint (no storage keys)")
    here = fh.tell()
    size = fh.seek(0, io.SEEK_END)
    fh.seek(here)
    storages: dict[str, npt.NDArray[Any]] = {}
    for key in map(str, keys):
        dtype = dtypes.get(key)
        if dtype is None:
            raise CheckpointError(f"storage {key} is not referred to by the checkpoint")
        head = fh.read(8)
        numel = int.from_bytes(head, "little", signed=True)
        nbytes = numel * dtype.itemsize
        if len(head) != 8 or not 0 <= nbytes <= size - fh.tell():
            raise CheckpointError("truncated checkpoint")
        data = fh.read(nbytes)
        storages[key] = np.frombuffer(data, dtype=dtype.newbyteorder("<"))
    return _materialize(obj, storages)


def _read_zip(path: Path) -> Any:
    # torch.save since 1.6: <name>/data.pkl (the object, storages as persistent ids) beside
    # <name>/data/<key> (each storage's raw bytes) and <name>/byteorder.
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        pkl = next((n for n in sorted(names) if n.rsplit("/", 1)[-1] == "data.pkl"), None)
        if pkl is None:
            raise CheckpointError("zip file without data.pkl: not a torch checkpoint")
        prefix = pkl[: -len("data.pkl")]
        order = "little"
        if f"{prefix}byteorder" in names:
            order = zf.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise CheckpointError(f"unknown byte order {order!r}")
        obj, dtypes = _unpickle(io.BytesIO(zf.read(pkl)), legacy=False)
        storages: dict[str, npt.NDArray[Any]] = {}
        for key, dtype in dtypes.items():
            member = f"{prefix}data/{key}"
            if member not in names:
                raise CheckpointError(f"storage {key} is missing from the file")
            raw = zf.read(member)
            if len(raw) % dtype.itemsize:
                raise CheckpointError(f"storage {key} ends in a partial element")
            stored = np.frombuffer(raw, dtype=dtype.newbyteorder("<" if order == "little" else ">"))
            storages[key] = stored.astype(dtype.newbyteorder("="), copy=False)
    return _materialize(obj, storages)


def read_checkpoint(path: Path) -> Any:
    """What `torch.load(path)` returns, with numpy arrays for tensors; torch is never imported.

    Reads the zip format of torch >= 1.6 and the legacy format before it. Only plain containers,
    `OrderedDict` and tensors are rebuilt: any other pickled class raises `CheckpointError`.
    """
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":  # what torch.load looks at too
            fh.seek(0)
            return _read_legacy(fh)
    try:
        return _read_zip(path)
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"damaged checkpoint ({exc})") from exc


# --- features ---------------------------------------------------------------------------------


def _hz_to_mel(freqs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # librosa's Slaney scale (htk=False): linear below 1 kHz, logarithmic above.
    f_sp = 200.0 / 3
    mels = freqs / f_sp
    min_log_mel = 1000.0 / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = freqs >= 1000.0
    mels[log_t] = min_log_mel + np.log(freqs[log_t] / 1000.0) / logstep
    return mels


def _mel_to_hz(mels: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_mel = 1000.0 / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = 1000.0 * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


@cache
def mel_filterbank() -> F32:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney scale and norm, (40, 201)."""
    fftfreqs = np.fft.rfftfreq(N_FFT, d=1.0 / SAMPLE_RATE)
    limits = _hz_to_mel(np.array([0.0, SAMPLE_RATE / 2]))
    mel_f = _mel_to_hz(np.linspace(limits[0], limits[1], N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:N_MELS] / fdiff[:N_MELS, None]
    upper = ramps[2:] / fdiff[1:, None]
    # librosa stores the triangles in float32, then scales them in place (float32 again).
    weights = np.maximum(0, np.minimum(lower, upper)).astype(np.float32)
    enorm = 2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS])
    out: F32 = (weights * enorm[:, None]).astype(np.float32)
    out.flags.writeable = False
    return out


@cache
def _hann() -> npt.NDArray[np.float64]:
    # scipy.signal.get_window("hann", 400, fftbins=True): the periodic Hann window.
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)


def _as_audio(audio: npt.ArrayLike) -> F32:
    wav = np.asarray(audio, dtype=np.float32)
    if wav.ndim != 1:
        raise ValueError(f"expected mono audio (one dimension), got shape {wav.shape}")
    return wav


def mel_spectrogram(
    audio: npt.ArrayLike, *, block_frames: int = 4096, length: int | None = None
) -> F32:
    """Power mel spectrogram (not log) of 16 kHz mono audio, shape (frames, 40), float32.

    Matches `resemblyzer.audio.wav_to_mel_spectrogram` on librosa 0.11: centred frames with zero
    padding (librosa's default pad_mode is "constant" since 0.10; before that it was "reflect",
    which changes at most the first two and last two frames), 1 + len // 160 frames.
    Computed `block_frames` frames at a time, each from its own slice of the audio (zeros past
    either end), so a four-hour call needs neither its whole STFT nor a padded copy. `length`:
    treat the audio as this many samples long, the missing ones zero.
    """
    wav = _as_audio(audio)
    n = len(wav) if length is None else length
    n_frames = 1 + n // HOP
    basis_t = mel_filterbank().T
    window = _hann()
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for start in range(0, n_frames, block_frames):
        count = min(block_frames, n_frames - start)
        lo = start * HOP - N_FFT // 2  # the first frame's first sample, in the padded audio
        hi = lo + (count - 1) * HOP + N_FFT
        piece = np.zeros(hi - lo, dtype=np.float32)
        a, b = max(lo, 0), min(hi, len(wav))
        if b > a:
            piece[a - lo : b - lo] = wav[a:b]
        frames = np.lib.stride_tricks.sliding_window_view(piece, N_FFT)[::HOP][:count]
        # librosa: the window product and FFT in float64, stored as complex64, |.|**2 in float32.
        spec = np.fft.rfft(frames * window, axis=-1).astype(np.complex64)
        power = np.square(np.abs(spec))
        np.matmul(power, basis_t, out=out[start : start + count])
        if isinstance(audio, np.ndarray):
            release(audio, a, b)  # a spooled call's pages go back as we go
    return out


def normalize_volume(
    audio: npt.ArrayLike, target_dbfs: float = -30.0, *, increase_only: bool = True
) -> F32:
    """resemblyzer's volume normalisation (the level it was trained at): one gain for the whole
    file, so no time moves. Silent audio is returned unchanged."""
    wav = _as_audio(audio)
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if len(wav) else 0.0
    if rms == 0.0:
        return wav
    change = target_dbfs - 20.0 * np.log10(rms)
    if change < 0 and increase_only:
        return wav
    return (wav * np.float32(10.0 ** (change / 20.0))).astype(np.float32)


def partial_starts(
    n_samples: int, *, step: float, min_coverage: float = 0.75
) -> npt.NDArray[np.intp]:
    """First mel frame of each 160-frame window, as `VoiceEncoder.compute_partial_slices` places
    them for `rate = 1 / step`: one every round(step / 10 ms) frames from 0 until the audio is
    covered, the last one dropped if less than `min_coverage` of it lies inside the audio (but
    there is always at least one)."""
    if not 0 < min_coverage <= 1:
        raise ValueError("min_coverage must be in (0, 1]")
    frame_step = int(np.round(step * SAMPLE_RATE / HOP))
    if not 0 < frame_step <= PARTIAL_FRAMES:
        raise ValueError(f"step must be between 10 ms and {WINDOW_SECONDS} s, got {step}")
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    steps = max(1, n_frames - PARTIAL_FRAMES + frame_step + 1)
    starts = np.arange(0, steps, frame_step)
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(starts) > 1:
        starts = starts[:-1]
    return starts


def _l2_normalize(x: F32) -> F32:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    out: F32 = (x / np.maximum(norm, np.float32(1e-12))).astype(np.float32, copy=False)
    return out


# --- the network ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    w_ih_t: F32  # (input, 4H), gates reordered to i, f, o, g; i, f, o rows halved
    w_hh_t: F32  # (H, 4H), same
    bias: F32  # (4H,) = b_ih + b_hh, same


def _prepare_layer(w_ih: F32, w_hh: F32, b_ih: F32, b_hh: F32) -> _Layer:
    h = HIDDEN
    # torch's gate order is i, f, g, o. Putting the three sigmoid gates first lets one tanh call
    # serve all four: sigmoid(x) = 0.5 + 0.5 * tanh(x / 2), and x / 2 is folded into the weights
    # (a power-of-two scale, exact in float32). tanh never overflows, so this is stable too.
    order = np.r_[0 : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]
    scale = np.ones(4 * h, dtype=np.float32)
    scale[: 3 * h] = 0.5

    def prep(w: F32) -> F32:
        return np.ascontiguousarray((w[order] * scale[:, None]).T, dtype=np.float32)

    bias = ((b_ih + b_hh)[order] * scale).astype(np.float32)
    return _Layer(prep(w_ih), prep(w_hh), bias)


def find_weights() -> Path | None:
    """resemblyzer's `pretrained.pt`, found without importing resemblyzer (which needs torch)."""
    try:
        spec = importlib.util.find_spec("resemblyzer")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "pretrained.pt"
        if candidate.is_file():
            return candidate
    return None


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


class VoiceEncoder:
    """resemblyzer's speaker encoder: 1.6 s of audio in, a 256-d L2-normalised embedding out.

    Float32 numpy throughout; `batch_size` windows go through the LSTM together, each time step
    of the batch in one product (the working memory is about 0.5 MB per window of the batch,
    ~65 MB for the default, however long the audio).

    `blas_threads` caps BLAS threads while the encoder runs (None: leave BLAS as it is). Each LSTM
    step is a small (batch x 256) by (256 x 1024) product: a second OpenBLAS thread gains little
    there, and on a busy machine its spinning threads made the whole run 4-7x slower."""

    def __init__(
        self, weights: Path | None = None, *, batch_size: int = 128, blas_threads: int | None = 1
    ) -> None:
        path = find_weights() if weights is None else Path(weights)
        if path is None or not path.is_file():
            where = "resemblyzer's pretrained.pt" if path is None else str(path)
            raise ModelUnavailable(
                f"the voice encoder weights are missing ({where}); install them with "
                f"`{INSTALL_HINT}`"
            )
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.weights_path = path
        self.batch_size = batch_size
        self.blas_threads = blas_threads
        try:
            checkpoint = read_checkpoint(path)
            state = checkpoint["model_state"] if "model_state" in checkpoint else checkpoint
            layers = []
            for k in range(N_LAYERS):
                w_ih, w_hh, b_ih, b_hh = (
                    self._param(state, f"lstm.{name}_l{k}", shape)
                    for name, shape in (
                        ("weight_ih", (4 * HIDDEN, N_MELS if k == 0 else HIDDEN)),
                        ("weight_hh", (4 * HIDDEN, HIDDEN)),
                        ("bias_ih", (4 * HIDDEN,)),
                        ("bias_hh", (4 * HIDDEN,)),
                    )
                )
                layers.append(_prepare_layer(w_ih, w_hh, b_ih, b_hh))
            self._layers: tuple[_Layer, ...] = tuple(layers)
            linear_w = self._param(state, "linear.weight", (EMBEDDING_SIZE, HIDDEN))
            self._linear_w_t: F32 = np.ascontiguousarray(linear_w.T)
            self._linear_b: F32 = self._param(state, "linear.bias", (EMBEDDING_SIZE,))
        except (CheckpointError, KeyError, TypeError, OSError) as exc:
            raise ModelUnavailable(
                f"cannot load the voice encoder weights from {path}: {exc}; reinstall them with "
                f"`{INSTALL_HINT}`"
            ) from exc

    @staticmethod
    def _param(state: Any, name: str, shape: tuple[int, ...]) -> F32:
        if not isinstance(state, dict) or name not in state:
            raise CheckpointError(f"no {name} in the checkpoint")
        value = state[name]
        if not isinstance(value, np.ndarray) or value.shape != shape:
            got = getattr(value, "shape", type(value).__name__)
            raise CheckpointError(f"{name} has shape {got}, expected {shape}")
        return np.ascontiguousarray(value, dtype=np.float32)

    def mel(self, audio: npt.ArrayLike) -> F32:
        """Mel spectrogram of 16 kHz mono float audio, (frames, 40); see `mel_spectrogram`."""
        return mel_spectrogram(audio)

    def embed_mels(self, mels: npt.ArrayLike) -> F32:
        """Embeddings of a batch of spectrogram windows (n, frames, 40) -> (n, 256), L2-normalised
        (and non-negative, after the ReLU). Normally frames = 160."""
        x = np.asarray(mels, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != N_MELS or x.shape[1] == 0:
            raise ValueError(f"expected (n, frames, {N_MELS}) mel windows, got shape {x.shape}")
        out = np.empty((x.shape[0], EMBEDDING_SIZE), dtype=np.float32)
        with self._threads():
            for start in range(0, x.shape[0], self.batch_size):
                out[start : start + self.batch_size] = self._embed_batch(
                    x[start : start + self.batch_size]
                )
        return out

    def _threads(self) -> AbstractContextManager[object]:
        if self.blas_threads is None:
            return nullcontext()
        limited: AbstractContextManager[object] = _blas().limit(
            limits=self.blas_threads, user_api="blas"
        )
        return limited

    def _embed_batch(self, x: F32) -> F32:
        h_last = self._lstm(np.ascontiguousarray(x.transpose(1, 0, 2)))  # time-major
        raw = h_last @ self._linear_w_t
        raw += self._linear_b
        np.maximum(raw, 0, out=raw)
        return _l2_normalize(raw)

    def _lstm(self, seq: F32) -> F32:
        """Hidden state of the last layer after the last step; `seq` is (T, B, input)."""
        n_steps, batch, _ = seq.shape
        h4 = 4 * HIDDEN
        chunk = min(n_steps, _PROJECTION_STEPS)
        proj = np.empty((chunk * batch, h4), dtype=np.float32)
        gates = np.empty((batch, h4), dtype=np.float32)
        tmp = np.empty((batch, HIDDEN), dtype=np.float32)
        c = np.empty((batch, HIDDEN), dtype=np.float32)
        for k, layer in enumerate(self._layers):
            last = k == len(self._layers) - 1
            hs = np.empty((1 if last else n_steps, batch, HIDDEN), dtype=np.float32)
            c.fill(0.0)
            h_prev: F32 | None = None
            for t in range(n_steps):
                if t % chunk == 0:
                    # Input projections of `chunk` time steps (bias included) in one product:
                    # the recurrence leaves only h @ W_hh to each step.
                    block = seq[t : t + chunk].reshape(-1, seq.shape[2])
                    np.matmul(block, layer.w_ih_t, out=proj[: len(block)])
                    proj[: len(block)] += layer.bias
                x_proj = proj[(t % chunk) * batch : (t % chunk + 1) * batch]
                if h_prev is None:
                    gates[...] = x_proj
                else:
                    np.matmul(h_prev, layer.w_hh_t, out=gates)
                    gates += x_proj
                # One tanh for the four gates (see _prepare_layer), then i, f, o to sigmoids.
                np.tanh(gates, out=gates)
                sig = gates[:, : 3 * HIDDEN]
                sig *= 0.5
                sig += 0.5
                i_g = gates[:, :HIDDEN]
                f_g = gates[:, HIDDEN : 2 * HIDDEN]
                o_g = gates[:, 2 * HIDDEN : 3 * HIDDEN]
                g_g = gates[:, 3 * HIDDEN :]
                c *= f_g
                np.multiply(i_g, g_g, out=tmp)
                c += tmp
                h = hs[0 if last else t]
                np.tanh(c, out=h)
                h *= o_g
                h_prev = h
            seq = hs
        final: F32 = seq[0]
        return final

    def partial_embeddings(
        self,
        audio: npt.ArrayLike,
        *,
        step: float,
        min_coverage: float = 0.75,
        keep: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.bool_]] | None = None,
    ) -> tuple[npt.NDArray[np.float64], F32]:
        """Embeddings of 1.6 s windows every `step` seconds over the whole audio.

        Returns (window start times in seconds, shape (n,); embeddings, (n, 256)). Windows start
        at 0 and go on until the audio is covered; the audio is zero-padded for the last ones,
        which are kept if at least `min_coverage` of them is audio (as resemblyzer does). The mel
        spectrogram is computed once for the whole file and the windows are slices of it.
        `keep`: given every window's start time, which windows to embed (the others are left
        out of both arrays): the silent hours of a long call cost no network passes.
        """
        wav = _as_audio(audio)
        starts = partial_starts(len(wav), step=step, min_coverage=min_coverage)
        if keep is not None:
            starts = starts[keep(starts.astype(np.float64) * (HOP / SAMPLE_RATE))]
            if not len(starts):
                return np.zeros(0), np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        needed = (int(starts[-1]) + PARTIAL_FRAMES) * HOP
        # The last windows run past the end: zeros there, without copying the whole call.
        mel = mel_spectrogram(audio, length=max(needed, len(wav)))
        windows = np.lib.stride_tricks.sliding_window_view(mel, PARTIAL_FRAMES, axis=0)
        # windows[i] is (40, 160): frames last; one batch at a time is copied out, frames first.
        embeds = np.empty((len(starts), EMBEDDING_SIZE), dtype=np.float32)
        with self._threads():
            for b in range(0, len(starts), self.batch_size):
                idx = starts[b : b + self.batch_size]
                batch = np.ascontiguousarray(windows[idx].transpose(0, 2, 1))
                embeds[b : b + len(idx)] = self._embed_batch(batch)
        times = starts.astype(np.float64) * (HOP / SAMPLE_RATE)
        return times, embeds

    def embed_utterance(
        self, audio: npt.ArrayLike, *, rate: float = 1.3, min_coverage: float = 0.75
    ) -> F32:
        """resemblyzer's `embed_utterance`: the L2-normalised mean of the partial embeddings at
        `rate` windows per second, shape (256,)."""
        _, partials = self.partial_embeddings(audio, step=1.0 / rate, min_coverage=min_coverage)
        return _l2_normalize(partials.mean(axis=0, dtype=np.float32))
