"""The planner's routes on the dashboard's web server: the sign-in cookie from a grant,
sign-out, same-origin checks, and the Host check (an ASGI app of exactly those parts,
driven in-process with Starlette's test client against a real SQLite database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from planner import sessions, users
from planner.db import get_engine
from planner.migrate import upgrade
from planner.models import UserSession
from planner.ui import web
from tests.conftest import PASSWORD

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with one user and one open session; its token."""
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    monkeypatch.delenv("PLANNER_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("PLANNER_ALLOWED_HOSTS", raising=False)
    engine = get_engine()
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.create_user(
            s,
            actor=None,
            data={"username": "admin", "display_name": "A", "role": "admin", "password": PASSWORD},
        )
        return sessions.start(s, user=admin)


def _client(base_url: str = "http://testserver") -> TestClient:
    async def home(_request: object) -> PlainTextResponse:
        return PlainTextResponse("the dashboard")

    app = Starlette(
        routes=[*web.routes(), Route("/", home)],
        middleware=web.middleware([*web.allowed_hosts("127.0.0.1"), "testserver"]),
    )
    return TestClient(app, base_url=base_url)


def _open(token: str) -> bool:
    with Session(get_engine()) as s:
        return sessions.resume(s, token) is not None


def test_a_grant_becomes_an_httponly_cookie_once(token: str) -> None:
    client = _client()
    code = sessions.grant(token)
    assert client.post(web.SESSION_PATH, content=code).status_code == 403  # no Origin
    other = {"Origin": "http://evil.example"}
    assert client.post(web.SESSION_PATH, content=code, headers=other).status_code == 403
    assert client.post(web.SESSION_PATH, content="made-up", headers=ORIGIN).status_code == 400

    answer = client.post(web.SESSION_PATH, content=code, headers=ORIGIN)
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{web.COOKIE_NAME}={token};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/", "max-age=43200"} <= attributes
    assert "secure" not in attributes  # plain HTTP: a Secure cookie would not come back
    assert client.post(web.SESSION_PATH, content=code, headers=ORIGIN).status_code == 400
    assert client.get(web.SESSION_PATH).status_code == 405


@pytest.mark.parametrize(
    ("setting", "base_url", "secure"),
    [
        ("auto", "https://testserver", True),
        ("auto", "http://testserver", False),
        ("on", "http://testserver", True),
        ("off", "https://testserver", False),
    ],
)
def test_the_cookie_is_secure_over_https_or_as_configured(
    token: str, monkeypatch: pytest.MonkeyPatch, setting: str, base_url: str, secure: bool
) -> None:
    monkeypatch.setenv("PLANNER_COOKIE_SECURE", setting)
    origin = {"Origin": base_url}
    answer = _client(base_url).post(web.SESSION_PATH, content=sessions.grant(token), headers=origin)
    assert answer.status_code == 204
    attributes = {part.strip().lower() for part in answer.headers["set-cookie"].split(";")}
    assert ("secure" in attributes) is secure


def test_sign_out_ends_the_cookies_session_and_deletes_the_cookie(token: str) -> None:
    client = _client()
    client.cookies.set(web.COOKIE_NAME, token)
    assert client.post(web.SIGN_OUT_PATH).status_code == 403  # not from a page of this site
    assert _open(token)
    answer = client.post(web.SIGN_OUT_PATH, headers=ORIGIN)
    assert answer.status_code == 204
    assert answer.headers["set-cookie"].startswith(f'{web.COOKIE_NAME}="";')
    assert "max-age=0" in answer.headers["set-cookie"].lower()
    assert not _open(token)
    with Session(get_engine()) as s:
        (row,) = s.exec(select(UserSession)).all()
    assert row.end_reason == "sign_out"


def test_only_allowed_hosts_are_answered(token: str) -> None:
    client = _client()
    assert client.get("/").text == "the dashboard"
    for host in ("127.0.0.1:8501", "localhost", "LOCALHOST:80"):
        assert client.get("/", headers={"Host": host}).status_code == 200
    for host in ("rebound.example", "127.0.0.2", "localhost.evil.example", ""):
        answer = client.get("/", headers={"Host": host})
        assert (answer.status_code, answer.text) == (400, "Invalid host header")
    answer = client.post(web.SESSION_PATH, content=sessions.grant(token), headers={"Host": "x.io"})
    assert answer.status_code == 400 and "set-cookie" not in answer.headers


def test_the_address_served_on_is_allowed_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_ALLOWED_HOSTS", "planner.example.com")
    assert web.allowed_hosts("0.0.0.0") == ["planner.example.com"]  # noqa: S104
    assert web.allowed_hosts("::") == ["planner.example.com"]
    assert web.allowed_hosts("::1") == ["planner.example.com", "[::1]"]
    assert web.allowed_hosts("Planner.LAN") == ["planner.example.com", "planner.lan"]
    assert web.allowed_hosts("planner.example.com") == ["planner.example.com"]
