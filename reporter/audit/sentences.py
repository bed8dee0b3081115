"""What each audit action means, as one sentence an auditor reads, in their language.

One table keyed by the action code the chain stores. tests/test_audit_sentences.py scans the source
for every action the code can write and fails, naming the action and where it is written, when one
has no sentence here, so a new kind of event cannot reach auditors as a bare code. An action missing
from the table (an old event, or a row an insider wrote) is shown by its code, never hidden.

A sentence may name these values, filled in by the auditor's pages from the event:
``%(object)s`` (the case, person or key the event is about), ``%(from)s`` and ``%(to)s`` (what
changed), ``%(staff)s`` (the person a detail names) and ``%(until)s`` (a date). The subject is the
actor, shown beside the sentence.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
PLACEHOLDERS = frozenset({"object", "from", "to", "staff", "until"})

SENTENCES: dict[str, LazyString] = {
    # Reporters and follow-up
    "report.submitted": _l("Submitted a report: case %(object)s"),
    "report.entered_by_staff": _l("Entered a report for someone who called or came in: case %(object)s"),
    "followup.opened": _l("Opened case %(object)s with its receipt"),
    "followup.denied": _l("Was refused follow-up: the receipt did not match"),
    "followup.throttled": _l("Was slowed down after too many follow-up attempts"),
    "followup.purged_case": _l("Used the receipt of destroyed case %(object)s"),
    "followup.platform_response_recorded": _l("Recorded what a platform did, on case %(object)s"),
    "followup.online_detail_added": _l("Added a place online to case %(object)s"),
    "case.reporter_message": _l("Sent a message on case %(object)s"),
    "followup.referral_consent_changed": _l("Changed whether a partner organisation may receive case "
                                            "%(object)s"),
    # Case work
    "case.viewed": _l("Opened case %(object)s"),
    "case.exported": _l("Exported case %(object)s"),
    "attachment.downloaded": _l("Downloaded a file of case %(object)s"),
    "case.status_changed": _l("Changed the status of case %(object)s from %(from)s to %(to)s"),
    "case.risk_changed": _l("Changed the risk of case %(object)s from %(from)s to %(to)s"),
    "case.assessed": _l("Assessed the risk of case %(object)s as %(to)s"),
    "case.note_added": _l("Added a note to case %(object)s"),
    "case.message_sent": _l("Sent a message to the reporter of case %(object)s"),
    "case.platform_response_recorded": _l("Recorded what a platform did, on case %(object)s"),
    "case.referred": _l("Re-sealed case %(object)s to %(to)s"),
    "case.referred_to_partner": _l("Sent case %(object)s, sealed, to a partner organisation"),
    "partner.registered": _l("Registered partner organisation %(object)s"),
    "partner.confirmed": _l("Confirmed the key fingerprint of partner organisation %(object)s"),
    "partner.retired": _l("Retired partner organisation %(object)s"),
    "case.routed": _l("Sealed case %(object)s to more people"),
    "case.escalated": _l("Escalated case %(object)s: its deadline passed"),
    "case.escalating": _l("Flagged case %(object)s escalating (online to offline harm): risk %(to)s"),
    "case.escalation_cleared": _l("Marked case %(object)s no longer escalating"),
    "case.access_denied": _l("Was refused access to case %(object)s"),
    "case.integrity_failure": _l("Found that part of case %(object)s does not verify"),
    "case.retention_extended": _l("Kept case %(object)s longer, until %(until)s"),
    "case.purged": _l("Destroyed case %(object)s at the end of its retention"),
    "report.needs_routing": _l("Flagged case %(object)s: nobody holds it any more"),
    "routing.rule_saved": _l("Saved a routing rule"),
    "routing.rule_deleted": _l("Deleted a routing rule"),
    "campaign.created": _l("Made campaign %(object)s"),
    "campaign.case_added": _l("Added case %(object)s to a campaign"),
    "campaign.case_removed": _l("Took case %(object)s out of a campaign"),
    "replies.template_added": _l("Added a reply template"),
    "replies.template_deleted": _l("Deleted a reply template"),
    # Staff accounts
    "staff.login": _l("Logged in"),
    "staff.logout": _l("Logged out"),
    "staff.login.failed": _l("Failed to log in as %(object)s"),
    "staff.login.throttled": _l("Was slowed down after too many login attempts"),
    "staff.login.awaiting_vetting": _l("Logged in before being vetted"),
    "staff.password_changed": _l("Changed their password"),
    "staff.password_reset": _l("Reset their password with their recovery code"),
    "staff.recovery_code_renewed": _l("Made a new recovery code"),
    "staff.invited": _l("Invited %(object)s"),
    "staff.enrolment.password_chosen": _l("Chose a password while enrolling"),
    "staff.enrolled": _l("Finished enrolling"),
    "staff.activated": _l("Activated %(object)s"),
    "staff.vetted": _l("Vetted %(object)s"),
    "staff.suspended": _l("Suspended %(object)s"),
    "staff.reinstated": _l("Reinstated %(object)s"),
    "staff.offboarding_requested": _l("Asked to offboard %(object)s"),
    "staff.offboarded": _l("Offboarded %(object)s"),
    "directory.integrity_failure": _l("Found a directory record that does not verify: %(object)s"),
    # Keys
    "keys.staff_renewal_requested": _l("Asked for a new key pair for %(object)s"),
    "keys.staff_renewed": _l("Made a new key pair and re-sealed their cases"),
    "keys.recovered": _l("Recovered case %(object)s for %(staff)s with the escrow key"),
    "keys.campaigns_recovered": _l("Recovered the campaign keys of %(object)s with the escrow key"),
    "keys.rotated": _l("Replaced the instance key %(object)s"),
    "keys.escrow_rotated": _l("Replaced the escrow key"),
    "keys.links_reindexed": _l("Indexed the accounts of every case again with the escrow key"),
    "audit.key_rotated": _l("Replaced the key that signs the audit log"),
    # The audit log itself
    "audit.exported": _l("Exported the audit log as CSV"),
    "audit.head_exported": _l("Downloaded the signed head of the audit log"),
    "audit.head_mailed": _l("E-mailed the signed head of the audit log to the auditors"),
    # Statistics (aggregate counts only; the detail names the period and the region)
    "stats.viewed": _l("Viewed the statistics"),
    "stats.exported": _l("Exported the statistics as CSV"),
    # The installation
    "instance.initialised": _l("Set up this installation"),
    "instance.restored": _l("Restored this installation from a backup"),
    "backup.created": _l("Made an encrypted backup"),
    "database.copied": _l("Copied the database from %(from)s to %(to)s"),
    "vault.orphans_removed": _l("Removed attachment files no case accounts for, left unreadable by "
                                "interrupted submissions"),
}

#: The labels of the values an event's detail holds, by key; an unknown key is shown as its code.
DETAIL_LABELS: dict[str, LazyString] = {
    "from": _l("From"),
    "campaign": _l("Campaign"),
    "campaigns": _l("Campaigns"),
    "to": _l("To"),
    "entry": _l("Entry"),
    "files": _l("Files"),
    "older_than_minutes": _l("Older than (minutes)"),
    "attachment": _l("File"),
    "copy": _l("Copy"),
    "attempted": _l("Attempted"),
    "reason": _l("Reason"),
    "part": _l("Part"),
    "deadline": _l("Deadline"),
    "until": _l("Until"),
    "since": _l("Since"),
    "decision": _l("Decision"),
    "added": _l("Sealed to"),
    "routed_to": _l("Sealed to"),
    "possible_flood": _l("Possible flood"),
    "staff": _l("Staff member"),
    "requested_by": _l("Requested by"),
    "cases_resealed": _l("Cases re-sealed"),
    "cases_flagged": _l("Cases flagged"),
    "resealed": _l("Cases re-sealed"),
    "unopened": _l("Not opened"),
    "sealed": _l("Sealed"),
    "role": _l("Role"),
    "region": _l("Region"),
    "console_approved": _l("Approved at the console"),
    "by": _l("By"),
    "country": _l("Country"),
    "category": _l("Category"),
    "language": _l("Language"),
    "members": _l("Members"),
    "rows": _l("Rows"),
    "head": _l("Head"),
    "limit": _l("Limit"),
    "step": _l("Step"),
    "version": _l("Version"),
    "key_id": _l("Key id"),
    "public_key": _l("Public key"),
    "backup_created_at": _l("Backup made at"),
    "actor": _l("Actor"),
    "action": _l("Action"),
    "object_id": _l("Object"),
}
