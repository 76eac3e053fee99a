"""Single sign-on: a company identity's e-mail becomes the planner user with that e-mail.

The claims are what Streamlit hands on from a checked ID token (`st.user`): written out
for the edge cases, and taken from ID tokens of a real OpenID Connect provider
(`tests/oidc_provider.py`) for the main ones. The browser test
(`tests/ui/test_sso_browser.py`) goes through `st.login` itself. Every test with a
database runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from pathlib import Path
from secrets import token_hex
from typing import Any

import pytest
from sqlmodel import Session, col, select

from planner import cli, sso, users
from planner.config import OIDC_VARIABLES, load_oidc_settings
from planner.errors import ConfigurationError, PermissionDenied, ValidationFailed
from planner.models import AuditEvent, Role, User
from tests.conftest import PASSWORD, World
from tests.oidc_provider import Idp, id_token_claims, start, why_not

# Its module-wide set-up (a server, a loaded demo) is made once: with `--dist loadgroup`,
# every test of this module runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("sso")

ISSUER = "https://login.example.com/tenant"


def claims(email: object = "Eva.Editor@Example.COM", **extra: object) -> dict[str, Any]:
    """ID token claims as `st.user` holds them after a company sign-in."""
    data: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "0f1e2d",
        "email": email,
        "email_verified": True,
        "is_logged_in": True,
        "provider": "default",
    }
    data.update(extra)
    return data


@pytest.fixture
def eva(world: World) -> User:
    """An editor whose company e-mail is eva.editor@example.com."""
    return users.create_user(
        world.session,
        actor=world.admin,
        data={
            "username": "eva",
            "display_name": "Eva Editor",
            "role": Role.editor.value,
            "password": "eva's long password",
            "email": "eva.editor@example.com",
        },
    )


def last_event(session: Session) -> AuditEvent:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()  # type: ignore[return-value]


def test_the_email_maps_to_the_user_with_it_ignoring_case_and_is_audited(
    session: Session, eva: User
) -> None:
    user = sso.sign_in(session, claims())
    assert user.id == eva.id
    event = last_event(session)
    assert (event.action, event.actor_id, event.object_id, event.note) == (
        "login",
        eva.id,
        str(eva.id),
        "method sso",
    )


# Login name at the provider -> what its ID token says about the person.
IDP_ACCOUNTS = {
    "eva": {"email": "Eva.Editor@Example.COM", "email_verified": True},
    "unverified": {"email": "eva.editor@example.com", "email_verified": False},
    "max": {"email": "max.mustermann@example.com", "email_verified": True},
}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    reason = why_not()
    if reason is not None:
        pytest.skip(reason)
    log = tmp_path_factory.mktemp("oidc") / "oidc-provider.log"
    with start(log, redirect_uri="http://127.0.0.1:9/oauth2callback", accounts=IDP_ACCOUNTS) as idp:
        yield idp


@pytest.fixture(scope="module")
def id_tokens(idp: Idp) -> dict[str, dict[str, Any]]:
    """The claims of one real ID token per provider account."""
    return {login: id_token_claims(idp, login) for login in IDP_ACCOUNTS}


def test_real_id_tokens_sign_in_eva_and_refuse_the_others(
    session: Session, eva: User, id_tokens: dict[str, dict[str, Any]]
) -> None:
    assert sso.sign_in(session, id_tokens["eva"]).id == eva.id
    assert last_event(session).note == "method sso"
    with pytest.raises(sso.SsoRefused) as unverified:
        sso.sign_in(session, id_tokens["unverified"])
    assert unverified.value.reason == sso.UNVERIFIED
    with pytest.raises(sso.SsoRefused) as stranger:
        sso.sign_in(session, id_tokens["max"])
    assert stranger.value.reason == sso.UNKNOWN
    assert last_event(session).object_id == "m***@example.com"


def test_an_email_verified_false_is_refused(session: Session, eva: User) -> None:
    for flag in (False, "false", "FALSE"):
        with pytest.raises(sso.SsoRefused) as refused:
            sso.sign_in(session, claims(email_verified=flag))
        assert refused.value.reason == sso.UNVERIFIED
    event = last_event(session)
    assert (event.action, event.actor_id) == ("login_failed", None)
    assert event.note == "method sso; unverified"


def test_a_missing_email_verified_claim_is_accepted(session: Session, eva: User) -> None:
    # Entra ID sends no email_verified; only an explicit "false" refuses.
    data = claims()
    del data["email_verified"]
    assert sso.sign_in(session, data).id == eva.id


def test_an_unknown_email_is_refused_and_audited_masked(session: Session, eva: User) -> None:
    with pytest.raises(sso.SsoRefused) as refused:
        sso.sign_in(session, claims("max.mustermann@example.com"))
    assert refused.value.reason == sso.UNKNOWN
    assert refused.value.email == "max.mustermann@example.com"
    assert "no planner account has the e-mail address" in str(refused.value)
    event = last_event(session)
    assert (event.action, event.actor_id, event.actor_name) == ("login_failed", None, "anonymous")
    assert event.object_id == "m***@example.com"
    assert event.note == "method sso; unknown"
    stored = " ".join(f"{e.object_id} {e.note}" for e in session.exec(select(AuditEvent)))
    assert "mustermann" not in stored


@pytest.mark.parametrize("email", [None, "", "   ", 42])
def test_no_email_is_refused(session: Session, eva: User, email: object) -> None:
    with pytest.raises(sso.SsoRefused) as refused:
        sso.sign_in(session, claims(email))
    assert refused.value.reason == sso.NO_EMAIL
    assert last_event(session).note == "method sso; no_email"


def test_a_disabled_user_is_refused_and_audited(session: Session, world: World, eva: User) -> None:
    users.set_disabled(session, actor=world.admin, username="eva")
    with pytest.raises(sso.SsoRefused) as refused:
        sso.sign_in(session, claims())
    assert refused.value.reason == sso.DISABLED
    event = last_event(session)
    assert (event.action, event.actor_id, event.note) == (
        "login_refused",
        eva.id,
        "method sso; account disabled",
    )


def test_an_email_on_two_accounts_signs_in_neither(
    session: Session, world: World, eva: User
) -> None:
    twin = users.create_user(
        session,
        actor=world.admin,
        data={
            "username": "eva2",
            "display_name": "Eva Zwei",
            "role": Role.approver.value,
            "password": "eva's other password",
        },
    )
    # Two accounts share an address only in data stored before that was refused.
    twin.email = "EVA.EDITOR@example.com"
    session.add(twin)
    session.commit()
    with pytest.raises(sso.SsoRefused) as refused:
        sso.sign_in(session, claims())
    assert refused.value.reason == sso.AMBIGUOUS
    assert last_event(session).note == f"method sso; ambiguous; users {eva.id}, {twin.id}"


def test_a_user_without_email_is_never_matched(session: Session, world: World) -> None:
    # The world's users have no e-mail: an empty address must not match them.
    with pytest.raises(sso.SsoRefused):
        sso.sign_in(session, claims("admin@example.com"))


# --- the address single sign-on matches by ------------------------------------------------


def test_an_admin_gives_an_existing_account_its_email_and_sso_then_finds_it(
    session: Session, world: World
) -> None:
    with pytest.raises(sso.SsoRefused):
        sso.sign_in(session, claims("ed@example.com"))
    users.set_email(session, actor=world.admin, username="editor", email=" Ed@Example.com ")
    assert sso.sign_in(session, claims("ED@example.COM")).id == world.editor.id
    email_events = session.exec(select(AuditEvent).where(AuditEvent.action == "email")).all()
    assert [(e.actor_id, e.object_id, e.note) for e in email_events] == [
        (world.admin.id, str(world.editor.id), "e-mail address set")
    ]
    users.set_email(session, actor=world.admin, username="editor", email=None)
    with pytest.raises(sso.SsoRefused):
        sso.sign_in(session, claims("ed@example.com"))
    assert last_event(session).note == "method sso; unknown"


def test_an_email_cannot_be_given_to_a_second_account(session: Session, world: World) -> None:
    users.set_email(session, actor=world.admin, username="editor", email="ed@example.com")
    with pytest.raises(ValidationFailed) as err:
        users.set_email(session, actor=world.admin, username="approver", email="ED@example.com")
    assert err.value.fields["email"].code == "email_taken"  # type: ignore[attr-defined]
    assert "already the e-mail address of 'editor'" in str(err.value)
    # The same account may keep (or re-case) its own address.
    users.set_email(session, actor=world.admin, username="editor", email="Ed@example.com")
    assert session.get(User, world.approver.id).email is None  # type: ignore[union-attr]


def test_an_address_with_capitals_beyond_ascii_is_matched_ignoring_their_case(
    session: Session, world: World
) -> None:
    """SQLite's lower() folds only A-Z: an address with an Ö was found on neither
    backend's terms alike, and a second account could take it in lower case."""
    users.set_email(session, actor=world.admin, username="editor", email="Öztürk@firma.de")
    assert sso.sign_in(session, claims("Öztürk@firma.de")).id == world.editor.id
    assert sso.sign_in(session, claims("öztürk@FIRMA.de")).id == world.editor.id
    with pytest.raises(ValidationFailed) as err:
        users.set_email(session, actor=world.admin, username="approver", email="öztürk@firma.de")
    assert err.value.fields["email"].code == "email_taken"  # type: ignore[attr-defined]
    # Nor does a new account get it: single sign-on would then refuse both as ambiguous.
    with pytest.raises(ValidationFailed) as added:
        users.create_user(
            session,
            actor=world.admin,
            data={
                "username": "oeztuerk",
                "display_name": "Ö",
                "role": "editor",
                "password": PASSWORD,
                "email": "ÖZTÜRK@firma.de",
            },
        )
    assert added.value.fields["email"].code == "email_taken"  # type: ignore[attr-defined]
    assert sso.sign_in(session, claims("öztürk@firma.de")).id == world.editor.id


