"""'Editor': master text and per-channel variants side by side, the target audience, history,
diff, restore, comments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlmodel import Session

from planner import audiences, channels, editing, ideas, pieces
from planner import preview as previews
from planner.errors import (
    EditConflict,
    IllegalTransition,
    NotFound,
    NothingToRestore,
    PermissionDenied,
    PlannerError,
    ValidationFailed,
)
from planner.models import Channel, Comment, Piece, PieceStatus, Revision, User
from planner.permissions import can
from planner.rule_checks import RuleFinding
from planner.ui import (
    form_tokens,
    keys,
    links,
    moves,
    rendered,
    rule_findings,
    state,
    unsaved,
    widgets,
)
from planner.ui.comments import show_comments
from planner.ui.media_section import show_media
from planner.ui.plain import md

# What the editor lists with its authors' names: a piece's revisions and its comments.
_Written = TypeVar("_Written", Revision, Comment)
_SAVE_FORM = "editor_save"
_COMMENT_FORM = "editor_comment"


def _errors() -> dict[str, str]:
    errors: dict[str, str] = st.session_state.get(keys.EDITOR_ERRORS, {})
    return errors


def _field_error(name: str) -> None:
    message = _errors().get(name)
    if message:
        st.error(f"{state.t('editor.field.' + name)}: {moves.message(message)}")


def _pick(session: Session, user: User) -> Piece | None:
    """Search and page through pieces; the chosen one, freshly read."""
    t = state.t
    linked = links.fresh("piece")
    if linked is not None:  # a link opens its piece: find it by its number
        st.session_state[keys.EDITOR_SEARCH] = f"#{linked}"
        st.session_state[keys.EDITOR_PAGE] = 1
        st.session_state[keys.EDITOR_PIECE] = linked
    search = st.text_input(t("editor.search"), key=keys.EDITOR_SEARCH)
    result = editing.search_pieces(
        session, actor=user, text=search, page=int(st.session_state.get(keys.EDITOR_PAGE, 1))
    )
    if st.session_state.get(keys.EDITOR_PAGE, 1) != result.page:
        st.session_state[keys.EDITOR_PAGE] = result.page
    if linked is not None and linked not in {h.id for h in result.hits}:
        st.warning(t("links.not_here", kind=t("links.kind.piece"), id=linked))
    if not result.hits:
        st.info(t("editor.none"))
        return None
    left, right = st.columns([3, 1])
    labels = {
        h.id: t("editor.hit", id=h.id, title=h.title, status=t(f"status.{h.status}"))
        for h in result.hits
    }
    picked = widgets.labelled_choice(
        t("editor.piece", total=result.total), labels, key=keys.EDITOR_PIECE, where=left
    )
    right.number_input(
        t("editor.page", pages=result.pages),
        min_value=1,
        max_value=result.pages,
        step=1,
        key=keys.EDITOR_PAGE,
    )
    if picked is None:
        return None
    links.keep("piece", int(picked))
    return pieces.get_piece(session, actor=user, piece_id=int(picked))


def _fill(piece: Piece, shown: list[Channel]) -> None:
    """Put the piece as saved into the widgets (on opening it, and after a save)."""
    st.session_state[keys.EDITOR_TITLE] = piece.title
    st.session_state[keys.EDITOR_BODY] = piece.body
    for channel in shown:
        st.session_state[unsaved.variant_key(channel.id)] = piece.variants.get(str(channel.id), "")
    st.session_state[keys.EDITOR_BASE] = piece.revision
    st.session_state[keys.EDITOR_LOADED] = piece.id
    st.session_state[keys.EDITOR_ERRORS] = {}
    st.session_state.pop(keys.EDITOR_CONFLICT, None)
    st.session_state.pop(keys.EDITOR_EXTRA_CHANNELS, None)


def _variants(
    session: Session, user: User, piece: Piece, shown: list[Channel], title: str, body: str
) -> list[RuleFinding]:
    """The channels' texts with their previews and findings; returns the rules' findings
    on the texts as saved (what an override would be for)."""
    t = state.t
    saved_findings: list[RuleFinding] = []
    if not shown:
        st.info(t("editor.no_channels"))
    for channel in shown:
        assert channel.id is not None
        text: str = st.text_area(
            t("editor.variant_for", channel=md(channel.name)),
            key=unsaved.variant_key(channel.id),
            height=150,
        )
        sent = text if text.strip() else body
        if not text.strip():
            st.caption(t("editor.uses_master"))
        preview = previews.preview_text(
            session, actor=user, channel_id=channel.id, text=sent, title=title
        )
        check = preview.check
        with st.expander(t("preview.for", channel=md(channel.name), kind=preview.kind_name)):
            rendered.show_preview(preview)
        st.text(rendered.count_line(check))
        for finding in check.findings:
            message = md(moves.message(finding.message))
            st.error(t("editor.finding", channel=md(channel.name), message=message))
        found = rule_findings.show_findings(session, user, piece, channel, sent, fixable=True)
        if sent == (piece.variants.get(str(channel.id)) or piece.body):
            saved_findings += found
    _field_error("variants")
    return saved_findings


def _save(session: Session, user: User, piece: Piece, shown: list[Channel]) -> None:
    """Save what is in the widgets as a new revision, from the revision the editor started on."""
    base = int(st.session_state.get(keys.EDITOR_BASE, piece.revision))
    data: dict[str, Any] = {
        "title": st.session_state.get(keys.EDITOR_TITLE, ""),
        "body": st.session_state.get(keys.EDITOR_BODY, ""),
        "variants": {
            c.id: st.session_state.get(unsaved.variant_key(c.id), "")
            for c in shown
            if c.id is not None
        },
        "note": st.session_state.get(keys.EDITOR_NOTE, ""),
    }
    assert piece.id is not None
    sent = {"piece": piece.id, "base": base, **data}
    piece_id = piece.id
    was_approved = piece.status == PieceStatus.approved
    try:
        done = form_tokens.send(
            _SAVE_FORM,
            sent,
            lambda token: pieces.edit_piece(
                session,
                actor=user,
                piece_id=piece_id,
                expected_revision=base,
                data=data,
                token=token,
            ),
            done=lambda saved: _saved_text(saved, was_approved),
        )
    except EditConflict as err:
        st.session_state[keys.EDITOR_CONFLICT] = {"mine": err.expected, "current": err.current}
        st.session_state[keys.EDITOR_ERRORS] = {}
    except ValidationFailed as err:
        st.session_state[keys.EDITOR_ERRORS] = err.fields
    except (IllegalTransition, PermissionDenied) as err:
        st.session_state[keys.EDITOR_ERRORS] = {"save": "; ".join(moves.error_text(err))}
    else:
        st.session_state[keys.EDITOR_DONE] = done
        st.session_state[keys.EDITOR_LOADED] = None
    st.rerun()


def _saved_text(saved: Piece, was_approved: bool) -> str:
    """What a save did: its revision, and that an approval it ended must be given again."""
    t = state.t
    said = t("editor.saved", revision=saved.revision)
    if was_approved and saved.status != PieceStatus.approved:
        said += " " + t("editor.approval_withdrawn")
    return said


def _conflict(session: Session, user: User, piece: Piece) -> None:
    """Someone saved first: say so, show their version, keep ours, offer both ways on."""
    t = state.t
    conflict = st.session_state.get(keys.EDITOR_CONFLICT)
    if not conflict:
        return
    st.error(t("editor.conflict", mine=conflict["mine"], current=conflict["current"]))
    with st.expander(t("editor.their_version", revision=piece.revision)):
        st.text(piece.title)
        st.text(piece.body)
    left, right = st.columns(2)
    if left.button(t("editor.rebase", revision=piece.revision), key=keys.EDITOR_REBASE):
        st.session_state[keys.EDITOR_BASE] = piece.revision
        st.session_state.pop(keys.EDITOR_CONFLICT, None)
        st.rerun()
    if right.button(t("editor.reload"), key=keys.EDITOR_RELOAD):
        unsaved.discard(session, user, piece)
        st.rerun()


def _idea_audience(session: Session, user: User, piece: Piece) -> int | None:
    """The audience the piece's idea names (a piece takes it when the idea is accepted)."""
    if piece.idea_id is None:
        return None
    try:
        return ideas.get_idea(session, actor=user, idea_id=piece.idea_id).audience_id
    except NotFound:
        return None


