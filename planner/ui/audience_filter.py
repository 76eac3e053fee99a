"""The audience filter that Calendar and Board share: all audiences, or one of them."""

from __future__ import annotations

from sqlmodel import Session

from planner import audiences
from planner.models import User
from planner.ui import keys, state, widgets


def pick(session: Session, user: User, page: str) -> int | None:
    """The audience chosen on `page` (None: all); drawn only once audiences exist."""
    names = audiences.audience_names(session, actor=user)
    if not names:
        return None
    labels: dict[int | None, str] = {None: state.t("audiences.all")}
    labels.update(sorted(names.items(), key=lambda item: item[1].lower()))
    chosen: int | None = widgets.labelled_choice(
        state.t("audiences.filter"), labels, key=keys.AUDIENCE_FILTER + page
    )
    return chosen
