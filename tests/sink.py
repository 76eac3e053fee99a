"""A webhook receiver on 127.0.0.1 that counts what arrives, for end-to-end runs.

Used by the exactly-once tests and by `bench/publishing.py`. Every request is recorded
with its `Idempotency-Key` and receive time (raw deliveries), and answered 201 with
`{"id": key}`. A deduplicating sink answers a repeated key the same way without counting
it as a new message, as a receiver that honours idempotency keys would; a plain sink
counts every delivery as a message. `delay` makes a slow receiver.

Sockets get TCP_NODELAY: `http.server` writes headers and body in separate sends, and
Nagle's algorithm plus delayed ACKs would otherwise add about 40 ms to every request.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
        sink.record(key)
        if sink.delay:
            time.sleep(sink.delay)
        body = json.dumps({"id": key}).encode("utf-8")
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Sink:
    """The receiver; use as a context manager or call start() and stop()."""

    def __init__(self, *, deduplicate: bool = False, delay: float = 0.0) -> None:
        self.deduplicate = deduplicate
        self.delay = delay
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

    def record(self, key: str) -> None:
        """Count one arriving request."""
        now = time.time()
        with self._lock:
            self.deliveries.append(Delivery(key, now))
            if not (self.deduplicate and key in self.raw):
                self.messages[key] += 1
            self.raw[key] += 1

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
