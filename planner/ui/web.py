"""The planner's own parts of the web server `serve` runs: the sign-in cookie and the Host check.

Streamlit sends a page's output over a websocket, which cannot set cookies. So the
dashboard, once a person has signed in, has the browser POST a single-use grant to
`/_planner/session`; the answer sets the cookie that holds the session token: HttpOnly
(page scripts never see it), SameSite=Lax, Secure over HTTPS (PLANNER_COOKIE_SECURE).
`/_planner/signout` ends the cookie's session and deletes the cookie. Both accept only
requests whose Origin is the page's own.

Every HTTP and websocket request whose Host header is not one of the allowed hosts
(PLANNER_ALLOWED_HOSTS plus the address served on) is answered with 400 before it reaches
Streamlit: a DNS-rebinding page cannot talk to the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from planner import sessions
from planner.config import load_settings
from planner.db import get_engine

COOKIE_NAME = "planner_session"
SESSION_PATH = "/_planner/session"
SIGN_OUT_PATH = "/_planner/signout"
_MAX_BODY = 200


def _same_origin(request: Request) -> bool:
    """Whether the request comes from a page of this server (browsers send Origin on POST)."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if not origin or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


def _secure(request: Request) -> bool:
    mode = load_settings().cookie_secure
    return mode == "on" or (mode == "auto" and request.url.scheme == "https")


def _refused() -> Response:
    return PlainTextResponse("refused: the request does not come from this site", status_code=403)


async def take_grant(request: Request) -> Response:
    """Swap a sign-in grant (the request body) for the session cookie."""
    if not _same_origin(request):
        return _refused()
    body = await request.body()
    token = sessions.redeem(body[:_MAX_BODY].decode("ascii", "replace").strip())
    if token is None:
        return PlainTextResponse("unknown, used or expired sign-in grant", status_code=400)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=load_settings().session_lifetime_hours * 3600,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )
    return response


def _end(token: str) -> None:
    with Session(get_engine(), expire_on_commit=False) as session:
        sessions.end(session, token)


async def sign_out(request: Request) -> Response:
    """End the cookie's session (if it still runs) and delete the cookie."""
    if not _same_origin(request):
        return _refused()
    token = request.cookies.get(COOKIE_NAME)
    if token:
        await run_in_threadpool(_end, token)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(
        COOKIE_NAME, path="/", secure=_secure(request), httponly=True, samesite="lax"
    )
    return response


def routes() -> list[Route]:
    """The planner's routes, served next to Streamlit's."""
    return [
        Route(SESSION_PATH, take_grant, methods=["POST"]),
        Route(SIGN_OUT_PATH, sign_out, methods=["POST"]),
    ]


def allowed_hosts(address: str) -> list[str]:
    """PLANNER_ALLOWED_HOSTS plus the address served on (unless it means every interface)."""
    hosts = list(load_settings().allowed_hosts)
    extra = address.strip().lower()
    if ":" in extra and not extra.startswith("["):
        extra = f"[{extra}]"  # an IPv6 address, as a Host header writes it
    if extra and extra not in ("0.0.0.0", "[::]") and extra not in hosts:  # noqa: S104
        hosts.append(extra)
    return hosts


def middleware(hosts: Iterable[str]) -> list[Middleware]:
    """The checks every request passes first: its Host header must be an allowed host."""
    return [Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts), www_redirect=False)]
