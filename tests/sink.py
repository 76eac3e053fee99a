"""A webhook receiver on 127.0.0.1 that counts what arrives, for end-to-end runs.

Used by the exactly-once tests and by `bench/publishing.py`. Every request is recorded
with its `Idempotency-Key` and receive time (raw deliveries), and answered 201 with
`{"id": key}`. A deduplicating sink answers a repeated key the same way without counting
it as a new message, as a receiver that honours idempotency keys would; a plain sink
counts every delivery as a message. `delay` makes a slow receiver; `Faults` makes a
flaky one (500s, 429s with Retry-After, answers slower than the sender waits, dropped
connections). GET on `status_url` says whether a key arrived, as a receiver that offers
lookups would.

Sockets get TCP_NODELAY: `http.server` writes headers and body in separate sends, and
Nagle's algorithm plus delayed ACKs would otherwise add about 40 ms to every request.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Delivery:
    """One request as it arrived."""

    key: str
    received_at: float  # time.time(), so it compares with publish_at


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Workers open a new connection per request; a short backlog drops SYNs under load.
    request_queue_size = 256
    sink: Sink

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the crash tests do that) is expected, not news.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        key = self.headers.get("Idempotency-Key", "")
        sink = self.server.sink
        fault = sink.faults.next() if sink.faults is not None else ""
        if fault == "500":
            self._answer(500, {"error": "injected server error"})  # nothing stored
            return
        if fault == "429":
            self._answer(429, {"error": "slow down"}, {"Retry-After": str(sink.faults.retry_after)})
            return
        sink.record(key)
        if fault == "drop":
            # Stored, then the connection is cut before any answer: the sender cannot
            # know whether the post arrived.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "slow":
            time.sleep(sink.faults.slow_seconds)  # stored, but the answer comes too late
        elif sink.delay:
            time.sleep(sink.delay)
        self._answer(201, {"id": key})

    def do_GET(self) -> None:
        # The status address: whether a post with this key arrived (for lookups).
        query = parse_qs(urlsplit(self.path).query)
        key = (query.get("idempotency_key") or [""])[0]
        if self.server.sink.has(key):
            self._answer(200, {"id": key})
        else:
            self._answer(404, {"error": "no such post"})

    def _answer(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Faults:
    """Failures a receiver injects, drawn per request from a seeded random source.

    Each request is, with the given probabilities: answered 500 (not stored), answered
    429 with Retry-After (not stored), stored but answered after `slow_seconds` (longer
    than the sender waits), or stored and the connection dropped without an answer.
    """

    def __init__(
        self,
        *,
        error: float = 0.0,
        rate_limit: float = 0.0,
        slow: float = 0.0,
        drop: float = 0.0,
        seed: int = 1,
        retry_after: int = 1,
        slow_seconds: float = 3.0,
    ) -> None:
        self.table = [("500", error), ("429", rate_limit), ("slow", slow), ("drop", drop)]
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.injected: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def next(self) -> str:
        """The fault for the next request, or '' for a normal answer."""
        with self._lock:
            draw = self._random.random()
            for name, probability in self.table:
                if draw < probability:
                    self.injected[name] += 1
                    return name
                draw -= probability
            return ""


class Sink:
    """The receiver; use as a context manager or call start() and stop()."""

    def __init__(
        self, *, deduplicate: bool = False, delay: float = 0.0, faults: Faults | None = None
    ) -> None:
        self.deduplicate = deduplicate
        self.delay = delay
        self.faults = faults
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.raw: Counter[str] = Counter()  # every request per key, repeats included
        self.messages: Counter[str] = Counter()  # what the receiver counts as new messages
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    @property
    def status_url(self) -> str:
        """Where the receiver says whether a key arrived (GET ?idempotency_key=...)."""
        return self.url.replace("/hook", "/status")

    def record(self, key: str) -> None:
        """Count one arriving request."""
        now = time.time()
        with self._lock:
            self.deliveries.append(Delivery(key, now))
            if not (self.deduplicate and key in self.raw):
                self.messages[key] += 1
            self.raw[key] += 1

    def has(self, key: str) -> bool:
        """Whether a request with this key arrived."""
        with self._lock:
            return key in self.raw

    def count(self) -> int:
        """Raw deliveries so far."""
        with self._lock:
            return len(self.deliveries)

    def snapshot(self) -> tuple[list[Delivery], Counter[str], Counter[str]]:
        """Deliveries, raw counts and message counts, copied under the lock."""
        with self._lock:
            return list(self.deliveries), Counter(self.raw), Counter(self.messages)

    def start(self) -> Sink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
