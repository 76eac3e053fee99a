"""What the adapter tests set up again and again: stubbed answers and the checks around them.

The stubs only say how the local test server answers; each test still states the exact
request a channel's API expects (method, path, headers, body) where it sets one up.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from pytest_httpserver import HTTPServer, RequestHandler
from werkzeug import Request, Response

from publishers.base import AuthError, ConfigError, OutgoingPost, Publisher

# Longer than the 1 s timeout the tests give adapters, so the adapter gives up first.
LATE_SECONDS = 1.5


@contextmanager
def answering_late(
    server: HTTPServer, path: str, body: str = "{}", *, oneshot: bool = True, **answer: Any
) -> Iterator[None]:
    """While the block runs, `server` answers `path` only after the adapter's timeout.

    The answer is `body` (with `answer`'s status, headers, ...), released as the block
    ends, so a late handler never holds up the (single-threaded) test server for the
    next request or test.
    """
    answered = threading.Event()
    held: list[Request] = []

    def slow(request: Request) -> Response:
        held.append(request)
        answered.wait(LATE_SECONDS)
        return Response(body, **answer)

    expect = server.expect_oneshot_request if oneshot else server.expect_request
    expect(path).respond_with_handler(slow)
    try:
        yield
    finally:
        answered.set()
        wait_until_logged(server, held)


def wait_until_logged(server: HTTPServer, requests: Sequence[Request]) -> None:
    """Wait (10 s at most) until `server` has logged `requests`: an answer released late
    must not land in the next test's `server.log`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        logged = [request for request, _answer in server.log]
        if all(any(r is held for r in logged) for held in requests):
            return
        time.sleep(0.01)


def respond(handler: RequestHandler, body: object, *, status: int) -> None:
    """Answer with `body`: a str as it is (an HTML page, plain text), anything else as JSON."""
    if isinstance(body, str):
        handler.respond_with_data(body, status=status)
    else:
        handler.respond_with_json(body, status=status)


def config_error(cls: type[Publisher], settings: Mapping[str, Any]) -> ConfigError:
    """The ConfigError that building `cls` from `settings` raises."""
    with pytest.raises(ConfigError) as caught:
        cls(settings)
    return caught.value


def refused_credentials(adapter: Publisher, secret: str, post: OutgoingPost, key: str) -> AuthError:
    """The AuthError publishing `post` raises; `secret` shows neither there nor in the repr."""
    assert secret not in repr(adapter)
    with pytest.raises(AuthError) as caught:
        adapter.publish(post, key)
    assert secret not in str(caught.value)
    return caught.value


def shown(error: BaseException) -> str:
    """Everything a log line with a traceback would show of `error`, causes included."""
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    """The captured log lines, without the test server's own access log."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug"))