def test_only_admins_set_emails_and_bad_addresses_are_named(session: Session, world: World) -> None:
    with pytest.raises(PermissionDenied):
        users.set_email(session, actor=world.editor, username="editor", email="me@example.com")
    with pytest.raises(ValidationFailed, match="'not-an-address' is not an e-mail address"):
        users.set_email(session, actor=world.admin, username="editor", email="not-an-address")
    assert session.get(User, world.editor.id).email is None  # type: ignore[union-attr]


def test_the_command_line_sets_and_removes_an_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("PLANNER_USER", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("chef-" + token_hex(8) + "\n"))
    assert cli.main(["init", "--admin", "boss", "--password-stdin"]) == 0
    assert cli.main(["users", "email", "boss", "Boss@Example.com", "--as", "boss"]) == 0
    assert "e-mail of 'boss': Boss@Example.com" in capsys.readouterr().out
    err = io.StringIO()
    assert cli.main(["users", "email", "boss", "--as", "boss"], stderr=err) == 2
    assert "either the e-mail ADDRESS or --remove" in err.getvalue()
    assert cli.main(["users", "email", "boss", "--remove", "--as", "boss"]) == 0
    assert "e-mail of 'boss': (none)" in capsys.readouterr().out


# --- settings and the secrets file Streamlit reads --------------------------------------------

