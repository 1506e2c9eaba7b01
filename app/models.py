"""Every table, imported in one place for Alembic and for create_app."""

from app.alerts.models import Alert, AlertRule
from app.audit.models import AuditEvent
from app.calls.models import Call, Transcript, TranscriptEmbedding, TranscriptSegment
from app.coaching.models import CoachingCall, CoachingSession
from app.incentives.models import BonusRuleVersion, IncentiveLine, IncentivePeriod
from app.jobs.models import Job
from app.privacy.models import LegalHold, RetentionPolicy
from app.reviews.models import Calibration, CalibrationReviewer, Dispute, Review
from app.scorecards.models import CallScore, ScorecardVersion
from app.shopper.models import ShopperAssignment, ShopperAttempt, ShopperSubmission, ShopperTemplate
from app.teams.models import Team, TeamLead
from app.topics.models import CallTopic, Topic
from app.users.models import Agent, ApiKey, User

__all__ = [
    "Agent",
    "Alert",
    "AlertRule",
    "ApiKey",
    "AuditEvent",
    "BonusRuleVersion",
    "IncentiveLine",
    "IncentivePeriod",
    "Calibration",
    "CalibrationReviewer",
    "Call",
    "CallScore",
    "CallTopic",
    "CoachingCall",
    "CoachingSession",
    "Dispute",
    "Job",
    "LegalHold",
    "RetentionPolicy",
    "Review",
    "ScorecardVersion",
    "ShopperAssignment",
    "ShopperAttempt",
    "ShopperSubmission",
    "ShopperTemplate",
    "Team",
    "TeamLead",
    "Topic",
    "Transcript",
    "TranscriptEmbedding",
    "TranscriptSegment",
    "User",
]
