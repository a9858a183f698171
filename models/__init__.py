"""SQLAlchemy models: the registry, cases, messages, the outbox and Open311 API keys."""

from models.admin import (
    AdminRole,
    AdminUser,
    AppSecret,
    AuditLog,
    Broadcast,
    LoginFailure,
    RuleSetStatus,
    RuleSetVersion,
)
from models.apikeys import ApiKey
from models.base import Base, utcnow
from models.cases import OPEN_STATES, Case, CaseEvent, CaseLink, CaseState, ClockMark, state_in
from models.channels import (
    KF_USERID_PREFIX,
    KfAccount,
    KfContact,
    ProgressLink,
    StoredMedia,
    case_channel,
    resident_channel,
)
from models.corrections import Correction
from models.departments import Department, Liaison, Whistle, WhistleState
from models.messages import Conversation, InboundMessage
from models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from models.points import PointsEntry
from models.registry import (
    REGISTRY_TABLES,
    Area,
    AreaLevel,
    Grid,
    RegistryVersion,
    Resident,
    Unit,
    Worker,
    WorkerRole,
    worker_grids,
)
from models.shop import Redemption, RedemptionState, ShopItem, Volunteer, VolunteerHours
from models.visits import PatrolCheckin, Visit

__all__ = [
    "AdminRole", "AdminUser", "ApiKey", "AppSecret", "AuditLog", "Broadcast", "LoginFailure", "RuleSetStatus",
    "RuleSetVersion",
    "Area", "AreaLevel", "Base", "Case", "CaseEvent", "CaseLink", "CaseState", "ClockMark",
    "Conversation", "Correction", "Department", "Grid", "InboundMessage", "KF_USERID_PREFIX", "KfAccount",
    "KfContact", "Liaison", "OPEN_STATES", "OutboxChannel", "OutboxMessage", "OutboxStatus", "PatrolCheckin",
    "PointsEntry", "ProgressLink", "REGISTRY_TABLES", "Redemption", "RedemptionState", "RegistryVersion", "Resident", "ShopItem", "StoredMedia", "Unit",
    "Visit", "Volunteer", "VolunteerHours", "Whistle", "WhistleState", "Worker", "WorkerRole", "case_channel",
    "resident_channel", "state_in", "utcnow", "worker_grids",
]