SETTINGS = {
    "PLANNER_OIDC_METADATA_URL": "https://idp.example.com/.well-known/openid-configuration",
    "PLANNER_OIDC_CLIENT_ID": "planner",
    "PLANNER_OIDC_CLIENT_SECRET": 'a "quoted" \\ secret',
    "PLANNER_OIDC_REDIRECT_URI": "https://planner.example.com/oauth2callback",
    "PLANNER_OIDC_COOKIE_SECRET": "c" * 40,
}


@pytest.fixture
def oidc_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    return dict(SETTINGS)


def test_without_settings_there_is_no_single_sign_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OIDC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert load_oidc_settings() is None


def test_half_configured_sso_names_what_is_missing(
    oidc_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLANNER_OIDC_CLIENT_SECRET")
    monkeypatch.setenv("PLANNER_OIDC_COOKIE_SECRET", "")
    with pytest.raises(
        ConfigurationError, match="set PLANNER_OIDC_CLIENT_SECRET, PLANNER_OIDC_COOKIE_SECRET"
    ):
        load_oidc_settings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "PLANNER_OIDC_REDIRECT_URI",
            "https://planner.example.com/",
            "followed by /oauth2callback",
        ),
        ("PLANNER_OIDC_METADATA_URL", "idp.example.com", "must be an http"),
        ("PLANNER_OIDC_COOKIE_SECRET", "short", "at least 32 characters"),
    ],
)
def test_bad_sso_settings_get_a_clear_message(
    oidc_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message) as err:
        load_oidc_settings()
    assert oidc_env["PLANNER_OIDC_CLIENT_SECRET"] not in str(err.value)


def test_the_secrets_file_holds_streamlits_auth_section_for_its_owner_only(
    oidc_env: dict[str, str], tmp_path: Path
) -> None:
    settings = load_oidc_settings()
    assert settings is not None
    assert oidc_env["PLANNER_OIDC_CLIENT_SECRET"] not in repr(settings)
    assert oidc_env["PLANNER_OIDC_COOKIE_SECRET"] not in repr(settings)
    path = sso.write_streamlit_secrets(settings, tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    auth = tomllib.loads(path.read_text(encoding="utf-8"))["auth"]
    assert auth == {
        "redirect_uri": oidc_env["PLANNER_OIDC_REDIRECT_URI"],
        "cookie_secret": oidc_env["PLANNER_OIDC_COOKIE_SECRET"],
        "client_id": "planner",
        "client_secret": oidc_env["PLANNER_OIDC_CLIENT_SECRET"],
        "server_metadata_url": oidc_env["PLANNER_OIDC_METADATA_URL"],
        "client_kwargs": {"scope": "openid email profile"},
    }


def test_serve_does_not_start_with_half_configured_sso(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    for name in OIDC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PLANNER_OIDC_CLIENT_ID", "planner")
    monkeypatch.setenv("PLANNER_OIDC_CLIENT_SECRET", "not to be shown")
    err = io.StringIO()
    assert cli.main(["serve", "--port", "1"], stderr=err) == 1
    assert "single sign-on is half configured: set PLANNER_OIDC_METADATA_URL," in err.getvalue()
    assert "not to be shown" not in err.getvalue()
    assert not (tmp_path / "serve.db").exists()  # nothing ran
