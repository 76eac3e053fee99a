"""The command line's way back in: `users unlock` and `users passwd` end a sign-in wait."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from secrets import token_hex

import pytest

from planner import audit, users
from planner.db import session_scope
from planner.errors import AuthenticationFailed, SignInThrottled
from planner.models import utcnow
from tests.test_cli import ADMIN_PW, Cli

CLIENT = "198.51.100.23"
NEW_PW = "chief-" + token_hex(8)  # made per run: no credential lives in the code


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("PLANNER_USER", raising=False)
    monkeypatch.setattr("planner.cli.pieces.DATA_DIR", tmp_path)
    run = Cli(capsys, monkeypatch)
    run.ok("init", "--admin", "boss", "--password-stdin", stdin=ADMIN_PW + "\n")
    run.ok("departments", "add", "Marketing", "--as", "boss")
    run.ok(
        "users", "add", "ed", "--role", "editor", "--as", "boss", "--password-stdin",
        stdin="an editor's secret 7\n",
    )  # fmt: skip
    return run


def make_the_admin_wait(now: datetime) -> None:
    """Fail to sign in as 'boss' from CLIENT until the next try must wait."""
    with session_scope() as session:
        for _ in range(5):
            with pytest.raises(AuthenticationFailed):
                users.authenticate(
                    session, username="boss", password="a wrong guess", client=CLIENT, now=now
                )
        with pytest.raises(SignInThrottled):
            users.authenticate(session, username="boss", password=ADMIN_PW, client=CLIENT, now=now)


def sign_in_as_boss(now: datetime, password: str = ADMIN_PW) -> str:
    with session_scope() as session:
        return users.authenticate(
            session, username="boss", password=password, client=CLIENT, now=now
        ).username


def actions(action: str) -> list[tuple[str | None, str | None]]:
    with session_scope() as session:
        events = audit.list_events(
            session, actor=users.get_user(session, "boss"), object_type="user"
        )
        return [(e.actor_name, e.note) for e in events if e.action == action]


def test_users_unlock_lets_a_waiting_admin_sign_in_again_and_is_audited(run: Cli) -> None:
    now = utcnow()
    make_the_admin_wait(now)

    out = run.ok("users", "unlock", "boss", "--client", CLIENT, "--as", "boss")

    assert out == "forgot the failed sign-ins counted for 'boss' and for that client address\n"
    assert CLIENT not in out
    assert sign_in_as_boss(now) == "boss"
    assert len(actions("unlock")) == 1


def test_users_unlock_without_the_client_forgets_only_the_account(run: Cli) -> None:
    now = utcnow()
    make_the_admin_wait(now)

    assert run.ok("users", "unlock", "boss", "--as", "boss").startswith("forgot")
    assert run.ok("users", "unlock", "boss", "--as", "boss").startswith("nothing to forget")
    with pytest.raises(SignInThrottled):  # this client still waits; the account does not
        sign_in_as_boss(now)
    with session_scope() as session:
        assert users.authenticate(session, username="boss", password=ADMIN_PW, now=now).id


def test_users_passwd_ends_the_account_wait(run: Cli) -> None:
    now = utcnow()
    make_the_admin_wait(now)

    run.ok("users", "passwd", "boss", "--as", "boss", "--password-stdin", stdin=NEW_PW + "\n")

    with session_scope() as session:
        assert users.authenticate(session, username="boss", password=NEW_PW, now=now).id


def test_only_an_admin_may_unlock_and_an_unknown_name_is_named(run: Cli) -> None:
    now = utcnow()
    make_the_admin_wait(now)

    code, _out, err = run("users", "unlock", "boss", "--client", CLIENT, "--as", "ed")
    assert code != 0 and err
    code, _out, err = run("users", "unlock", "nobody", "--as", "boss")
    assert code != 0 and "nobody" in err

    with pytest.raises(SignInThrottled):
        sign_in_as_boss(now)
    assert actions("unlock") == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        pytest.param("passwort1234", "most common passwords", id="common"),
        pytest.param("aaaaaaaaaaaa", "repeated or sequential", id="repetitive"),
        pytest.param("x" * 257, "at most 256 characters", id="too-long"),
        pytest.param("big boss 2031", "username", id="has-the-username"),
    ],
)
def test_users_passwd_refuses_a_guessable_or_too_long_password(
    run: Cli, password: str, message: str
) -> None:
    code, out, err = run(
        "users", "passwd", "boss", "--as", "boss", "--password-stdin", stdin=password + "\n"
    )

    assert code != 0 and message in err
    assert password not in out + err
    assert sign_in_as_boss(utcnow()) == "boss"
