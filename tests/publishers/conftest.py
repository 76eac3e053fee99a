"""Publisher tests talk to servers they start on 127.0.0.1 (and to "localhost")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers.base import Publisher
from publishers.media import forget_uploads

# The shared checks in stubs.py assert: pytest explains their failures as it does a test's.
pytest.register_assert_rewrite("tests.publishers.stubs")


@pytest.fixture(autouse=True)
def private_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adapters here may reach this machine, as with the admin setting allow_private_network.

    Outside the tests an adapter may not unless it is built with that allowance; the tests
    of the refusals (test_addresses.py) build theirs with allow_private_network=False.
    """
    monkeypatch.setattr(Publisher, "allow_private_network", True)


@pytest.fixture(autouse=True)
def _no_remembered_uploads() -> Iterator[None]:
    """Each test sends its files: no upload id is left over from another test's post."""
    forget_uploads()
    yield
    forget_uploads()


@pytest.fixture
def stalled(httpserver: HTTPServer) -> Iterator[Callable[[Request], Response]]:
    """A handler that answers only once the test is over (its client has timed out by
    then). The test's end waits until the server has logged every request it stalled, so
    no late entry lands in the next test's `httpserver.log`."""
    release = threading.Event()
    stalled_requests: list[Request] = []

    def handler(request: Request) -> Response:
        stalled_requests.append(request)
        release.wait(10)
        return Response("{}", content_type="application/json")

    yield handler
    release.set()
    # Imported here: stubs.py is imported after its assertions are registered for rewriting.
    from tests.publishers.stubs import wait_until_logged

    wait_until_logged(httpserver, stalled_requests)