def _set_audience(piece_id: int, pick_key: str, names: dict[int, str]) -> None:
    """Button callback: give the piece the audience picked under `pick_key` (None: none of
    its own), named as the choice showed it (`names` by id)."""
    t = state.t
    chosen = st.session_state.get(pick_key)
    name = None if chosen is None else names[chosen]
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            audiences.set_piece_audience(session, actor=user, piece_id=piece_id, audience=name)
        except ValidationFailed:  # the one problem it names: no audience of that name now
            st.session_state[keys.EDITOR_AUDIENCE_ERROR] = t("editor.audience_unknown", name=name)
            return
        except PlannerError as err:
            st.session_state[keys.EDITOR_AUDIENCE_ERROR] = "; ".join(moves.error_text(err))
            return
    st.session_state.pop(keys.EDITOR_AUDIENCE_ERROR, None)
    st.session_state[keys.EDITOR_DONE] = (
        t("editor.audience_cleared") if name is None else t("editor.audience_saved", name=name)
    )


def _audience(session: Session, user: User, piece: Piece) -> None:
    """The piece's target audience (without one of its own, the one its idea names is said)
    and, for who may edit pieces, a choice of another or none; drawn once audiences exist.
    Rules and filters go by the piece's own audience."""
    t = state.t
    assert piece.id is not None
    names = audiences.audience_names(session, actor=user)
    if not names:
        return
    inherited = _idea_audience(session, user, piece)
    own = piece.audience_id
    if own is not None:
        line = t("editor.audience", name=names.get(own, ""))
    elif inherited is not None:
        line = t("editor.audience_inherited", name=names.get(inherited, ""))
    else:
        line = t("editor.audience_none")
    if not can(user, "edit_piece"):  # what audiences.set_piece_audience requires
        st.text(line)
        return
    shown, pick, apply = st.columns([2, 2, 1], vertical_alignment="bottom")
    shown.text(line)
    none = (
        t("editor.audience_no_own", name=names.get(inherited, ""))
        if inherited is not None
        else t("editor.audience_no")
    )
    labels: dict[int | None, str] = {None: none}
    labels.update(sorted(names.items(), key=lambda item: item[1].lower()))
    pick_key = f"{keys.EDITOR_AUDIENCE_PICK}{piece.id}_{own if own is not None else 'none'}"
    index = list(labels).index(own) if own in labels else 0
    widgets.labelled_choice(
        t("editor.audience_pick"), labels, key=pick_key, index=index, where=pick
    )
    apply.button(
        t("editor.audience_set"),
        key=keys.EDITOR_AUDIENCE_SET,
        on_click=_set_audience,
        args=(piece.id, pick_key, names),
    )
    error = st.session_state.pop(keys.EDITOR_AUDIENCE_ERROR, None)
    if error:
        st.error(error)


