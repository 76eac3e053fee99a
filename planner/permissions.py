"""Who may do what: one table of permissions by role, checked by every service function."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from planner.errors import PermissionDenied
from planner.models import Idea, Role, User

_EDITORIAL = frozenset({Role.editor, Role.admin})
_ALL = frozenset(Role)

# Actions that are not workflow moves; workflow moves carry their roles in workflow.py.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "submit_idea": _ALL,
    "see_all_departments": frozenset({Role.editor, Role.approver, Role.admin}),
    "create_piece": _EDITORIAL,
    "edit_piece": _EDITORIAL,
    "view_pieces": frozenset({Role.editor, Role.approver, Role.admin}),
    "comment": frozenset({Role.editor, Role.approver, Role.admin}),
    "plan_posts": _EDITORIAL,
    "manage_users": frozenset({Role.admin}),
    "manage_departments": frozenset({Role.admin}),
    "manage_channels": frozenset({Role.admin}),
    "manage_audiences": frozenset({Role.admin}),
    "change_settings": frozenset({Role.admin}),
    "read_settings": frozenset({Role.admin}),
    "view_audit": frozenset({Role.editor, Role.approver, Role.admin}),
    "verify_audit": frozenset({Role.admin}),
    "backup_database": frozenset({Role.admin}),
    "restore_database": frozenset({Role.admin}),
    "view_process": _EDITORIAL,
    "view_approvals_report": frozenset({Role.admin}),
    "manage_rules": frozenset({Role.admin}),
    "override_rules": frozenset({Role.approver, Role.admin}),
    "view_inbox": frozenset({Role.editor, Role.approver, Role.admin}),
    "handle_inbox": _EDITORIAL,
    "approve_replies": frozenset({Role.approver, Role.admin}),
    "manage_feeds": _EDITORIAL,
    "collect_metrics": frozenset({Role.admin}),
}

_ACTION_TEXT = {
    "submit_idea": "submit ideas",
    "see_all_departments": "see other departments' ideas",
    "create_piece": "create pieces",
    "edit_piece": "edit pieces",
    "view_pieces": "view pieces",
    "comment": "comment on pieces",
    "plan_posts": "plan posts",
    "manage_users": "manage users",
    "manage_departments": "manage departments",
    "manage_channels": "manage channels",
    "manage_audiences": "manage audiences",
    "change_settings": "change settings",
    "read_settings": "read settings",
    "view_audit": "read the audit log",
    "verify_audit": "verify the audit log",
    "backup_database": "back up the database",
    "restore_database": "replace the database with a backup",
    "view_process": "see the process report",
    "view_approvals_report": "see the approvals report for audits",
    "manage_rules": "manage publishing rules",
    "override_rules": "override publishing rules",
    "view_inbox": "see every item of the listening inbox",
    "handle_inbox": "assign or dismiss inbox items",
    "approve_replies": "approve replies from the listening inbox",
    "manage_feeds": "manage followed feeds",
    "collect_metrics": "collect the figures of published posts now",
}


def can(actor: User, action: str) -> bool:
    """Whether `actor`'s role allows `action` (an unknown action is never allowed)."""
    return not actor.disabled and actor.role in PERMISSIONS.get(action, frozenset())


def require(actor: User, action: str) -> None:
    """Raise PermissionDenied unless `actor` may do `action`."""
    if actor.disabled:
        raise PermissionDenied(f"Account {actor.username!r} is disabled")
    if not can(actor, action):
        raise PermissionDenied(
            f"{actor.username!r} (role {actor.role.value}) may not "
            f"{_ACTION_TEXT.get(action, action)}"
        )


def require_active(actor: User) -> None:
    """Raise PermissionDenied if `actor`'s account is disabled (what every reader needs)."""
    if actor.disabled:
        raise PermissionDenied(f"Account {actor.username!r} is disabled")


def ideas_seen_by(actor: User) -> ColumnElement[bool]:
    """The ideas a contributor `actor` sees: their department's, and the ones they
    submitted themselves (also from a department they have since left)."""
    return or_(
        col(Idea.department_id) == actor.department_id, col(Idea.submitted_by_id) == actor.id
    )
