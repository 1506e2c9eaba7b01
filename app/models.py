"""Every table, imported in one place for Alembic and for create_app."""

from app.calls.models import Call, Transcript, TranscriptSegment
from app.jobs.models import Job
from app.users.models import Agent, ApiKey, User

__all__ = ["Agent", "ApiKey", "Call", "Job", "Transcript", "TranscriptSegment", "User"]
