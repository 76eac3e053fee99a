"""End to end in Chromium: an image uploaded with its alt text in the Editor, approved, and
published by the embedded scheduler reaches a Mastodon-API server as media with that
description.

The Mastodon server is pytest-httpserver on 127.0.0.1 answering like `/api/v2/media` and
`/api/v1/statuses`. The harness (server, browser, clicking like a person) is the one of
`test_e2e_browser.py`. Select it with `-m e2e`; screenshots go to `test-output/e2e-media/`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select

from planner import channels, pieces, planning, users
from planner.credentials import new_key
from planner.db import make_engine
from planner.migrate import upgrade
from planner.models import Post, PostStatus
from tests.conftest import allow_private_network
from tests.ui.test_e2e_browser import (
    PASSWORD,
    SCREENSHOTS,
    ZONE,
    Dashboard,
    Server,
    _missing,
    _wait_for,
    chromium_page,
    serving,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

TOKEN = token_hex(16)  # made per run: no credential lives in the code
TITLE = "Sommerfest im Werk Nord"
BODY = "Am 12. Juli feiern wir im Werk Nord. Hier ist das Festzelt."
ALT = "Ein weißes Festzelt auf der Wiese vor dem Werk Nord"
MEDIA_ID = "109348751234"
STATUS_ID = "109348751299"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> str:
    """Editor, approver, a Mastodon channel to the local server and a piece planned on it."""
    monkeypatch.setenv("PLANNER_SECRET_KEY", new_key())
    url = f"sqlite:///{tmp_path / 'e2e-media.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.create_user(
            s,
            actor=None,
            data={
                "username": "admin",
                "display_name": "Admin",
                "role": "admin",
                "password": PASSWORD,
            },
        )
        made = {}
        for username, name, role in (
            ("eddi", "Eddi Editor", "editor"),
            ("anna", "Anna Approver", "approver"),
        ):
            made[username] = users.create_user(
                s,
                actor=admin,
                data={
                    "username": username,
                    "display_name": name,
                    "role": role,
                    "password": PASSWORD,
                    "timezone": ZONE,
                },
            )
        allow_private_network(s, admin)  # the Mastodon server listens on 127.0.0.1
        channel = channels.create_channel(
            s,
            actor=admin,
            kind="mastodon",
            name="Mastodon",
            settings={
                "instance_url": httpserver.url_for("/").rstrip("/"),
                "access_token": TOKEN,
            },
        )
        piece = pieces.create_piece(s, actor=made["eddi"], data={"title": TITLE, "body": BODY})
        assert piece.id is not None and channel.id is not None
        planning.plan_post(
            s,
            actor=made["eddi"],
            piece_id=piece.id,
            channel=channel.id,
            when=datetime.now(UTC) + timedelta(seconds=20),
        )
    engine.dispose()
    return url


@pytest.fixture
def mastodon(httpserver: HTTPServer) -> HTTPServer:
    """The local server answering the media upload and the status like Mastodon."""
    httpserver.expect_request(
        "/api/v2/media", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(
        {
            "id": MEDIA_ID,
            "type": "image",
            "url": f"https://files.example/{MEDIA_ID}.png",
            "description": ALT,
        }
    )
    httpserver.expect_request(
        "/api/v1/statuses", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(
        {"id": STATUS_ID, "url": f"https://social.example.de/@redaktion/{STATUS_ID}"}
    )
    return httpserver


@pytest.fixture
def server(database: str, tmp_path: Path) -> Iterator[Server]:
    with serving(database, tmp_path / "serve.log") as running:
        yield running


@pytest.fixture
def page(server: Server, tmp_path: Path) -> Iterator[Page]:
    with chromium_page(tmp_path / "chromium-profile") as opened:
        yield opened


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A photo as a phone takes it: a JPEG with the camera's EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "Kamerahersteller"  # Make
    path = tmp_path / "festzelt.jpg"
    Image.new("RGB", (1200, 800), "white").save(path, "JPEG", exif=exif.tobytes())
    return path


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_an_image_uploaded_in_the_editor_is_published_to_mastodon_with_its_alt_text(
    database: str, mastodon: HTTPServer, server: Server, page: Page, photo: Path
) -> None:
    ui = Dashboard(page, server, SCREENSHOTS.parent / "e2e-media")
    with ui.reporting_failure():
        _walk(ui, photo)
        _wait_for(
            lambda: any(r.path == "/api/v1/statuses" for r, _ in mastodon.log),
            timeout=60,
            what="the embedded scheduler to publish the status on the Mastodon server",
            server=server,
        )
    # The embedded worker also reads the channel's mentions (listening): those requests
    # aside, the file went up once, then the status naming it.
    requests = [(r.path, r) for r, _ in mastodon.log if r.path != "/api/v1/notifications"]
    assert [path for path, _ in requests] == ["/api/v2/media", "/api/v1/statuses"]
    upload, status = requests[0][1], requests[1][1]
    assert upload.form["description"] == ALT
    sent = upload.files["file"]
    assert (sent.filename, sent.mimetype) == ("festzelt.jpg", "image/jpeg")
    image = Image.open(io.BytesIO(sent.read()))
    assert image.size == (1200, 800)
    assert not image.getexif()  # the camera's data stayed behind
    assert json.loads(status.get_data())["media_ids"] == [MEDIA_ID]
    assert json.loads(status.get_data())["status"] == BODY
    engine = make_engine(database)

    def stored() -> Post:
        with Session(engine) as s:
            (post,) = s.exec(select(Post)).all()
            return post

    try:
        # The request is out; the worker records its answer a moment later.
        _wait_for(
            lambda: stored().status == PostStatus.published,
            timeout=30,
            what="the embedded scheduler to record the post as published",
            server=server,
        )
        post = stored()
    finally:
        engine.dispose()
    assert (post.status, post.external_id) == (PostStatus.published, STATUS_ID)


def _walk(ui: Dashboard, photo: Path) -> None:
    # Editor: attach the photo with its alt text, then submit the piece for review.
    ui.sign_in("eddi")
    ui.open("editor")
    ui.see(ui.t("editor.media.heading"))
    ui.main.locator("input[type='file']").set_input_files(str(photo))
    ui.idle()
    ui.see("festzelt.jpg")
    ui.type(ui.t("editor.media.new_alt"), ALT)
    ui.shot("editor-photo-chosen")
    ui.click(ui.t("editor.media.add"))
    ui.see(ui.t("editor.media.added", name="festzelt.jpg", revision=2))
    ui.see(
        ui.t("editor.media.image", name="festzelt.jpg", width=1200, height=800, size="\0").split(
            "\0"
        )[0]
    )
    ui.shot("editor-photo-attached")
    ui.open("board")
    ui.click(ui.t("moves.piece.submit"))
    ui.see(ui.t("board.moved", id=1, state=ui.t("status.in_review")))
    ui.sign_out()

    # Approver: approve revision 2, the one with the photo.
    ui.sign_in("anna")
    ui.open("approvals")
    ui.see(BODY)
    ui.shot("approver-queue")
    ui.click(ui.t("approvals.approve", revision=2))
    ui.see(ui.t("approvals.approved", id=1, revision=2))
    ui.shot("approver-approved")
