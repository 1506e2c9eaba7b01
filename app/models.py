"""Every table, imported in one place for Alembic and for create_app."""

from app.calls.models import Call, Transcript, TranscriptSegment
from app.jobs.models import Job
from app.scorecards.models import CallScore, ScorecardVersion
from app.users.models import Agent, ApiKey, User

__all__ = ["Agent", "ApiKey", "Call", "CallScore", "Job", "ScorecardVersion", "Transcript",
           "TranscriptSegment", "User"]
