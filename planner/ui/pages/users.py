"""'Users' (admins): the accounts, adding one, disabling, resetting a password, changing a role."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlmodel import Session
from streamlit.delta_generator import DeltaGenerator

from planner import users
from planner.errors import NotFound, PermissionDenied, ValidationFailed
from planner.models import Role, User
from planner.ui import access, keys, moves, state, widgets
from planner.ui.i18n import LANGUAGES

_ADD_FIELDS = {
    "username": keys.USERS_ADD_USERNAME,
    "display_name": keys.USERS_ADD_NAME,
    "email": keys.USERS_ADD_EMAIL,
    "role": keys.USERS_ADD_ROLE,
    "department": keys.USERS_ADD_DEPARTMENT,
    "password": keys.USERS_ADD_PASSWORD,
    "locale": keys.USERS_ADD_LOCALE,
}


def _show_errors(err: ValidationFailed, slots: dict[str, DeltaGenerator]) -> None:
    """Each message under the field it is about; the rest where the form ends."""
    for name, message in err.fields.items():
        text = f"{state.t('users.field.' + name)}: {moves.message(message)}"
        slots.get(name, slots["_form"]).error(text)


def _role_labels() -> dict[str, str]:
    # Looked up now: a format function may be called outside the run (AppTest does).
    return {r.value: state.t(f"role.{r.value}") for r in Role}


def _department_labels(departments: list[str]) -> dict[str, str]:
    return {"": state.t("users.no_department"), **{d: d for d in departments}}


def _state(user: User) -> str:
    if user.disabled:
        return state.t("users.state.disabled")
    return state.t("users.state.active")


def _add_form(session: Session, actor: User, departments: list[str]) -> None:
    t = state.t
    st.subheader(t("users.add"))
    slots: dict[str, DeltaGenerator] = {}
    with st.form(keys.USERS_ADD_FORM):
        st.text_input(t("users.username"), max_chars=64, key=keys.USERS_ADD_USERNAME)
        slots["username"] = st.empty()
        st.text_input(t("users.name"), max_chars=120, key=keys.USERS_ADD_NAME)
        slots["display_name"] = st.empty()
        st.text_input(t("users.email"), max_chars=254, key=keys.USERS_ADD_EMAIL)
        slots["email"] = st.empty()
        st.selectbox(
            t("users.role"),
            options=[r.value for r in Role],
            format_func=_role_labels().__getitem__,
            key=keys.USERS_ADD_ROLE,
        )
        slots["role"] = st.empty()
        st.selectbox(
            t("users.department"),
            options=["", *departments],
            format_func=_department_labels(departments).__getitem__,
            key=keys.USERS_ADD_DEPARTMENT,
        )
        slots["department"] = st.empty()
        st.text_input(t("users.password"), type="password", key=keys.USERS_ADD_PASSWORD)
        slots["password"] = st.empty()
        widgets.labelled_choice(t("users.locale"), LANGUAGES, key=keys.USERS_ADD_LOCALE)
        slots["locale"] = st.empty()
        submitted = st.form_submit_button(t("users.submit"), key=keys.USERS_ADD_SUBMIT)
        slots["_form"] = st.container()
    if not submitted:
        return
    data = {name: st.session_state.get(key) for name, key in _ADD_FIELDS.items()}
    data = {name: value for name, value in data.items() if value not in (None, "")}
    try:
        new = users.create_user(session, actor=actor, data=data)
    except ValidationFailed as err:
        slots["_form"].error(t("users.invalid"))
        _show_errors(err, slots)
        return
    state.rerun_with_notice(
        keys.USERS_DONE, t("users.added", username=new.username), forget=_ADD_FIELDS.values()
    )


def _manage(
    session: Session,
    actor: User,
    accounts: list[User],
    departments: list[str],
    department_of: dict[int | None, str],
) -> None:
    t = state.t
    st.subheader(t("users.manage"))
    names = [u.username for u in accounts]
    picked = st.selectbox(t("users.pick"), options=names, key=keys.USERS_PICK)
    target = next((u for u in accounts if u.username == picked), None)
    if target is None:
        return
    result = st.container()

    def act(
        change: Callable[..., object], done: str, slot: DeltaGenerator, **values: object
    ) -> None:
        """`change` the picked account with `values`; say `done`, or in `slot` why not."""
        try:
            change(session, actor=actor, username=target.username, **values)
        except ValidationFailed as err:
            for name, message in err.fields.items():
                slot.error(f"{t('users.field.' + name)}: {moves.message(message)}")
            return
        except (NotFound, PermissionDenied) as err:
            slot.error("; ".join(moves.error_text(err)))
            return
        state.rerun_with_notice(keys.USERS_DONE, done)

    toggle_label = t("users.enable") if target.disabled else t("users.disable")
    if st.button(toggle_label, key=keys.USERS_TOGGLE):
        act(
            users.set_disabled,
            t(
                "users.enabled_done" if target.disabled else "users.disabled_done",
                username=target.username,
            ),
            result,
            disabled=not target.disabled,
        )
    st.text_input(t("users.new_password"), type="password", key=keys.USERS_NEW_PASSWORD)
    password_slot = st.container()
    if st.button(t("users.reset"), key=keys.USERS_RESET):
        password = st.session_state.get(keys.USERS_NEW_PASSWORD, "")
        act(
            users.set_password,
            t("users.reset_done", username=target.username),
            password_slot,
            password=password,
            keep_session=st.session_state.get(keys.SESSION_TOKEN),  # this tab stays signed in
        )
    roles = [r.value for r in Role]
    role = st.selectbox(
        t("users.new_role"),
        options=roles,
        index=roles.index(target.role),
        format_func=_role_labels().__getitem__,
        key=f"{keys.USERS_ROLE}_{target.id}",
    )
    options = ["", *departments]
    own = department_of.get(target.department_id, "")
    key = f"{keys.USERS_ROLE_DEPARTMENT}_{target.id}"
    # The account's own department, as stored now: also after another admin (or the
    # command line) changed it since the box was drawn.
    if key not in st.session_state or st.session_state.get(key + "_shown") != own:
        st.session_state[key] = own if own in options else ""
    st.session_state[key + "_shown"] = own
    department = st.selectbox(
        t("users.role_department"),
        options=options,
        format_func=_department_labels(departments).__getitem__,
        key=key,
    )
    role_slot = st.container()
    if st.button(t("users.role_save"), key=keys.USERS_ROLE_SAVE):
        act(
            users.change_role,
            t("users.role_done", username=target.username, role=t(f"role.{role}")),
            role_slot,
            role=role,
            # Only a department the admin picked: the one shown is kept as stored.
            department=department if department and department != own else None,
        )
    _email(session, actor, target, act)


def _email(
    session: Session,
    actor: User,
    target: User,
    act: Callable[..., None],
) -> None:
    """The address single sign-on matches the account by (empty removes it)."""
    t = state.t
    address = st.text_input(
        t("users.sso_email"),
        value=target.email or "",
        max_chars=254,
        key=f"{keys.USERS_EMAIL}_{target.id}",
    )
    slot = st.container()
    if st.button(t("users.sso_email_save"), key=keys.USERS_EMAIL_SAVE):
        act(
            users.set_email,
            t("users.sso_email_done", username=target.username),
            slot,
            email=address.strip() or None,
        )


def render() -> None:
    """Draw the page."""
    t = state.t
    with access.page("users", keys.USERS_DONE) as (session, actor):
        accounts = users.list_users(session, actor=actor)
        deps = users.list_departments(session, actor=actor)
        dep_names = {d.id: d.name for d in deps}
        st.dataframe(
            [
                {
                    t("users.col.username"): u.username,
                    t("users.col.name"): u.display_name,
                    t("users.col.role"): t(f"role.{u.role}"),
                    t("users.col.department"): dep_names.get(u.department_id, ""),
                    t("users.col.state"): _state(u),
                }
                for u in accounts
            ],
            hide_index=True,
        )
        departments = [d.name for d in deps]
        _add_form(session, actor, departments)
        _manage(session, actor, accounts, departments, dep_names)


render()
