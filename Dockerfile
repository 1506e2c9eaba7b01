# syntax=docker/dockerfile:1
# Two stages: the builder makes the wheel and a virtual environment with the locked runtime
# dependencies; the runtime stage copies that environment only (no sources, no build tools).
# requirements.lock pins every runtime package (regenerate with `make lock`).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# Dependencies first: this layer is rebuilt only when the lock changes, not on every code edit.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install -r /tmp/requirements.lock
# The voice encoder's weights only: callqa runs the network in numpy (no PyTorch, no librosa).
RUN /opt/venv/bin/pip install --no-deps resemblyzer==0.1.4
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY app app
COPY transcription transcription
COPY qa qa
COPY scorecards scorecards
COPY migrations migrations
# --no-deps: everything callqa needs is already pinned above; `pip check` fails the build when
# the lock no longer satisfies pyproject's dependencies.
# resemblyzer's own requirements (torch, librosa, webrtcvad) are left out on purpose, so they
# are the only lines `pip check` may print.
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
    && { /opt/venv/bin/pip check || true; } | grep -v '^resemblyzer 0.1.4 requires' | { ! grep .; }

FROM ${PYTHON_IMAGE}
# Recordings, the database, the secret key and assembled weights live in /data (mount a volume).
ENV PATH=/opt/venv/bin:$PATH \
    CALLQA_DATA_DIR=/data \
    CALLQA_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home callqa \
    && mkdir -p /data && chown callqa:callqa /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /srv/callqa
USER callqa
VOLUME /data
EXPOSE 8000
# Slim images have no curl. The first start migrates and assembles the Whisper weights, hence
# the long start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CALLQA_PORT', '8000'), timeout=4)"]
CMD ["callqa", "serve"]
