"""Links that open one piece or idea: the same link for everyone, pasted into a chat or
kept as a bookmark, surviving a reload.

A link names the item in its query (`?piece=41`, `?idea=12`, `?post=7`), not the page: the page that
shows it depends on who opens it (an editor edits a piece, an approver reviews it; an
editor triages an idea, its contributor follows it on 'My ideas'). Whichever page a link
lands on, `route` sends it on to the page that shows that item to this user, and that
page opens the item (`follow`) and keeps it in the address while it is open (`keep`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from planner.models import Role
from planner.schemas import id_problem
from planner.ui import state

# Per kind of item, the pages that open it, in the order tried for a user's role.
OPENED_ON: dict[str, tuple[str, ...]] = {
    "piece": ("editor", "approvals"),
    "idea": ("inbox", "my_ideas"),
    "post": ("calendar",),
}
# Which pages each role may open (the navigation's own table, set by the app).
_pages_by_role: dict[Role, list[str]] = {}


def register(pages_by_role: dict[Role, list[str]]) -> None:
    """Tell links which pages each role may open."""
    _pages_by_role.clear()
    _pages_by_role.update(pages_by_role)


def page_for(kind: str, role: Role) -> str | None:
    """The page that opens an item of `kind` for a user of `role`; None if none does."""
    allowed = _pages_by_role.get(role, [])
    return next((page for page in OPENED_ON[kind] if page in allowed), None)


def requested(*, say: bool = False) -> tuple[str, int] | None:
    """The item the address asks for (`?piece=41`), if it names one; with `say`, a
    malformed one is said on the page."""
    for kind in OPENED_ON:
        value = st.query_params.get(kind)
        if value is None:
            continue
        # isascii: '²'.isdigit() holds but int('²') fails; id_problem bounds the number
        # to what an id column holds.
        if value.isascii() and value.isdigit() and id_problem(value) is None:
            return kind, int(value)
        if say and not _beyond_ids(value):  # a page that opens `kind` says that (`fresh`)
            st.warning(state.t("links.malformed", kind=state.t(f"links.kind.{kind}"), value=value))
    return None


def _beyond_ids(value: str) -> bool:
    """Whether `value` is a number above every id ('99999999999999999999'): well formed,
    but no item has it."""
    digits = value.isascii() and value.isdigit()
    return digits and value.strip("0") != "" and id_problem(value) is not None


def say_beyond(kind: str) -> None:
    """A link to an item of `kind` whose number is above every id is said, once, as an item
    this page does not have (`requested` passes it over)."""
    value = st.query_params.get(kind)
    if value is None or not _beyond_ids(value) or st.session_state.get(_followed(kind)) == value:
        return
    st.session_state[_followed(kind)] = value
    shown = value if len(value) <= 24 else value[:24] + "…"
    st.warning(state.t("links.not_here", kind=state.t(f"links.kind.{kind}"), id=shown))


def route(page: str, role: Role) -> None:
    """A link lands on the dashboard's start page (`page` ""): go on to the page that opens
    the linked item for `role` (keeping the link); a link to an item no page of this user
    shows is said so. On any other page the address is that page's own business."""
    if page:
        return
    asked = requested(say=True)
    if asked is None:
        # A number above every id goes on as well: the page that opens its kind says it.
        beyond = [k for k in OPENED_ON if _beyond_ids(st.query_params.get(k) or "")]
        if not beyond:
            return
        kind, item = beyond[0], str(st.query_params.get(beyond[0]))
    else:
        kind, item = asked[0], str(asked[1])
    target = page_for(kind, role)
    if target is None:
        shown = item if len(item) <= 24 else item[:24] + "…"
        st.warning(state.t("links.not_for_you", kind=state.t(f"links.kind.{kind}"), id=shown))
        return
    if target == _pages_by_role[role][0]:
        return  # the start page is the page that opens it: it is already here
    from planner.ui.app import page_path  # the app imports this module

    st.switch_page(page_path(target), query_params={kind: item})


def fresh(kind: str) -> int | None:
    """The linked item of `kind`, the first time this page sees this link (afterwards the
    user may pick another item, and the link must not pull them back)."""
    asked = requested()
    if asked is None or asked[0] != kind:
        say_beyond(kind)
        return None
    if st.session_state.get(_followed(kind)) == asked[1]:
        return None
    st.session_state[_followed(kind)] = asked[1]
    return asked[1]


def _followed(kind: str) -> str:
    """The session-state key of the last item of `kind` a link opened (or the page kept)."""
    return f"link_followed_{kind}"


def follow(kind: str, key: str, options: list[int]) -> None:
    """Open a freshly linked item in the picker `key` (call before the picker is drawn);
    a linked item not among `options` is said to be out of reach."""
    item_id = fresh(kind)
    if item_id is None:
        return
    if item_id in options:
        st.session_state[key] = item_id
    else:
        st.warning(state.t("links.not_here", kind=state.t(f"links.kind.{kind}"), id=item_id))


def keep(kind: str, item_id: int | None) -> None:
    """Put the open item in the address, so a reload or a copied address reopens it."""
    if item_id is None:
        st.query_params.pop(kind, None)
        return
    # Seen as followed: the address now follows the page, not the other way round.
    st.session_state[_followed(kind)] = item_id
    if st.query_params.get(kind) != str(item_id):
        st.query_params[kind] = str(item_id)


def address(kind: str, item_id: int) -> str:
    """The full link to an item, as this browser reaches the dashboard."""
    here = urlsplit(st.context.url or "")
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    root = f"{here.scheme}://{here.netloc}/" if here.netloc else "/"
    return f"{root}{base + '/' if base else ''}?{kind}={item_id}"


def show(kind: str, item_id: int) -> None:
    """The item's link, ready to copy."""
    st.text(state.t("links.copy", kind=state.t(f"links.kind.{kind}"), id=item_id))
    st.code(address(kind, item_id), language=None, wrap_lines=True)


def opened(kind: str, item_id: int) -> None:
    """An item a page opened: kept in the address (see `keep`), its link shown to copy."""
    keep(kind, item_id)
    show(kind, item_id)


def open_link(kind: str, item_id: int, role: Role, label: str) -> None:
    """A link that opens the item on the page that shows it to `role` (nothing if none does)."""
    target = page_for(kind, role)
    if target is None:
        return
    from planner.ui.app import page_path  # the app imports this module

    st.page_link(page_path(target), label=label, query_params={kind: str(item_id)})
