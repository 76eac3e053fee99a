"""The Editor's images and documents under AppTest, in English and German: files listed with
their alt text, alt text changed and removed as new revisions, refusals said clearly."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlmodel import Session

from planner import media, pieces, users
from planner.db import make_engine
from planner.ui import keys
from tests.ui.conftest import PASSWORD, account, open_page, sign_in


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(out, "PNG")
    return out.getvalue()


def _setup(database: str) -> tuple[int, int]:
    """A piece with one image (alt text "Ein Zelt") at revision 2; (piece id, file id)."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        account(s, actor=admin, username="erika", role="editor", locale="de")
        ed = users.get_user(s, "ed")
        piece = pieces.create_piece(
            s, actor=ed, data={"title": "Sommerfest", "body": "Wir feiern."}
        )
        assert piece.id is not None
        piece = media.upload_media(
            s,
            actor=ed,
            piece_id=piece.id,
            expected_revision=1,
            filename="zelt.png",
            content=_png(),
            alt_text="Ein Zelt",
        )
    engine.dispose()
    return piece.id or 0, int(piece.media[0]["id"])


def _stored(database: str, piece_id: int) -> tuple[int, list[str]]:
    with Session(make_engine(database)) as s:
        piece = pieces.get_piece(s, actor=users.get_user(s, "ed"), piece_id=piece_id)
        return piece.revision, [str(ref["alt_text"]) for ref in piece.media]


@pytest.mark.parametrize(
    ("username", "heading", "line", "saved"),
    [
        pytest.param(
            "ed",
            "Images and documents",
            "zelt.png · 64 × 48 pixels · 1 KB",
            "Alt text of zelt.png saved: revision 3.",
            id="en",
        ),
        pytest.param(
            "erika",
            "Bilder und Dokumente",
            "zelt.png · 64 × 48 Pixel · 1 KB",
            "Alternativtext von zelt.png gespeichert: Version 3.",
            id="de",
        ),
    ],
)
def test_the_files_are_listed_and_a_new_alt_text_is_a_new_revision(
    database: str, username: str, heading: str, line: str, saved: str
) -> None:
    piece_id, file_id = _setup(database)
    at = open_page(sign_in(username, PASSWORD), "editor")
    assert not at.exception
    assert heading in [h.value for h in at.subheader]
    assert line in [t.value for t in at.text]
    alt = at.text_area(key=f"{keys.EDITOR_MEDIA_ALT}{file_id}")
    assert alt.value == "Ein Zelt"
    alt.input("Ein oranges Zelt im Park")
    at.button(key=f"{keys.EDITOR_MEDIA_ALT_SAVE}{file_id}").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [saved]
    assert _stored(database, piece_id) == (3, ["Ein oranges Zelt im Park"])
    # The editor goes on from the new revision: a text save after it is no conflict.
    at.text_area(key=keys.EDITOR_BODY).input("Wir feiern im Park.")
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert not at.error
    assert _stored(database, piece_id) == (4, ["Ein oranges Zelt im Park"])


@pytest.mark.parametrize(
    ("username", "refusal"),
    [
        pytest.param(
            "ed",
            "Alt text: The image 'zelt.png' needs an alt text: describe what it shows for "
            "people who cannot see it",
            id="en",
        ),
        pytest.param(
            "erika",
            "Alternativtext: Das Bild „zelt.png“ braucht einen Alternativtext: Beschreiben Sie, "
            "was es zeigt, für Menschen, die es nicht sehen.",
            id="de",
        ),
    ],
)
def test_an_empty_alt_text_is_refused_in_the_users_language_and_nothing_is_saved(
    database: str, username: str, refusal: str
) -> None:
    piece_id, file_id = _setup(database)
    at = open_page(sign_in(username, PASSWORD), "editor")
    at.text_area(key=f"{keys.EDITOR_MEDIA_ALT}{file_id}").input("   ")
    at.button(key=f"{keys.EDITOR_MEDIA_ALT_SAVE}{file_id}").click().run()
    assert not at.exception
    assert refusal in [e.value for e in at.error]
    assert _stored(database, piece_id) == (2, ["Ein Zelt"])


def test_removing_a_file_is_a_new_revision_and_attaching_nothing_asks_for_a_file(
    database: str,
) -> None:
    piece_id, file_id = _setup(database)
    at = open_page(sign_in("erika", PASSWORD), "editor")
    at.button(key=keys.EDITOR_MEDIA_ADD).click().run()
    assert "Bitte zuerst eine Datei wählen." in [e.value for e in at.error]
    at.button(key=f"{keys.EDITOR_MEDIA_REMOVE}{file_id}").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["zelt.png entfernt: Version 3 gespeichert."]
    assert "Dieser Beitrag hat noch keine Dateien." in [i.value for i in at.info]
    assert _stored(database, piece_id) == (3, [])


def test_the_approver_sees_the_files_with_their_alt_text_and_the_history_says_what_changed(
    database: str,
) -> None:
    piece_id, _ = _setup(database)
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        account(s, actor=admin, username="ada", role="approver", locale="de")
        pieces.submit_piece(s, actor=users.get_user(s, "ed"), piece_id=piece_id)
    engine.dispose()
    at = open_page(sign_in("ada", PASSWORD), "approvals")
    assert not at.exception
    assert "Bilder und Dokumente" in [h.value for h in at.subheader]
    assert "Alternativtext: Ein Zelt" in [t.value for t in at.text]
    assert "Dateien (Name: Alternativtext)" in [m.value.strip("*") for m in at.markdown]
    at = open_page(sign_in("erika", PASSWORD), "editor")
    history = at.dataframe[0].value
    assert "zelt.png angehängt" in list(history.iloc[:, -1])
