"""Typed SQLAlchemy models, one module per aggregate."""

from reporter.models.attachment import Attachment
from reporter.models.audit import AuditCheckpoint, AuditEvent, AuditHead
from reporter.models.base import Base
from reporter.models.campaign import Campaign, CampaignCase, CampaignSeal
from reporter.models.case import CaseEntry
from reporter.models.link import AccountLink
from reporter.models.notification import Notification
from reporter.models.partner import Partner, PartnerReferral
from reporter.models.platform_response import PlatformResponseStat
from reporter.models.purged_file import PurgedFile
from reporter.models.reply import ReplyTemplate
from reporter.models.report import Report
from reporter.models.routing import DirectoryVersion, RoutingRule, RoutingRuleMember
from reporter.models.seal import Seal
from reporter.models.session import UnlockedSession
from reporter.models.staff import EnrollmentToken, StaffMember
from reporter.models.workspace import CaseOpening

__all__ = [
    "AccountLink",
    "Campaign", "CampaignCase", "CampaignSeal",
    "Attachment", "AuditCheckpoint", "AuditEvent", "AuditHead", "Base", "CaseEntry", "CaseOpening",
    "DirectoryVersion",
    "PlatformResponseStat",
    "EnrollmentToken", "Notification", "Partner", "PartnerReferral", "PurgedFile", "ReplyTemplate", "Report",
    "RoutingRule",
    "RoutingRuleMember", "Seal", "StaffMember",
    "UnlockedSession",
]
