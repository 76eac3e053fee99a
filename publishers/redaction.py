"""Keeps credentials that travel inside URLs out of the HTTP library's debug log.

urllib3 logs each request line (method, path and query) at DEBUG level. Telegram puts the
bot token into the path, and a Slack, Discord or Teams webhook address is itself the
credential, so each such adapter registers the pattern of its secret part here. Error
messages are masked separately, by `publishers.http`.
"""

from __future__ import annotations

import logging
import re
import threading

# The loggers urllib3 writes full request URLs to.
_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")
MASK = "***"


class _Redactor(logging.Filter):
    """Rewrites a log record's message with every registered pattern masked."""

    def __init__(self) -> None:
        super().__init__()
        self._patterns: tuple[re.Pattern[str], ...] = ()
        self._lock = threading.Lock()

    def add(self, pattern: re.Pattern[str]) -> None:
        with self._lock:
            if pattern not in self._patterns:
                self._patterns = (*self._patterns, pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        patterns = self._patterns
        if not patterns:
            return True
        message = record.getMessage()
        masked = message
        for pattern in patterns:
            masked = pattern.sub(MASK, masked)
        if masked != message:
            record.msg = masked
            record.args = ()
        return True


_REDACTOR = _Redactor()
for _name in _URL_LOGGERS:
    logging.getLogger(_name).addFilter(_REDACTOR)


def redact_in_http_logs(pattern: str) -> None:
    """Mask whatever matches `pattern` in urllib3's log lines from now on."""
    _REDACTOR.add(re.compile(pattern))
