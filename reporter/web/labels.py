"""The names people read for the codes the domain stores: kinds, categories, platforms, roles,
account states, case statuses and risk levels, translated. One place, so every page and both sides
of the site say the same thing for the same code, and no blueprint imports another for a label."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from reporter.intake.online_details import PLATFORMS
from reporter.models.report import CATEGORIES, INCIDENT_KINDS, RISKS, STATUSES
from reporter.models.staff import ROLES, STATES

KIND_LABELS = {
    "online": _l("Online (social media, messengers, e-mail)"),
    "offline": _l("Offline (in person, at home, at work, on the street)"),
    "both": _l("Both online and offline"),
}
CATEGORY_LABELS = {
    "threat": _l("Threats"),
    "hate_speech": _l("Hate speech"),
    "smear_campaign": _l("Smear campaign"),
    "doxxing": _l("Doxxing (personal information published)"),
    "stalking": _l("Stalking"),
    "sexual_harassment": _l("Sexual harassment"),
    "account_compromise": _l("Hacked or taken-over account"),
    "surveillance": _l("Surveillance"),
    "physical_attack": _l("Physical attack"),
    "legal_harassment": _l("Legal harassment (lawsuits, summons, fines)"),
    "property_damage": _l("Damage to property"),
    "other": _l("Something else"),
}
PLATFORM_LABELS = {
    "telegram": "Telegram", "whatsapp": "WhatsApp", "signal": "Signal", "viber": "Viber",
    "facebook": "Facebook", "instagram": "Instagram", "vk": _l("VK (VKontakte)"),
    "odnoklassniki": _l("Odnoklassniki"), "x": "X (Twitter)", "tiktok": "TikTok", "youtube": "YouTube",
    "email": _l("E-mail"), "other": _l("Other"),
}
ROLE_LABELS = {
    "focal_point": _l("Focal point"),
    "coordinator": _l("Coordinator"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
}
STATE_LABELS = {
    "invited": _l("Invited"),
    "enrolled": _l("Enrolled, waiting for vetting"),
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "offboarded": _l("Offboarded"),
}
STATUS_LABELS = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "assessing": _l("Assessing"),
    "supporting": _l("Supporting"),
    "referred": _l("Referred"),
    "closed": _l("Closed"),
}
RISK_LABELS = {
    "unknown": _l("Not assessed"),
    "low": _l("Low"),
    "medium": _l("Medium"),
    "high": _l("High"),
    "critical": _l("Critical"),
}

assert set(KIND_LABELS) == set(INCIDENT_KINDS) and set(CATEGORY_LABELS) == set(CATEGORIES)
assert set(PLATFORM_LABELS) == set(PLATFORMS)
assert set(ROLE_LABELS) == set(ROLES) and set(STATE_LABELS) == set(STATES)
assert set(STATUS_LABELS) == set(STATUSES) and set(RISK_LABELS) == set(RISKS)