def _written(
    session: Session,
    user: User,
    piece: Piece,
    heading: str,
    read: Callable[..., list[_Written]],
) -> tuple[list[_Written], dict[int, str]]:
    """Under the subheader `heading`, the revisions or comments `read` lists for the piece,
    with the display names of their authors by user id."""
    assert piece.id is not None
    st.subheader(state.t(heading))
    written = read(session, actor=user, piece_id=piece.id)
    return written, editing.display_names(
        session, actor=user, user_ids={w.author_id for w in written}
    )


def _history(session: Session, user: User, piece: Piece) -> None:
    t = state.t
    assert piece.id is not None
    revisions, names = _written(session, user, piece, "editor.history", pieces.history)
    st.dataframe(
        [
            {
                t("editor.col.revision"): r.number,
                t("col.when"): state.when(r.created_at, user.timezone),
                t("editor.col.author"): names.get(r.author_id, ""),
                t("editor.col.note"): moves.message(pieces.revision_note(r.note)),
            }
            for r in reversed(revisions)
        ],
        hide_index=True,
    )
    numbers = [r.number for r in revisions]
    if len(numbers) < 2:
        return
    left, right = st.columns(2)
    old = left.selectbox(
        t("editor.diff_old"), options=numbers, index=len(numbers) - 2, key=keys.EDITOR_DIFF_OLD
    )
    new = right.selectbox(
        t("editor.diff_new"), options=numbers, index=len(numbers) - 1, key=keys.EDITOR_DIFF_NEW
    )
    diff = pieces.diff_revisions(session, actor=user, piece_id=piece.id, old=int(old), new=int(new))
    rendered.show_diff(diff, channels.channel_names(session, actor=user))
    older = [n for n in numbers if n != piece.revision]
    # A dict, not a lambda calling t(): AppTest formats values outside the script run.
    labels = {n: t("editor.revision", number=n) for n in reversed(older)}
    pick = widgets.labelled_choice(t("editor.restore_pick"), labels, key=keys.EDITOR_RESTORE_PICK)
    if st.button(t("editor.restore"), key=keys.EDITOR_RESTORE) and pick is not None:
        base = int(st.session_state.get(keys.EDITOR_BASE, piece.revision))
        try:
            restored = pieces.restore_revision(
                session, actor=user, piece_id=piece.id, number=int(pick), expected_revision=base
            )
        except EditConflict as err:
            st.session_state[keys.EDITOR_CONFLICT] = {"mine": err.expected, "current": err.current}
        except NothingToRestore as err:
            st.session_state[keys.EDITOR_ERRORS] = {"save": moves.message(err.reason)}
        except (IllegalTransition, PermissionDenied, ValidationFailed) as err:
            st.session_state[keys.EDITOR_ERRORS] = {"save": "; ".join(moves.error_text(err))}
        else:
            st.session_state[keys.EDITOR_DONE] = t(
                "editor.restored", number=pick, revision=restored.revision
            )
            st.session_state[keys.EDITOR_LOADED] = None
        st.rerun()


