"""Single sign-on: a company identity (OpenID Connect ID token) becomes a planner user.

The dashboard signs people in with Streamlit's `st.login` against the company's identity
provider (Entra ID, Keycloak, Google Workspace, ...). What the provider vouches for is
the e-mail address in the ID token; it is matched, ignoring case, to `User.email`. Local
accounts with passwords stay as they are, for small teams and for admins when the
provider is down.

`streamlit_secrets` writes the `[auth]` section Streamlit reads, from the planner's own
settings (`planner.config.load_oidc_settings`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from sqlmodel import Session

from planner import audit, users
from planner.config import OidcSettings
from planner.errors import PlannerError
from planner.models import User

METHOD = "sso"

# Why a company identity was not let in; the dashboard says each in the user's language.
NO_EMAIL = "no_email"
UNVERIFIED = "unverified"
UNKNOWN = "unknown"
AMBIGUOUS = "ambiguous"
DISABLED = "disabled"

_TEXTS = {
    NO_EMAIL: "the identity provider sent no e-mail address",
    UNVERIFIED: "the identity provider has not verified the e-mail address {email}",
    UNKNOWN: "no planner account has the e-mail address {email}",
    AMBIGUOUS: "more than one planner account has the e-mail address {email}",
    DISABLED: "the planner account with the e-mail address {email} is disabled",
}


class SsoRefused(PlannerError, PermissionError):
    """A company identity that may not sign in; `reason` is one of the constants above.

    `email` is the address the provider sent (shown to the person it belongs to, never
    stored in full for someone without an account).
    """

    def __init__(self, reason: str, email: str = "") -> None:
        self.reason = reason
        self.email = email
        super().__init__("Single sign-on refused: " + _TEXTS[reason].format(email=email))


def mask_email(email: str) -> str:
    """An address as the audit trail keeps it for strangers: `a***@example.com`."""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def _verified(value: object) -> bool:
    """`email_verified` as providers send it: a boolean, or the string "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return value is not False


def sign_in(session: Session, claims: Mapping[str, object]) -> User:
    """The planner user a company identity stands for; every try is audited.

    `claims` are the ID token's claims as Streamlit passes them on (`st.user`); the token
    was checked by Streamlit (signature, issuer, audience, expiry, nonce) before.
    Raises `SsoRefused` when there is no e-mail, the provider says it is not verified,
    no account or more than one has it, or the account is disabled.
    """
    raw = claims.get("email")
    email = raw.strip() if isinstance(raw, str) else ""
    if not email:
        _refuse(session, NO_EMAIL, object_id="unknown")
    if not _verified(claims.get("email_verified", True)):
        _refuse(session, UNVERIFIED, email, object_id=mask_email(email))
    matches = users.with_email(session, email)
    if not matches:
        _refuse(session, UNKNOWN, email, object_id=mask_email(email))
    if len(matches) > 1:
        ids = ", ".join(str(user.id) for user in sorted(matches, key=lambda u: u.id or 0))
        _refuse(session, AMBIGUOUS, email, object_id=mask_email(email), note=f"users {ids}")
    (user,) = matches
    if user.disabled:
        note = f"method {METHOD}; account disabled"
        audit.record_change(
            session, user, actor=user, object_type="user", action="login_refused", note=note
        )
        session.commit()
        raise SsoRefused(DISABLED, email)
    note = f"method {METHOD}"
    audit.record_change(session, user, actor=user, object_type="user", action="login", note=note)
    session.commit()
    return user


def _refuse(
    session: Session, reason: str, email: str = "", *, object_id: str, note: str = ""
) -> NoReturn:
    audit.record(
        session,
        actor=None,
        actor_name="anonymous",
        object_type="user",
        object_id=object_id,
        action="login_failed",
        note=f"method {METHOD}; {reason}" + (f"; {note}" if note else ""),
    )
    session.commit()
    raise SsoRefused(reason, email)


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def streamlit_secrets(settings: OidcSettings) -> str:
    """The `[auth]` section of Streamlit's secrets.toml for `settings`."""
    lines = [
        "[auth]",
        f"redirect_uri = {_toml_string(settings.redirect_uri)}",
        f"cookie_secret = {_toml_string(settings.cookie_secret)}",
        f"client_id = {_toml_string(settings.client_id)}",
        f"client_secret = {_toml_string(settings.client_secret)}",
        f"server_metadata_url = {_toml_string(settings.metadata_url)}",
        "",
        "[auth.client_kwargs]",
        'scope = "openid email profile"',
        "",
    ]
    return "\n".join(lines)


def write_streamlit_secrets(settings: OidcSettings, directory: Path) -> Path:
    """Write the secrets file Streamlit reads into `directory`, readable by its owner only."""
    path = directory / "secrets.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(streamlit_secrets(settings))
    return path
