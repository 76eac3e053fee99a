"""Uploaded images and documents: what a file really is, without its metadata, and fitted
to a channel's limits (pixel size and bytes) by Pillow.

A file is judged by its content, never by its name or the type a browser claimed: Pillow
must open it as PNG, JPEG, GIF or WebP, or it must be a PDF. Every image is stored
re-encoded, so what a camera wrote into it (EXIF: place, device, time) never leaves the
planner.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Pillow's format names of the images the planner takes, with the type each is sent as.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
PDF_TYPE = "application/pdf"
# More pixels than this is a decompression bomb, not a photo (Pillow warns above 89 Mpx).
MAX_SOURCE_PIXELS = 80_000_000


class NotAnImage(ValueError):
    """The bytes are no PNG, JPEG, GIF or WebP image and no PDF; the text says what they are.

    `reason` names the case for translations: "unknown", "pdf_cut_off", "format"
    (another image format, named by `format`), "animated" (an image of `frames` frames),
    "damaged" or "too_many_pixels".
    """

    def __init__(self, reason: str, text: str, *, format: str = "", frames: int = 1) -> None:
        self.reason = reason
        self.format = format
        self.frames = frames
        super().__init__(text)


class CannotFit(ValueError):
    """An image cannot be made small enough for a channel, even at its lowest quality."""


@dataclass(frozen=True)
class Checked:
    """A file as it is stored: its type, its (re-encoded) bytes and, for images, its size."""

    mime_type: str
    content: bytes
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Limits:
    """What one channel takes per post: how many files, which types, how large.

    `max_side` is the longest side in pixels, `max_bytes` the size of one file; 0 means no
    limit. A larger image is scaled down and re-encoded to fit; a document never is.
    """

    max_count: int
    types: frozenset[str]
    max_side: int = 0
    max_bytes: int = 0


def sniff(content: bytes) -> str:
    """The type of `content` by its first bytes: an image type, PDF, or "" if neither."""
    if content.startswith(b"%PDF-"):
        return PDF_TYPE
    try:
        opened = _open(content)
    except NotAnImage:
        return ""
    if opened is None:
        return ""
    with opened:
        return IMAGE_TYPES.get(opened.format or "", "")


def check(content: bytes) -> Checked:
    """The file as it is stored: a PDF as it is, an image re-encoded without its metadata.

    Raises NotAnImage when it is neither (a renamed text file, a broken image), and for an
    animated image: it would be stored as its first frame, a change nobody asked for.
    """
    if content.startswith(b"%PDF-"):
        if b"%%EOF" not in content[-1024:]:
            raise NotAnImage("pdf_cut_off", "the PDF is cut off (no end-of-file marker)")
        return Checked(PDF_TYPE, content)
    opened = _open(content)
    if opened is None:
        raise NotAnImage("unknown", "it is no PNG, JPEG, GIF or WebP image and no PDF")
    with opened as image:
        mime_type = IMAGE_TYPES.get(image.format or "")
        if mime_type is None:
            raise NotAnImage(
                "format",
                f"it is a {image.format} image; PNG, JPEG, GIF or WebP are taken",
                format=str(image.format),
            )
        frames = int(getattr(image, "n_frames", 1))
        if frames > 1:
            raise NotAnImage(
                "animated", f"it is an animated image of {frames} frames", frames=frames
            )
        try:
            _load_whole(image)
        except (OSError, ValueError, SyntaxError) as err:
            raise NotAnImage("damaged", f"the image is damaged ({err})") from err
        clean = _without_metadata(image)
        return Checked(mime_type, _encode(clean, mime_type), clean.width, clean.height)


def fit(content: bytes, mime_type: str, limits: Limits) -> tuple[bytes, str]:
    """`content` scaled down and re-encoded until it keeps `limits`; as it is if it does.

    A document is never changed. Raises CannotFit if even a small, low-quality version
    is larger than `limits.max_bytes`.
    """
    if mime_type not in IMAGE_TYPES.values():
        return content, mime_type
    opened = _open(content)
    if opened is None:
        raise NotAnImage("unknown", "it is no PNG, JPEG, GIF or WebP image")
    with opened as image:
        image.load()
        too_large = limits.max_side and max(image.size) > limits.max_side
        if not too_large and (not limits.max_bytes or len(content) <= limits.max_bytes):
            return content, mime_type
        side = min(max(image.size), limits.max_side or max(image.size))
        target_type = mime_type
        for attempt in range(12):
            scaled = image.copy()
            scaled.thumbnail((side, side), Image.Resampling.LANCZOS)
            quality = max(40, 85 - 10 * attempt)
            encoded = _encode(scaled, target_type, quality=quality)
            if not limits.max_bytes or len(encoded) <= limits.max_bytes:
                return encoded, target_type
            if target_type == "image/png" and "image/jpeg" in limits.types:
                target_type = "image/jpeg"  # a photo saved as PNG: JPEG is far smaller
                continue
            side = int(side * 0.8)
            if side < 64:
                break
    raise CannotFit(f"the image cannot be made smaller than {limits.max_bytes:,} bytes")


def size_of(content: bytes) -> tuple[int, int]:
    """The width and height of an image in pixels; (0, 0) if it is none."""
    try:
        opened = _open(content)
    except NotAnImage:
        return (0, 0)
    if opened is None:
        return (0, 0)
    with opened as image:
        return image.size


def _load_whole(image: Image.Image) -> None:
    """Decode `image`, refusing a cut-off one even where a library in the same process
    told Pillow to accept truncated images (matrix-synapse does so on import)."""
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def _open(content: bytes) -> Image.Image | None:
    """The image in `content`, not decoded yet; None if it is none. NotAnImage if it has
    more pixels than any photo (a decompression bomb: small file, huge image)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(content))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
            raise _too_many_pixels() from err
        except (UnidentifiedImageError, OSError, ValueError):
            return None
    if image.width * image.height > MAX_SOURCE_PIXELS:
        image.close()
        raise _too_many_pixels()
    return image


def _too_many_pixels() -> NotAnImage:
    return NotAnImage("too_many_pixels", f"the image has more than {MAX_SOURCE_PIXELS:,} pixels")


def _without_metadata(image: Image.Image) -> Image.Image:
    """A copy of the first frame, turned as the camera meant it, with no metadata at all."""
    upright = ImageOps.exif_transpose(image) or image
    clean = Image.new(upright.mode, upright.size)
    clean.paste(upright)
    if "transparency" in upright.info and upright.mode in ("P", "L", "RGB"):
        clean.info["transparency"] = upright.info["transparency"]
    if upright.mode == "P" and upright.palette is not None:
        clean.putpalette(upright.getpalette() or [])
    return clean


def _encode(image: Image.Image, mime_type: str, *, quality: int = 90) -> bytes:
    """`image` written as `mime_type`, with nothing but its pixels."""
    out = io.BytesIO()
    if mime_type == "image/jpeg":
        image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    elif mime_type == "image/webp":
        image.save(out, "WEBP", quality=quality)
    elif mime_type == "image/gif":
        image.save(out, "GIF", optimize=True)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()