def _comments(session: Session, user: User, piece: Piece) -> None:
    t = state.t
    assert piece.id is not None
    st.subheader(t("editor.comments"))
    show_comments(session, user, pieces.list_comments(session, actor=user, piece_id=piece.id))
    form_tokens.before_drawing(
        _COMMENT_FORM, {keys.EDITOR_COMMENT: ""}, button=keys.EDITOR_COMMENT_ADD
    )
    st.text_area(
        t("editor.comment"),
        key=keys.EDITOR_COMMENT,
        max_chars=5000,
        help=t("comments.mention_hint"),
    )
    error = st.session_state.get(keys.EDITOR_COMMENT_ERROR)
    if error:
        st.error(f"{t('editor.field.comment')}: {error}")
    if st.button(t("editor.comment_add"), key=keys.EDITOR_COMMENT_ADD):
        sent = {"piece": piece.id, "body": st.session_state.get(keys.EDITOR_COMMENT, "")}
        piece_id = piece.id
        try:
            # A new comment shows in the list; only a repeated send needs a notice.
            done = form_tokens.send(
                _COMMENT_FORM,
                sent,
                lambda token: pieces.add_comment(
                    session, actor=user, piece_id=piece_id, body=str(sent["body"]), token=token
                ),
                done=lambda _comment: "",
            )
        except ValidationFailed as err:
            st.session_state[keys.EDITOR_COMMENT_ERROR] = "; ".join(
                moves.field_messages(err).values()
            )
        except PermissionDenied as err:
            st.session_state[keys.EDITOR_COMMENT_ERROR] = "; ".join(moves.error_text(err))
        else:
            if done:
                st.session_state[keys.EDITOR_DONE] = done
            st.session_state[keys.EDITOR_COMMENT_ERROR] = ""
        st.rerun()


def render() -> None:
    """Draw the page."""
    t = state.t
    with state.page("editor.heading") as (session, user):
        piece = _pick(session, user)
        if piece is None or piece.id is None:
            return
        planned = editing.variant_channels(session, actor=user, piece_id=piece.id)
        if (
            st.session_state.get(keys.EDITOR_LOADED) != piece.id
            or keys.EDITOR_TITLE not in st.session_state
        ):
            _fill(piece, planned)
            unsaved.restore(session, user, piece, planned)
        others = {
            c.id: c.name
            for c in channels.list_channels(session, actor=user, include_disabled=False)
            if c.id not in {p.id for p in planned}
        }
        state.show_done(keys.EDITOR_DONE)
        links.show("piece", piece.id)
        unsaved.keep(session, user, piece, planned)
        st.text(
            t(
                "editor.state",
                status=t(f"status.{piece.status}"),
                revision=piece.revision,
                base=st.session_state.get(keys.EDITOR_BASE, piece.revision),
            )
        )
        _audience(session, user, piece)
        if piece.status == PieceStatus.approved:
            st.info(t("editor.approved_note"))
        extra = st.multiselect(
            t("editor.extra_channels"),
            options=list(others),
            format_func=others.__getitem__,
            placeholder=t("widget.choose_options"),
            key=keys.EDITOR_EXTRA_CHANNELS,
        )
        shown = planned + [
            c for c in channels.list_channels(session, actor=user) if c.id in set(extra)
        ]
        master, variants = st.columns(2)
        with master:
            st.subheader(t("editor.master"))
            title: str = st.text_input(t("editor.title"), key=keys.EDITOR_TITLE, max_chars=200)
            _field_error("title")
            body: str = st.text_area(t("editor.body"), key=keys.EDITOR_BODY, height=300)
            st.text(t("editor.count_free", count=len(body), unit=t("editor.unit.characters")))
            _field_error("body")
        with variants:
            st.subheader(t("editor.variants"))
            found = _variants(session, user, piece, shown, title, body)
            rule_findings.draft_override(user, piece, found)
            rule_findings.show_overrides(session, user, piece)
        form_tokens.before_drawing(_SAVE_FORM, {keys.EDITOR_NOTE: ""}, button=keys.EDITOR_SAVE)
        st.text_input(t("editor.note"), key=keys.EDITOR_NOTE, max_chars=500)
        _field_error("note")
        if st.button(t("editor.save"), key=keys.EDITOR_SAVE, type="primary"):
            _save(session, user, piece, shown)
        _field_error("save")
        _conflict(session, user, piece)
        show_media(session, user, piece)
        _history(session, user, piece)
        _comments(session, user, piece)


render()
