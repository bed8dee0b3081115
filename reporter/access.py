"""Roles and permissions: the one place that says who may do what on the staff side.

Every staff view declares the permission it needs with ``@require(permission)``, and every domain
operation that depends on a role asks `may()` or uses a role set derived here (`roles_with`); no
other module compares role names. The table below is the whole policy;
tests/security/test_authorization_matrix.py checks every registered route against it for every role,
and tests/test_layout.py fails when a role name is compared anywhere else. Permissions are the first
wall; cryptography is the second: a person can decrypt only cases sealed to their own key, whatever a
bug here might allow.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from reporter.models.staff import ROLES


class AccessDenied(Exception):
    """The person's role does not grant the permission needed."""


#: Any logged-in staff member: their home page, their own password, logging out.
OWN_ACCOUNT = "own_account"
#: Invite staff, ask for someone to be offboarded, suspend someone, see the staff list (admin).
MANAGE_USERS = "manage_users"
#: Confirm an offboarding an admin asked for, reinstate a suspended person: the second pair of eyes
#: (coordinator; never for their own request).
CONFIRM_OFFBOARDING = "confirm_offboarding"
#: Approve or reject an enrolled person (coordinator; never their own invitee, never themselves).
VET_STAFF = "vet_staff"
#: Work on cases sealed to oneself (focal points and coordinators; cases come with triage).
HANDLE_CASES = "handle_cases"
#: Set routing rules for one's region (coordinator).
MANAGE_ROUTING = "manage_routing"
#: Read, verify and export the audit log (auditor).
READ_AUDIT = "read_audit"
#: Aggregate statistics with small-cell suppression (coordinator, auditor).
READ_STATS = "read_stats"
#: Retention, form options, system health (admin).
CONFIGURE_SYSTEM = "configure_system"
#: Keep a closed case one more retention period, once, with a sealed reason (coordinator).
EXTEND_RETENTION = "extend_retention"
#: Keep the list of reply templates focal points start messages from (coordinator).
MANAGE_REPLIES = "manage_replies"
#: See which accounts appear in the most cases of one's region this quarter (coordinator).
LINK_ACCOUNTS = "link_accounts"
#: Enter a report for someone who called or came in person: the reporter's form and pipeline, marked as
#: entered by staff (focal points and coordinators).
ENTER_REPORTS = "enter_reports"
#: Register, confirm (never one's own registration) and retire partner organisations (coordinator).
MANAGE_PARTNERS = "manage_partners"
#: Link cases one holds by hand into a named campaign, and see the campaigns one may (focal points,
#: coordinators; reporter.cases.campaigns).
MANAGE_CAMPAIGNS = "manage_campaigns"
#: Named in routing rules: receives the cases a rule of their country matches (focal point).
ROUTED_BY_RULE = "routed_by_rule"
#: Receives every case of their country, and, when a country has nobody in this role, every case of
#: that country, so that a report always reaches someone able to route it (coordinator).
OVERSEES_REGION = "oversees_region"

PERMISSIONS = (OWN_ACCOUNT, MANAGE_USERS, CONFIRM_OFFBOARDING, VET_STAFF, HANDLE_CASES, MANAGE_ROUTING,
               READ_AUDIT, READ_STATS, CONFIGURE_SYSTEM, ROUTED_BY_RULE, OVERSEES_REGION, EXTEND_RETENTION,
               MANAGE_REPLIES, LINK_ACCOUNTS, ENTER_REPORTS, MANAGE_PARTNERS, MANAGE_CAMPAIGNS)

#: The matrix: role -> permissions. Admins run the installation but read no case and vet nobody;
#: auditors read the trail but no case; only focal points and coordinators handle cases.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "focal_point": frozenset({OWN_ACCOUNT, HANDLE_CASES, ROUTED_BY_RULE, ENTER_REPORTS, MANAGE_CAMPAIGNS}),
    "coordinator": frozenset({OWN_ACCOUNT, HANDLE_CASES, OVERSEES_REGION, VET_STAFF, CONFIRM_OFFBOARDING,
                              MANAGE_ROUTING, READ_STATS, EXTEND_RETENTION, MANAGE_REPLIES, LINK_ACCOUNTS,
                              ENTER_REPORTS, MANAGE_PARTNERS, MANAGE_CAMPAIGNS}),
    "auditor": frozenset({OWN_ACCOUNT, READ_AUDIT, READ_STATS}),
    "admin": frozenset({OWN_ACCOUNT, MANAGE_USERS, CONFIGURE_SYSTEM}),
}
assert set(ROLE_PERMISSIONS) == set(ROLES)
assert all(perms <= set(PERMISSIONS) for perms in ROLE_PERMISSIONS.values())


def may(role: str | None, permission: str) -> bool:
    """Tell whether `role` grants `permission` (unknown roles grant nothing)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission in ROLE_PERMISSIONS.get(role or "", frozenset())


def roles_with(permission: str) -> tuple[str, ...]:
    """Return the roles that grant `permission`, in the order of ROLES."""
    return tuple(role for role in ROLES if may(role, permission))


#: The roles that may hold a case (a seal of its data key): exactly those that handle cases.
HOLDER_ROLES = roles_with(HANDLE_CASES)
#: People in these roles work for one country, their region; the others for the whole installation.
REGIONAL_ROLES = HOLDER_ROLES
#: While nobody may vet, the server console approves people in these roles on enrolment, so that an
#: installation can start: somebody who invites and somebody who vets (see reporter.staff.lifecycle).
BOOTSTRAP_ROLES = tuple(role for role in ROLES if may(role, MANAGE_USERS) or may(role, VET_STAFF))


def stats_region(role: str | None, region: str | None) -> str | None:
    """Return the country whose statistics a person reads: their region, or None (all) for the others.

    Raises AccessDenied for a person without READ_STATS, and for a regional person with no region
    (who must never fall back to every country).
    """
    check(role, READ_STATS)
    if role in REGIONAL_ROLES:
        if not region:
            raise AccessDenied(READ_STATS)
        return region
    return None


def check(role: str | None, permission: str) -> None:
    """Raise AccessDenied unless `role` grants `permission`."""
    if not may(role, permission):
        raise AccessDenied(permission)


View = TypeVar("View", bound=Callable[..., Any])


def require(permission: str) -> Callable[[View], View]:
    """Decorate a view: anonymous visitors go to the login page, the wrong role gets 403."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            from flask import abort
            from flask_login import current_user

            from reporter.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not may(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_permission = permission  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator
