"""The permission table and the one decorator every staff view uses."""

from __future__ import annotations

import pytest

from reporter import access
from reporter.models.staff import ROLES


def test_every_role_has_an_entry_and_only_known_permissions():
    assert set(access.ROLE_PERMISSIONS) == set(ROLES)
    for permissions in access.ROLE_PERMISSIONS.values():
        assert access.OWN_ACCOUNT in permissions and permissions <= set(access.PERMISSIONS)


@pytest.mark.parametrize(("role", "permission", "allowed"), [
    ("admin", access.MANAGE_USERS, True),
    ("admin", access.VET_STAFF, False),  # admins invite but never vet
    ("admin", access.HANDLE_CASES, False),  # the person who runs the server reads no report
    ("coordinator", access.VET_STAFF, True),
    ("coordinator", access.MANAGE_USERS, False),
    ("focal_point", access.HANDLE_CASES, True),
    ("focal_point", access.VET_STAFF, False),
    ("auditor", access.READ_AUDIT, True),
    ("auditor", access.HANDLE_CASES, False),  # oversight without case content
    ("coordinator", access.READ_AUDIT, False),
    (None, access.OWN_ACCOUNT, False),
    ("superuser", access.OWN_ACCOUNT, False),
])
def test_separation_of_duties(role, permission, allowed):
    assert access.may(role, permission) is allowed


def test_only_focal_points_and_coordinators_handle_cases():
    assert {role for role in ROLES if access.may(role, access.HANDLE_CASES)} == {"focal_point", "coordinator"}


def test_unknown_permissions_are_a_programming_error():
    with pytest.raises(ValueError):
        access.may("admin", "read_everything")
    with pytest.raises(ValueError):
        access.require("read_everything")


def test_check_raises_access_denied():
    access.check("admin", access.MANAGE_USERS)
    with pytest.raises(access.AccessDenied):
        access.check("auditor", access.MANAGE_USERS)


def test_every_staff_view_declares_its_permission(app):
    public = {"staff.login", "staff.login_totp", "staff.recover", "staff.enroll"}
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("staff.") and endpoint not in public:
            assert getattr(view, "required_permission", None) in access.PERMISSIONS, endpoint
