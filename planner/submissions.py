"""One-time form tokens: a form sent twice (a double click, a resent request) creates one thing.

A form carries a token; the function that creates the form's thing spends the token in the
same transaction that stores the thing (a row in `form_submissions` whose primary key is
the token). A second send with a spent token creates nothing and raises `AlreadySent`,
which names what the first send created. Two sends at the same moment both get past the
first look; the database's primary key lets only one of them commit, and the other's whole
transaction is rolled back and answered the same way. A token of None (the command line,
where each call is one intent) is never checked or stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TypedDict, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete

from planner import audit
from planner.db import all_or_nothing
from planner.errors import AlreadySent, Message, ValidationFailed
from planner.models import FormSubmission, User, utcnow

_Row = TypeVar("_Row", bound=audit.Stored)


class StoredAs(TypedDict):
    """How `store_rows` audits each row it stores."""

    object_type: str
    action: str
    to_state: str


TOKEN_MAX_LENGTH = 64
KEPT_FOR = timedelta(days=1)  # spent tokens older than this are pruned on the next spend


def _check(token: str) -> None:
    if not token or len(token) > TOKEN_MAX_LENGTH or not token.isprintable():
        raise ValidationFailed(
            {
                "token": Message(
                    "bad_form_token",
                    "a form token has 1 to {max} printable characters",
                    max=TOKEN_MAX_LENGTH,
                )
            }
        )


def _refusal(spent: FormSubmission, actor: User) -> AlreadySent:
    if spent.user_id != actor.id:
        # Another user's token: say nothing about what it created.
        return AlreadySent(spent.action, None)
    return AlreadySent(spent.action, spent.object_id)


def refuse_spent(session: Session, *, actor: User, token: str | None) -> None:
    """Raise AlreadySent when `token` was spent already; a token of None passes."""
    if token is None:
        return
    _check(token)
    spent = session.get(FormSubmission, token)
    if spent is not None:
        raise _refusal(spent, actor)


def spend(
    session: Session, *, actor: User, token: str | None, action: str, object_id: int | None
) -> None:
    """Spend `token` for the `action` that created `object_id`, inside the caller's
    transaction (flushed, not committed); prune tokens older than a day on the way."""
    if token is None:
        return
    _check(token)
    assert actor.id is not None
    session.exec(delete(FormSubmission).where(col(FormSubmission.created_at) < utcnow() - KEPT_FOR))
    session.add(FormSubmission(token=token, user_id=actor.id, action=action, object_id=object_id))
    session.flush()


@contextmanager
def first_use(session: Session, *, actor: User, token: str | None) -> Iterator[None]:
    """Run the block that creates a form's thing (and calls `spend`) once per token.

    A spent token is refused before the block runs. When a concurrent send spent the
    token first, the block's insert of it fails: the whole transaction is rolled back and
    AlreadySent names what the other send created.
    """
    refuse_spent(session, actor=actor, token=token)
    try:
        yield
    except IntegrityError as err:
        session.rollback()
        if token is None:
            raise
        spent = session.get(FormSubmission, token)
        if spent is None:
            raise
        raise _refusal(spent, actor) from err


def store_rows(
    session: Session,
    *,
    actor: User,
    token: str | None,
    rows: Sequence[_Row],
    stored_as: StoredAs,
    note: Callable[[_Row], str] = lambda row: "",
    then: Callable[[], None] | None = None,
) -> None:
    """Store prepared `rows` with one audit event each, all in one transaction.

    A form `token` is spent in that transaction for the rows' object type, naming the first.
    `then` runs in the same transaction once the rows have their ids: what it writes is
    stored with them, and when it raises, nothing is.
    """
    with first_use(session, actor=actor, token=token), all_or_nothing(session):
        for row in rows:
            audit.record_change(session, row, actor=actor, **stored_as, note=note(row))
        first = rows[0].id if rows else None
        spend(session, actor=actor, token=token, action=stored_as["object_type"], object_id=first)
        if then is not None:
            then()
