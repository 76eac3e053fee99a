"""A post's media as bytes, for channels that want them uploaded: fetched from its URL, or
the file uploaded to the planner, fitted to the channel's limits."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from publishers import images
from publishers.base import (
    DeliveryError,
    Media,
    PermanentError,
    Publisher,
)
from publishers.http import DEFAULT_TIMEOUT, channel_message, request, source_error

if TYPE_CHECKING:
    import requests

# How long a channel's id for an uploaded file is used again by a retry of its post: well
# within the day X keeps an unused upload, and long past the engine's quick retries.
REUSE_UPLOAD_SECONDS = 3600.0
MAX_REMEMBERED_UPLOADS = 1000
_uploads: dict[str, tuple[float, Any]] = {}
_uploads_lock = threading.Lock()
_Uploaded = TypeVar("_Uploaded")


@dataclass(frozen=True)
class MediaFile:
    """The bytes of one media item, with the type and file name to upload them under."""

    content: bytes
    mime_type: str
    filename: str

    @property
    def part(self) -> tuple[str, bytes, str]:
        """The file as a part of a multipart/form-data upload: (name, bytes, type)."""
        return (self.filename, self.content, self.mime_type)


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
    limits: images.Limits | None = None,
) -> MediaFile:
    """GET `item.url`; failures of the media host never read as the channel refusing us.

    Adapters pass their `http_session`: the media address is checked like the channel's.
    A file uploaded to the planner is not fetched: its image is scaled down and re-encoded
    to keep `limits` where it does not.
    """
    if item.uploaded:
        return uploaded_file(item, limits)
    response = request("GET", item.url, timeout=timeout, session=session)
    status = response.status_code
    if not 200 <= status < 300:
        # A 401/403 here is the media host's, not the channel's: the editor fixes the URL.
        raise source_error(
            response, f"cannot fetch media {shown(item.url)!r}: {channel_message(response)}"
        )
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


@contextmanager
def before_the_post() -> Iterator[None]:
    """Upload the files a post will carry: whatever fails here, the post was not sent.

    An upload cut off after sending may have stored the file, never published the post, so
    its error is not ambiguous: the retry uploads again and then posts.
    """
    try:
        yield
    except DeliveryError as err:
        err.ambiguous = False
        raise


def upload_once(
    publisher: Publisher,
    idempotency_key: str,
    index: int,
    item: Media,
    upload: Callable[[Media], _Uploaded],
) -> _Uploaded:
    """`upload(item)`: what the channel answered for the file (its id); a retry of the same
    post (same key, same file, same place in it) within the hour gets that answer again
    without sending the file twice. Only a finished upload is remembered, in this process.
    Not for channels that delete an unused upload within minutes (Bluesky's blobs).
    """
    key = _upload_key(publisher, idempotency_key, index, item)
    with _uploads_lock:
        kept = _uploads.get(key)
        if kept is not None and time.monotonic() - kept[0] < REUSE_UPLOAD_SECONDS:
            # Stored by this function for this key, so of the type `upload` gives.
            return cast("_Uploaded", kept[1])
    ident = upload(item)
    now = time.monotonic()
    with _uploads_lock:
        for stale in [k for k, (at, _) in _uploads.items() if now - at >= REUSE_UPLOAD_SECONDS]:
            del _uploads[stale]
        while len(_uploads) >= MAX_REMEMBERED_UPLOADS:
            del _uploads[next(iter(_uploads))]
        _uploads[key] = (now, ident)
    return ident


def forget_uploads() -> None:
    """Forget every remembered upload (the next publish sends its files again)."""
    with _uploads_lock:
        _uploads.clear()


def _upload_key(publisher: Publisher, idempotency_key: str, index: int, item: Media) -> str:
    """A digest naming the channel (all its settings, secrets included, and identity), the
    post and the file, so no other account or file ever gets the id."""
    digest = hashlib.sha256()
    for part in (
        publisher.kind,
        repr(publisher.session_key),
        repr(sorted(publisher.settings.items())),
        idempotency_key,
        str(index),
        item.url,
        item.alt_text,
        item.mime_type,
        item.filename,
        hashlib.sha256(item.content).hexdigest(),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def uploaded_file(item: Media, limits: images.Limits | None) -> MediaFile:
    """The bytes of a file uploaded to the planner, fitted to `limits` (if any)."""
    if not item.content:
        raise PermanentError(f"the file {item.filename!r} has no content to upload")
    content, mime_type = item.content, item.mime_type
    if limits is not None:
        try:
            content, mime_type = images.fit(content, mime_type, limits)
        except (images.CannotFit, images.NotAnImage) as err:
            raise PermanentError(f"cannot send {item.filename!r}: {err}") from err
    filename = item.filename or "upload"
    extension = mimetypes.guess_extension(mime_type) or ""
    # A file re-encoded as another type (a PNG photo sent as JPEG) gets that type's ending.
    endings = (extension, ".jpeg") if extension == ".jpg" else (extension,)
    if extension and not filename.lower().endswith(endings):
        filename = filename.rsplit(".", 1)[0] + extension
    return MediaFile(content=content, mime_type=mime_type, filename=filename)
