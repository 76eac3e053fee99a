"""Rows people name by typing: channels, departments and audiences, found by name ignoring case."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, col, func, select

from planner.errors import NotFound
from planner.models import Audience, Channel, Department

Named = TypeVar("Named", Channel, Department, Audience)


def find_named(
    session: Session, model: type[Named], name: str, *, other_than: int | None = None
) -> Named | None:
    """The row of `model` called `name` (ignoring case and surrounding space), if any;
    with `other_than`, only a row other than the one of that id (a clash with its name)."""
    query = select(model).where(func.lower(model.name) == name.strip().lower())
    if other_than is not None:
        query = query.where(model.id != other_than)
    return session.exec(query).first()


def unknown_name(session: Session, model: type[Named], kind: str, ref: object) -> NotFound:
    """The error for a name (or id) that no row of `model` has; it lists the names there are."""
    names = session.exec(select(model.name).order_by(col(model.name)))
    known = ", ".join(names) or "none yet"
    return NotFound(kind, ref, f"known: {known}")


def get_named(session: Session, model: type[Named], kind: str, name: str) -> Named:
    """The row of `model` called `name` (ignoring case); NotFound lists the names there are."""
    found = find_named(session, model, name)
    if found is None:
        raise unknown_name(session, model, kind, name)
    return found


def names_by_id(session: Session, model: type[Named]) -> dict[int, str]:
    """The name of every row of `model`, by its id."""
    return {
        row_id: name
        for row_id, name in session.exec(select(model.id, model.name))
        if row_id is not None
    }
