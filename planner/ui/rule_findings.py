"""The publishing rules' findings on a piece, and the overrides approvers wrote for it
(shown on Editor and Approvals); the form to override a blocking finding, on Approvals
and, for a draft, on the Editor (for those who may override)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlmodel import Session

from planner import pieces, rule_checks
from planner.errors import PlannerError
from planner.models import Channel, Piece, User
from planner.permissions import can
from planner.ui import keys, moves, state, widgets
from planner.ui.plain import md


def show_findings(
    session: Session,
    user: User,
    piece: Piece,
    channel: Channel,
    text: str,
    *,
    fixable: bool = False,
) -> list[rule_checks.RuleFinding]:
    """What the rules find in `text` (what `channel` would be sent), one alert each: a
    blocking finding as an error, a warning as a warning, the rest as information.

    With `fixable` (the editor), links without UTM parameters get a button that adds them
    and saves a new version, offered while `text` is saved as it is (nothing typed is lost).
    """
    assert channel.id is not None
    found = rule_checks.piece_findings(
        session, actor=user, piece=piece, channels=[channel], texts={channel.id: text}
    )
    for finding in found:
        said = md(moves.message(finding.message))
        if finding.overridden:
            st.info(state.t("rules.finding_overridden", finding=said))
        elif finding.severity == "block":
            st.error(state.t("rules.finding_block", finding=said))
        elif finding.severity == "warn":
            st.warning(state.t("rules.finding_warn", finding=said))
        else:
            st.info(state.t("rules.finding_info", finding=said))
    saved = piece.variants.get(str(channel.id)) or piece.body
    utm = any(f.kind == "utm_links" and not f.overridden for f in found)
    if fixable and utm and text == saved and piece.id is not None:
        st.button(
            state.t("rules.utm_fix"),
            key=f"{keys.EDITOR_UTM_FIX}{channel.id}",
            on_click=_fix_utm,
            args=(piece.id, piece.revision),
        )
        for message in st.session_state.pop(keys.EDITOR_UTM_ERROR, []):
            st.error(message)
    return found


def _fix_utm(piece_id: int, revision: int) -> None:
    """Button callback: add the UTM parameters and load the new version into the editor."""
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            fixed = pieces.add_utm_parameters(
                session, actor=user, piece_id=piece_id, expected_revision=revision
            )
        except PlannerError as err:
            st.session_state[keys.EDITOR_UTM_ERROR] = moves.error_text(err)
            return
    st.session_state[keys.EDITOR_DONE] = state.t("rules.utm_fixed", revision=fixed.revision)
    st.session_state[keys.EDITOR_LOADED] = None


def show_overrides(session: Session, user: User, piece: Piece) -> None:
    """The overrides approvers wrote for this piece, with their justifications."""
    assert piece.id is not None
    rows = rule_checks.list_overrides(session, actor=user, piece_id=piece.id)
    if not rows:
        return
    st.subheader(state.t("rules.overrides"))
    for row in rows:
        st.markdown(
            md(
                state.t(
                    "rules.override_line",
                    rule=row.rule,
                    channel=row.channel or state.t("rules.all_channels"),
                    approver=row.approver,
                    justification=row.justification,
                    revision=row.revision,
                )
            )
        )


@dataclass(frozen=True)
class OverridePlace:
    """Where the override form is drawn: its widgets' keys, where its error and its
    confirmation go (Approvals, or the Editor for a draft)."""

    pick: str
    why: str
    button: str
    errors: str
    done: str


APPROVALS = OverridePlace(
    keys.APPROVALS_OVERRIDE_PICK,
    keys.APPROVALS_OVERRIDE_WHY,
    keys.APPROVALS_OVERRIDE,
    keys.APPROVALS_ERROR,
    keys.APPROVALS_DONE,
)
EDITOR = OverridePlace(
    keys.EDITOR_OVERRIDE_PICK,
    keys.EDITOR_OVERRIDE_WHY,
    keys.EDITOR_OVERRIDE,
    keys.EDITOR_OVERRIDE_ERROR,
    keys.EDITOR_DONE,
)


def _override(
    place: OverridePlace, piece_id: int, revision: int, rule_id: int, channel_id: int, label: str
) -> None:
    """Button callback: override the picked finding for the revision that was shown."""

    def override(session: Session, user: User) -> object:
        return rule_checks.override_finding(
            session,
            actor=user,
            piece_id=piece_id,
            revision=revision,
            rule=rule_id,
            channel_id=channel_id,
            justification=st.session_state.get(place.why, ""),
        )

    def refused(messages: list[str]) -> None:
        st.session_state[place.errors] = {"override": messages}

    if not moves.attempt(override, refused):
        return
    st.session_state[place.why] = ""
    st.session_state[place.done] = state.t("rules.overridden", rule=label, revision=revision)


def override_form(
    piece: Piece,
    findings: list[rule_checks.RuleFinding],
    errors: list[str],
    *,
    place: OverridePlace = APPROVALS,
) -> None:
    """For an approver: pick a blocking finding and write why it does not apply."""
    blocking = [f for f in findings if f.blocks and f.rule_id is not None]
    if not blocking or piece.id is None:
        return
    t = state.t
    st.subheader(t("rules.override_heading"))
    labels = {i: f"{f.rule} ({f.channel})" for i, f in enumerate(blocking)}
    picked = widgets.labelled_choice(t("rules.override_pick"), labels, key=place.pick)
    finding = blocking[picked if picked in labels else 0]
    st.text_area(t("rules.override_why"), key=place.why, max_chars=2000)
    st.button(
        t("rules.override"),
        key=place.button,
        on_click=_override,
        args=(place, piece.id, piece.revision, finding.rule_id, finding.channel_id, finding.rule),
    )
    for message in errors:
        st.error(message)


def draft_override(user: User, piece: Piece, findings: list[rule_checks.RuleFinding]) -> None:
    """On the Editor, under a blocking finding on the saved text: the override form for
    those who may override (as on Approvals), the others told who can and where."""
    blocking = [f for f in findings if f.blocks and f.rule_id is not None]
    if not blocking or piece.id is None:
        return
    errors = (st.session_state.pop(EDITOR.errors, None) or {}).get("override", [])
    if can(user, "override_rules"):
        override_form(piece, blocking, errors, place=EDITOR)
    else:
        st.info(state.t("rules.who_overrides", piece=piece.id, revision=piece.revision))
