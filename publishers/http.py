"""The one way adapters talk HTTP: always a timeout, failures mapped to typed errors.

Messages carry the channel's own words (from the JSON or text body), cut to a readable
length, with every secret the adapter names replaced by '***'.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from publishers.base import AuthError, PermanentError, RateLimited, TransientError

USER_AGENT = "editorial-planner/0.1 (+https://github.com/editorial-planner)"
DEFAULT_TIMEOUT = (5.0, 30.0)
DEFAULT_RATE_LIMIT_WAIT = 60.0
MESSAGE_MAX = 300


def mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with every (non-trivial) secret replaced by '***'."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def request(
    method: str,
    url: str,
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    secrets: Sequence[str] = (),
    **kwargs: Any,
) -> requests.Response:
    """Send one request; connection problems and timeouts become TransientError."""
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    host = urlsplit(url).netloc or url
    try:
        sender = session.request if session is not None else requests.request
        return sender(method, url, headers=headers, timeout=timeout, **kwargs)
    except requests.Timeout as err:
        raise TransientError(f"{host} did not answer in time") from err
    except requests.ConnectionError as err:
        raise TransientError(mask(f"cannot connect to {host}: {_reason(err)}", secrets)) from err
    except requests.RequestException as err:
        raise TransientError(mask(f"request to {host} failed: {_reason(err)}", secrets)) from err


def _reason(err: Exception) -> str:
    text = str(err)
    # requests nests urllib3's long reprs; the last clause is the readable cause.
    return text.rsplit(": ", 1)[-1].rstrip(")'\"")[:MESSAGE_MAX] or type(err).__name__


def channel_message(response: requests.Response, secrets: Sequence[str] = ()) -> str:
    """The channel's own explanation from an error response."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("error_description", "message", "error", "errors", "detail", "title"):
            value = body.get(key)
            if value:
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                break
    if not text:
        text = " ".join(response.text.split())
    if not text:
        text = response.reason or f"HTTP {response.status_code}"
    text = mask(text, secrets)
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def retry_after(response: requests.Response, now: float | None = None) -> float:
    """Seconds to wait, from Retry-After (seconds or date) or the common reset headers."""
    now = time.time() if now is None else now
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return max(0.0, when.timestamp() - now)
    for name in ("X-RateLimit-Reset", "RateLimit-Reset", "x-rate-limit-reset"):
        raw = response.headers.get(name)
        if not raw:
            continue
        raw = raw.strip()
        try:
            number = float(raw)
        except ValueError:
            try:
                return max(0.0, datetime.fromisoformat(raw).timestamp() - now)
            except ValueError:
                continue
        # Epoch seconds are large; small numbers are "seconds from now" (IETF draft).
        return max(0.0, number - now) if number > 1_000_000_000 else max(0.0, number)
    return DEFAULT_RATE_LIMIT_WAIT


def raise_for_channel(
    response: requests.Response, *, secrets: Sequence[str] = (), message: str | None = None
) -> requests.Response:
    """Return a 2xx response; raise the typed error that fits any other status."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    text = message or channel_message(response, secrets)
    if status == 429:
        raise RateLimited(text, retry_after=retry_after(response), http_status=status)
    if status in (401, 403):
        raise AuthError(text, http_status=status)
    if status == 408 or status >= 500:
        raise TransientError(text, http_status=status)
    raise PermanentError(text, http_status=status)
