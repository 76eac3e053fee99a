"""Fetching a post's media from its URL, for channels that want the bytes uploaded."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from publishers.base import Media, PermanentError, RateLimited, TransientError
from publishers.http import DEFAULT_TIMEOUT, channel_message, request, retry_after

if TYPE_CHECKING:
    import requests


@dataclass(frozen=True)
class MediaFile:
    """The bytes of one media item, with the type and file name to upload them under."""

    content: bytes
    mime_type: str
    filename: str


def shown(url: str) -> str:
    """`url` without query or fragment, which may carry a signing token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url


def fetch_media(
    item: Media,
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    max_bytes: int | None = None,
    session: requests.Session | None = None,
) -> MediaFile:
    """GET `item.url`; failures of the media host never read as the channel refusing us.

    Adapters pass their `http_session`: the media address is checked like the channel's.
    """
    response = request("GET", item.url, timeout=timeout, session=session)
    status = response.status_code
    if not 200 <= status < 300:
        text = f"cannot fetch media {shown(item.url)!r}: {channel_message(response)}"
        if status == 429:
            raise RateLimited(text, retry_after=retry_after(response), http_status=status)
        if status == 408 or status >= 500:
            raise TransientError(text, http_status=status)
        # A 401/403 here is the media host's, not the channel's: the editor fixes the URL.
        raise PermanentError(text, http_status=status)
    content = response.content
    if max_bytes is not None and len(content) > max_bytes:
        raise PermanentError(
            f"media {shown(item.url)!r} has {len(content):,} bytes; at most {max_bytes:,} allowed"
        )
    path = urlsplit(item.url).path
    filename = unquote(path.rsplit("/", 1)[-1]) or "upload"
    served = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if served in ("", "application/octet-stream", "binary/octet-stream"):
        served = ""
    mime_type = (
        item.mime_type or served or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )
    return MediaFile(content=content, mime_type=mime_type, filename=filename)
