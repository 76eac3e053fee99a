"""The planner's own parts of the web server `serve` runs: the sign-in cookie and the Host check.

Streamlit sends a page's output over a websocket, which cannot set cookies. So the
dashboard, once a person has signed in, has the browser POST a single-use grant to
`/_planner/session`; the answer sets the cookie that holds the session token: HttpOnly
(page scripts never see it), SameSite=Lax, Secure over HTTPS (PLANNER_COOKIE_SECURE).
`/_planner/signout` ends the cookie's session and deletes the cookie. Both accept only
requests whose Origin is the page's own.

Public routes that need no sign-in, for calendar apps, feed readers and people following
a link: `/calendar/<token>.ics` (a user's calendar feed; an unknown or revoked token gets
the same bare 404 as any unknown page, and the token is never logged), `/feed.rss` and
`/feed.atom` (the published posts, when the organisation switched them on, optionally
`?channel=`), and `/l/<code>` (a tracked link: 302 to where it points, the click counted
unless it is a HEAD request or a bot).

Every HTTP and websocket request whose Host header is not one of the allowed hosts
(PLANNER_ALLOWED_HOSTS plus the address served on) is answered with 400 before it reaches
Streamlit: a DNS-rebinding page cannot talk to the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar
from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from planner import calendar_feeds, content_feeds, sessions, tracked_links
from planner.config import load_settings
from planner.db import get_engine
from planner.errors import NotFound

T = TypeVar("T")
log = logging.getLogger("planner.web")

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


# --- public routes: calendar feeds, content feeds, tracked links --------------------------

_NOT_FOUND = "not found"
_UNAVAILABLE = "temporarily unavailable, please try again later"


def _with_session(work: Callable[[Session], T]) -> T:
    with Session(get_engine(), expire_on_commit=False) as session:
        return work(session)


async def _answer(what: str, work: Callable[[Session], Response]) -> Response:
    """Run `work` in a thread; a database failure is a 503 whose log line names `what`
    only (never the request's path, which may hold a secret token)."""
    try:
        return await run_in_threadpool(_with_session, work)
    except Exception as err:  # noqa: BLE001 - answer the client, whatever went wrong
        log.warning("%s failed: %s", what, type(err).__name__)
        return PlainTextResponse(_UNAVAILABLE, status_code=503, headers={"Retry-After": "30"})


async def calendar_feed(request: Request) -> Response:
    """A calendar feed by its secret token: the iCalendar file, or a bare 404."""
    token = str(request.path_params["token"])

    def work(session: Session) -> Response:
        body = calendar_feeds.fetch_feed(session, token)
        if body is None:
            return PlainTextResponse(_NOT_FOUND, status_code=404)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
        )

    return await _answer("a calendar feed", work)


def _content_feed(render: Callable[..., bytes], media_type: str) -> Callable[..., object]:
    async def serve(request: Request) -> Response:
        channel = request.query_params.get("channel") or None

        def work(session: Session) -> Response:
            try:
                entries = content_feeds.published_entries(session, channel=channel)
            except NotFound:
                return PlainTextResponse(_NOT_FOUND, status_code=404)
            return Response(
                render(entries, channel=channel, base=str(request.base_url)),
                media_type=media_type,
                headers={"Cache-Control": "public, max-age=300"},
            )

        return await _answer("a content feed", work)

    return serve


async def tracked_link(request: Request) -> Response:
    """Redirect a tracked link to where it points (302) and count the click, unless it is
    a HEAD request or comes from a bot; an unknown code gets 404."""
    code = str(request.path_params["code"])
    count = request.method == "GET" and not tracked_links.is_bot(
        request.headers.get("user-agent", "")
    )

    def work(session: Session) -> Response:
        url = tracked_links.follow(session, code, count=count)
        if url is None:
            return PlainTextResponse(_NOT_FOUND, status_code=404)
        return Response(
            status_code=302,
            headers={
                "Location": tracked_links.location(url),
                "Cache-Control": "no-store",
                "Referrer-Policy": "origin",
            },
        )

    return await _answer("a tracked link", work)


def routes() -> list[Route]:
    """The planner's routes, served next to Streamlit's."""
    return [
        Route(SESSION_PATH, take_grant, methods=["POST"]),
        Route(SIGN_OUT_PATH, sign_out, methods=["POST"]),
        Route(calendar_feeds.CALENDAR_PATH + "{token}.ics", calendar_feed, methods=["GET"]),
        Route(
            content_feeds.RSS_PATH,
            _content_feed(content_feeds.to_rss, "application/rss+xml; charset=utf-8"),
            methods=["GET"],
        ),
        Route(
            content_feeds.ATOM_PATH,
            _content_feed(content_feeds.to_atom, "application/atom+xml; charset=utf-8"),
            methods=["GET"],
        ),
        Route(tracked_links.LINK_PATH + "{code}", tracked_link, methods=["GET", "HEAD"]),
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
