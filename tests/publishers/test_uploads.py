"""Files uploaded to the planner reach each channel as that channel's API takes them.

Each adapter talks to a local server answering like its channel; the tests assert the
exact upload requests, the alt text where the channel keeps it, and that images too large
for a channel arrive scaled down to its limits.
"""

from __future__ import annotations

import email
import io
import json
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer

from publishers.base import (
    AuthError,
    DeliveryError,
    Media,
    OutgoingPost,
    PermanentError,
    RateLimited,
    TransientError,
)
from publishers.bluesky import forget_sessions
from tests.publishers import test_bluesky as bluesky
from tests.publishers import test_mastodon as mastodon
from tests.publishers import test_matrix as matrix
from tests.publishers import test_newsletter as newsletter
from tests.publishers import test_wordpress as wordpress
from tests.publishers.stubs import answering_late
from tests.publishers.test_contract import FACTORIES, impatient

KEY = "5f0c6a52d1e24d8f9a3b7c1e0d2f4a6b"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def png(width: int, height: int) -> bytes:
    """A real PNG of noise-free colour, `width` x `height` pixels."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), "green").save(out, "PNG")
    return out.getvalue()


def uploaded(content: bytes, alt: str, name: str = "zelt.png", mime: str = "image/png") -> Media:
    """A file as the engine hands it over: no URL, its bytes, type and name."""
    return Media(url="", alt_text=alt, mime_type=mime, filename=name, content=content)


def size(content: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(content)).size


@pytest.fixture(autouse=True)
def _fresh_bluesky_sessions() -> Iterator[None]:
    forget_sessions()
    yield
    forget_sessions()


def test_mastodon_uploads_the_file_with_its_description_then_attaches_its_id(
    httpserver: HTTPServer,
) -> None:
    image = png(5000, 2500)  # wider than Mastodon's 3840 px
    httpserver.expect_oneshot_request(
        "/api/v2/media", method="POST", headers={"Authorization": f"Bearer {mastodon.TOKEN}"}
    ).respond_with_json(mastodon._attachment("4711", "https://files.example/zelt.png"))
    httpserver.expect_oneshot_request(
        "/api/v1/statuses",
        method="POST",
        json={
            "status": "Sommerfest!",
            "visibility": "public",
            "language": "de",
            "media_ids": ["4711"],
        },
        headers={"Idempotency-Key": KEY},
    ).respond_with_json(mastodon._status())
    post = OutgoingPost(
        post_id=7, title="T", text="Sommerfest!", media=[uploaded(image, "Ein Zelt im Park")]
    )
    mastodon._adapter(httpserver).publish(post, KEY)
    upload, _status = (request for request, _ in httpserver.log)
    assert upload.form["description"] == "Ein Zelt im Park"
    assert (upload.files["file"].filename, upload.files["file"].mimetype) == (
        "zelt.png",
        "image/png",
    )
    assert size(upload.files["file"].read()) == (3840, 1920)
    httpserver.check_assertions()


def test_bluesky_uploads_a_blob_within_one_megabyte_and_embeds_it_with_alt(
    httpserver: HTTPServer,
) -> None:
    image = png(3000, 1500)
    bluesky._expect_session(httpserver)
    blob = {
        "$type": "blob",
        "ref": {"$link": "bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa"},
        "mimeType": "image/png",
        "size": 1234,
    }
    httpserver.expect_oneshot_request(
        "/xrpc/com.atproto.repo.uploadBlob",
        method="POST",
        headers={"Authorization": f"Bearer {bluesky.ACCESS}", "Content-Type": "image/png"},
    ).respond_with_json({"blob": blob})
    httpserver.expect_oneshot_request(bluesky.PUT_RECORD, method="POST").respond_with_json(
        bluesky._put_answer()
    )
    post = OutgoingPost(post_id=7, title="T", text="Bild", media=[uploaded(image, "Ein Zelt")])
    bluesky._adapter(httpserver).publish(post, bluesky.KEY)
    (upload,) = bluesky._sent(httpserver, "/xrpc/com.atproto.repo.uploadBlob")
    assert size(upload.get_data()) == (2000, 1000)
    assert len(upload.get_data()) <= 1_000_000
    (put,) = bluesky._sent(httpserver, bluesky.PUT_RECORD)
    assert json.loads(put.get_data())["record"]["embed"] == {
        "$type": "app.bsky.embed.images",
        "images": [
            {"alt": "Ein Zelt", "image": blob, "aspectRatio": {"width": 2000, "height": 1000}}
        ],
    }
    httpserver.check_assertions()


def test_wordpress_uploads_to_the_media_library_with_alt_text_and_features_the_image(
    httpserver: HTTPServer,
) -> None:
    post = OutgoingPost(
        post_id=7,
        title=wordpress.POST.title,
        text="Wir feiern",
        media=[uploaded(png(100, 50), 'Ein "Zelt" & Bänke')],
    )
    wordpress._no_post_yet(httpserver)
    httpserver.expect_oneshot_request(
        "/wp-json/wp/v2/media", method="POST", headers={"Authorization": wordpress.BASIC}
    ).respond_with_json(
        {"id": 88, "source_url": "https://blog.example.de/wp-content/uploads/zelt.png"},
        status=201,
    )
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        wordpress._post(), status=201
    )
    wordpress._adapter(httpserver).publish(post, wordpress.KEY)
    _lookup, upload, create = (request for request, _ in httpserver.log)
    assert upload.form["alt_text"] == 'Ein "Zelt" & Bänke'
    assert upload.files["file"].filename == "zelt.png"
    assert upload.files["file"].mimetype == "image/png"
    assert size(upload.files["file"].read()) == (100, 50)
    body = json.loads(create.get_data())
    assert body["featured_media"] == 88
    assert body["content"].endswith(
        '<!-- wp:image {"id":88} -->\n<figure class="wp-block-image">'
        '<img src="https://blog.example.de/wp-content/uploads/zelt.png" '
        'alt="Ein &quot;Zelt&quot; &amp; Bänke" class="wp-image-88"/></figure>\n'
        "<!-- /wp:image -->"
    )
    httpserver.check_assertions()


def test_matrix_uploads_to_the_media_repository_then_sends_an_image_and_a_file_event(
    httpserver: HTTPServer,
) -> None:
    image = png(60, 40)
    post = OutgoingPost(
        post_id=42,
        title="T",
        text="Programm",
        media=[
            uploaded(image, "Das Festzelt"),
            uploaded(PDF, "", name="programm.pdf", mime="application/pdf"),
        ],
    )
    httpserver.expect_oneshot_request(matrix.SEND, method="PUT").respond_with_json(
        {"event_id": matrix.EVENT}
    )
    for name, uri, mime in (
        ("zelt.png", "mxc://example.de/Zelt", "image/png"),
        ("programm.pdf", "mxc://example.de/Programm", "application/pdf"),
    ):
        httpserver.expect_oneshot_request(
            "/_matrix/media/v3/upload",
            method="POST",
            query_string={"filename": name},
            headers={"Authorization": f"Bearer {matrix.TOKEN}", "Content-Type": mime},
        ).respond_with_json({"content_uri": uri})
        number = 1 if name == "zelt.png" else 2
        httpserver.expect_oneshot_request(
            f"{matrix.SEND}.{number}", method="PUT"
        ).respond_with_json({"event_id": f"$file{number}"})
    receipt = matrix._adapter(httpserver).publish(post, matrix.KEY)
    assert receipt.external_id == matrix.EVENT  # the text's event is the post's
    sent = [(r.path, r.get_data()) for r, _ in httpserver.log]
    # Both files are stored before anything reaches the room; the text's event comes first.
    assert [path for path, _ in sent] == [
        "/_matrix/media/v3/upload",
        "/_matrix/media/v3/upload",
        matrix.SEND,
        f"{matrix.SEND}.1",
        f"{matrix.SEND}.2",
    ]
    assert sent[0][1] == image and sent[1][1] == PDF
    assert json.loads(sent[3][1]) == {
        "msgtype": "m.image",
        "body": "Das Festzelt",
        "filename": "zelt.png",
        "url": "mxc://example.de/Zelt",
        "info": {"mimetype": "image/png", "size": len(image), "w": 60, "h": 40},
    }
    assert json.loads(sent[4][1]) == {
        "msgtype": "m.file",
        "body": "programm.pdf",
        "url": "mxc://example.de/Programm",
        "info": {"mimetype": "application/pdf", "size": len(PDF)},
    }
    httpserver.check_assertions()


def test_the_newsletter_shows_images_inline_by_content_id_and_attaches_a_pdf() -> None:
    adapter = newsletter._adapter(2525)
    post = OutgoingPost(
        post_id=1,
        title="Sommerfest",
        text="Wir feiern im Park.",
        media=[
            uploaded(png(2400, 1200), "Das Festzelt <groß>"),
            uploaded(PDF, "", name="programm.pdf", mime="application/pdf"),
        ],
    )
    assert adapter.validate(post) == []
    raw = adapter.compose(post, KEY).as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/mixed"
    html_part = parsed.get_body(("html",))
    assert html_part is not None
    (image_part,) = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    cid = str(image_part["Content-ID"]).strip("<>")
    assert f'<img src="cid:{cid}" alt="Das Festzelt &lt;groß&gt;"' in html_part.get_content()
    assert size(image_part.get_content()) == (1200, 600)
    (attachment,) = list(parsed.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("programm.pdf", PDF)
    # The same post gives the same Content-ID on a retry.
    again = adapter.compose(post, KEY).as_bytes()
    assert cid.encode() in again


def test_a_newsletter_refuses_media_given_only_by_url() -> None:
    adapter = newsletter._adapter(2525)
    post = OutgoingPost(
        post_id=1, title="S", text="x", media=[Media("https://example.de/a.png", "Alt")]
    )
    (found,) = adapter.validate(post)
    assert (found.field, found.code) == ("media", "upload_needed")


@pytest.mark.parametrize(
    ("kind", "media", "code"),
    [
        pytest.param("slack", [uploaded(b"x", "Alt")], "no_media", id="slack-no-media"),
        pytest.param("webhook", [uploaded(b"x", "Alt")], "no_uploads", id="webhook-urls-only"),
        pytest.param(
            "bluesky",
            [uploaded(PDF, "", name="a.pdf", mime="application/pdf")],
            "type_not_taken",
            id="bluesky-no-pdf",
        ),
        pytest.param(
            "mastodon", [uploaded(b"x", "Alt")] * 5, "too_many_uploads", id="mastodon-five"
        ),
    ],
)
def test_channels_name_the_files_they_cannot_carry(
    kind: str, media: list[Media], code: str
) -> None:
    adapter = FACTORIES[kind]("https://channel.example.de")
    post = OutgoingPost(post_id=1, title="T", text="x", media=media)
    assert code in {p.code for p in adapter.validate(post) if p.field == "media"}


UPLOAD_FAILURES = [
    pytest.param(429, {"Retry-After": "30"}, RateLimited, id="429"),
    pytest.param(401, {}, AuthError, id="401"),
    pytest.param(400, {}, PermanentError, id="400"),
    pytest.param(500, {}, TransientError, id="500"),
]
# Telegram has no upload of its own: sendPhoto is the post.
UPLOAD_FIRST = ("linkedin", "x", "facebook")


@pytest.mark.parametrize("kind", [*UPLOAD_FIRST, "telegram"])
@pytest.mark.parametrize(("status", "headers", "error"), UPLOAD_FAILURES)
def test_a_refused_upload_maps_like_the_channels_other_calls_and_posts_nothing(
    kind: str,
    status: int,
    headers: dict[str, str],
    error: type[DeliveryError],
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("").respond_with_data(
        '{"error": "refused by the test server"}',
        status=status,
        headers=headers,
        content_type="application/json",
    )
    adapter = FACTORIES[kind](httpserver.url_for("").rstrip("/"))
    post = OutgoingPost(post_id=1, title="T", text="Bild", media=[uploaded(png(8, 8), "Alt")])
    with pytest.raises(error) as caught:
        adapter.publish(post, KEY)
    assert caught.value.http_status == status
    assert not caught.value.ambiguous
    assert len(httpserver.log) == 1  # the upload (Telegram: the post), nothing after it
    if isinstance(caught.value, RateLimited):
        assert 25 <= caught.value.retry_after <= 31


@pytest.mark.parametrize("kind", [*UPLOAD_FIRST, "telegram"])
def test_an_upload_that_times_out_is_transient_and_ambiguous_only_as_the_post(
    kind: str, httpserver: HTTPServer
) -> None:
    adapter = impatient(kind, httpserver)
    post = OutgoingPost(post_id=1, title="T", text="Bild", media=[uploaded(png(8, 8), "Alt")])
    with answering_late(httpserver, "", oneshot=False), pytest.raises(TransientError) as caught:
        adapter.publish(post, KEY)
    # A file that went up is no post; Telegram's sendPhoto may have posted it.
    assert caught.value.ambiguous is (kind == "telegram")


# --- a retry after the post failed ---------------------------------------------------------


def test_a_mastodon_retry_attaches_the_uploaded_file_without_sending_it_again(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request("/api/v2/media", method="POST").respond_with_json(
        mastodon._attachment("4711", "https://files.example/zelt.png")
    )
    httpserver.expect_oneshot_request("/api/v1/statuses", method="POST").respond_with_json(
        {"error": "busy"}, status=503
    )
    httpserver.expect_oneshot_request(
        "/api/v1/statuses", method="POST", headers={"Idempotency-Key": KEY}
    ).respond_with_json(mastodon._status())
    post = OutgoingPost(post_id=7, title="T", text="x", media=[uploaded(png(8, 8), "Zelt")])
    with pytest.raises(TransientError):
        mastodon._adapter(httpserver).publish(post, KEY)
    # The engine builds the adapter anew for the retry.
    mastodon._adapter(httpserver).publish(post, KEY)
    upload, *statuses = (request for request, _ in httpserver.log)
    assert upload.path == "/api/v2/media"
    assert [json.loads(s.get_data())["media_ids"] for s in statuses] == [["4711"]] * 2
    httpserver.check_assertions()


def test_a_wordpress_retry_features_the_uploaded_image_without_adding_it_again(
    httpserver: HTTPServer,
) -> None:
    post = OutgoingPost(
        post_id=7, title=wordpress.POST.title, text="x", media=[uploaded(png(8, 8), "Zelt")]
    )
    httpserver.expect_request("/wp-json/wp/v2/posts", method="GET").respond_with_json([])
    httpserver.expect_oneshot_request("/wp-json/wp/v2/media", method="POST").respond_with_json(
        {"id": 88, "source_url": "https://blog.example.de/wp-content/uploads/zelt.png"},
        status=201,
    )
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        {"code": "busy"}, status=503
    )
    httpserver.expect_oneshot_request("/wp-json/wp/v2/posts", method="POST").respond_with_json(
        wordpress._post(), status=201
    )
    with pytest.raises(TransientError):
        wordpress._adapter(httpserver).publish(post, wordpress.KEY)
    wordpress._adapter(httpserver).publish(post, wordpress.KEY)
    sent = [(r.method, r.path) for r, _ in httpserver.log]
    assert sent.count(("POST", "/wp-json/wp/v2/media")) == 1
    creates = [
        r for r, _ in httpserver.log if (r.method, r.path) == ("POST", "/wp-json/wp/v2/posts")
    ]
    assert [json.loads(c.get_data())["featured_media"] for c in creates] == [88, 88]
    httpserver.check_assertions()


def test_a_matrix_retry_posts_the_uploaded_file_without_storing_it_again(
    httpserver: HTTPServer,
) -> None:
    post = OutgoingPost(post_id=42, title="T", text="x", media=[uploaded(png(8, 8), "Zelt")])
    httpserver.expect_request(matrix.SEND, method="PUT").respond_with_json(
        {"event_id": matrix.EVENT}
    )
    httpserver.expect_oneshot_request("/_matrix/media/v3/upload", method="POST").respond_with_json(
        {"content_uri": "mxc://example.de/Zelt"}
    )
    httpserver.expect_oneshot_request(f"{matrix.SEND}.1", method="PUT").respond_with_json(
        {"errcode": "M_UNKNOWN"}, status=502
    )
    httpserver.expect_oneshot_request(f"{matrix.SEND}.1", method="PUT").respond_with_json(
        {"event_id": "$file1"}
    )
    with pytest.raises(TransientError):
        matrix._adapter(httpserver).publish(post, matrix.KEY)
    assert matrix._adapter(httpserver).publish(post, matrix.KEY).external_id == matrix.EVENT
    paths = [r.path for r, _ in httpserver.log]
    assert paths.count("/_matrix/media/v3/upload") == 1
    files = [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == f"{matrix.SEND}.1"]
    assert [f["url"] for f in files] == ["mxc://example.de/Zelt"] * 2
    httpserver.check_assertions()


def test_a_bluesky_retry_uploads_the_blob_again_since_an_unused_blob_is_soon_deleted(
    httpserver: HTTPServer,
) -> None:
    bluesky._expect_session(httpserver)
    blob = {"$type": "blob", "ref": {"$link": "bafkreib"}, "mimeType": "image/png", "size": 9}
    httpserver.expect_request("/xrpc/com.atproto.repo.uploadBlob", method="POST").respond_with_json(
        {"blob": blob}
    )
    httpserver.expect_oneshot_request(bluesky.PUT_RECORD, method="POST").respond_with_json(
        {"error": "InternalServerError"}, status=502
    )
    httpserver.expect_oneshot_request(bluesky.PUT_RECORD, method="POST").respond_with_json(
        bluesky._put_answer()
    )
    post = OutgoingPost(post_id=7, title="T", text="x", media=[uploaded(png(8, 8), "Zelt")])
    with pytest.raises(TransientError):
        bluesky._adapter(httpserver).publish(post, bluesky.KEY)
    bluesky._adapter(httpserver).publish(post, bluesky.KEY)
    uploads = bluesky._sent(httpserver, "/xrpc/com.atproto.repo.uploadBlob")
    assert len(uploads) == 2 and uploads[0].get_data() == uploads[1].get_data()
    httpserver.check_assertions()
