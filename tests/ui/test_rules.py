"""The Rules page (admins) in German and English, with its YAML export and its import of
a YAML or JSON file; rule findings on Approvals (a blocking finding is shown, refuses
approval, and an approver overrides it with a justification) and on the Editor, on the text
as it is typed."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from planner import audiences, channels, pieces, rule_checks, rules, users
from planner.db import make_engine
from planner.models import AuditEvent, PieceStatus
from planner.ui import keys
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in
from tests.ui.test_approvals import stored
from tests.ui.test_process_findings import NO_GUARANTEES


def _type_hashtag_rule(at: AppTest, settings: str, *, messages: bool = True) -> None:
    """Fill the add form with a rule "Hashtags" of kind max_hashtags (its messages too)."""
    at.text_input(key=keys.RULES_NAME).input("Hashtags")
    at.selectbox(key=keys.RULES_KIND).select("max_hashtags")
    at.text_area(key=keys.RULES_SETTINGS).input(settings)
    if messages:
        at.text_area(key=keys.RULES_MESSAGE_DE).input("Höchstens drei Hashtags.")
        at.text_area(key=keys.RULES_MESSAGE_EN).input("At most three hashtags.")


def test_a_fresh_install_offers_the_default_rules_and_the_page_keeps_them(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "rules")
    assert not at.exception
    assert at.title[0].value == "Veröffentlichungsregeln"
    assert "Regelsatz" in at.info[0].value

    at.button(key=keys.RULES_DEFAULTS).click().run()

    assert [s.value for s in at.success] == ["4 Regeln wurden übernommen."]
    table = at.dataframe[0].value
    assert list(table["Art"]) == [
        "Alternativtext für Bilder",
        "Kennzeichnung von Werbung",
        "Ruhezeiten",
        "UTM-Parameter in Links",
    ]
    assert list(table["Stufe"]) == ["warnt", "sperrt", "sperrt", "warnt"]
    assert list(table["Gilt für"]) == ["alle"] * 4
    at.selectbox(key=keys.RULES_PICK).select("Nachtruhe und Sonntag")
    at.button(key=keys.RULES_TOGGLE).click().run()
    assert [s.value for s in at.success] == ["Die Regel Nachtruhe und Sonntag ist ausgeschaltet."]
    assert list(at.dataframe[0].value["Aktiv"]) == ["ja", "ja", "nein", "ja"]


def test_adding_a_rule_names_a_wrong_setting_in_german_and_keeps_what_was_typed(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "rules")
    _type_hashtag_rule(at, "max: drei")
    at.button(key=keys.RULES_ADD).click().run()

    assert [e.value for e in at.error] == [
        "Einstellungen (YAML): „max“ muss eine ganze Zahl ab 0 sein, nicht „drei“."
    ]
    assert at.text_input(key=keys.RULES_NAME).value == "Hashtags"

    at.text_area(key=keys.RULES_SETTINGS).input("max: 3")
    at.button(key=keys.RULES_ADD).click().run()
    assert [s.value for s in at.success] == ["Die Regel Hashtags wurde hinzugefügt."]
    assert at.dataframe[0].value.to_dict("records") == [
        {
            "Regel": "Hashtags",
            "Art": "Höchstzahl Hashtags",
            "Stufe": "sperrt",
            "Aktiv": "ja",
            "Gilt für": "alle",
            "Hinweis": "Höchstens drei Hashtags.",
        }
    ]


def test_a_rules_severity_settings_and_messages_are_changed_on_the_page(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "rules")
    _type_hashtag_rule(at, "max: 3")
    at.button(key=keys.RULES_ADD).click().run()
    rule_id = 1
    settings = at.text_area(key=f"{keys.RULES_EDIT_SETTINGS}{rule_id}")
    assert settings.value == "max: 3\n"  # the stored settings, as YAML

    settings.input("max: viele")
    at.button(key=keys.RULES_EDIT_SAVE).click().run()
    assert [e.value for e in at.error] == [
        "Einstellungen (YAML): „max“ muss eine ganze Zahl ab 0 sein, nicht „viele“."
    ]
    assert at.dataframe[0].value["Hinweis"].tolist() == ["Höchstens drei Hashtags."]

    at.selectbox(key=f"{keys.RULES_EDIT_SEVERITY}{rule_id}").select("warn")
    at.text_area(key=f"{keys.RULES_EDIT_SETTINGS}{rule_id}").input("max: 5")
    at.text_area(key=f"{keys.RULES_EDIT_MESSAGE_DE}{rule_id}").input("Höchstens fünf Hashtags.")
    at.button(key=keys.RULES_EDIT_SAVE).click().run()

    assert [s.value for s in at.success] == ["Die Regel Hashtags wurde geändert."]
    row = at.dataframe[0].value.to_dict("records")[0]
    assert (row["Stufe"], row["Hinweis"]) == ("warnt", "Höchstens fünf Hashtags.")
    assert at.text_area(key=f"{keys.RULES_EDIT_SETTINGS}{rule_id}").value == "max: 5\n"
    assert at.text_area(key=f"{keys.RULES_EDIT_MESSAGE_EN}{rule_id}").value == (
        "At most three hashtags."
    )


def test_a_rules_scope_is_picked_when_added_and_changed_on_the_page(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        for name in ("Blog", "Mastodon"):
            channels.create_channel(s, actor=admin, kind="recording", name=name, settings={})
        audiences.create_audience(s, actor=admin, name="Fachpresse")
    engine.dispose()
    at = open_page(sign_in("admin", PASSWORD), "rules")
    assert at.multiselect(key=keys.RULES_CHANNELS).options == ["Blog", "Mastodon"]
    assert at.multiselect(key=keys.RULES_DEPARTMENTS).options == ["HR"]
    assert at.multiselect(key=keys.RULES_AUDIENCES).options == ["Fachpresse"]
    _type_hashtag_rule(at, "max: 3", messages=False)
    at.multiselect(key=keys.RULES_CHANNELS).select("Blog")
    at.multiselect(key=keys.RULES_DEPARTMENTS).select("HR")
    at.text_input(key=keys.RULES_CAMPAIGNS).input("Herbst, Messe")
    at.button(key=keys.RULES_ADD).click().run()
    # Both messages are required; what was picked stays for the second try.
    assert [e.value for e in at.error] == [
        "Hinweis auf Deutsch: Die Regel braucht diesen Hinweis (Sprache: de).; "
        "Hinweis auf Englisch: Die Regel braucht diesen Hinweis (Sprache: en)."
    ]
    assert at.multiselect(key=keys.RULES_DEPARTMENTS).value == ["HR"]
    _type_hashtag_rule(at, "max: 3")
    at.button(key=keys.RULES_ADD).click().run()
    assert [s.value for s in at.success] == ["Die Regel Hashtags wurde hinzugefügt."]
    assert at.dataframe[0].value["Gilt für"].tolist() == [
        "Kanäle: Blog; Abteilungen: HR; Kampagnen: Herbst, Messe"
    ]

    # The edit form starts from the stored scope; the department is taken off, the
    # audience added, and the campaigns typed anew.
    rule_id = 1
    field = f"{keys.RULES_EDIT_SCOPE}{{}}_{rule_id}".format
    assert at.multiselect(key=field("channels")).value == ["Blog"]
    assert at.text_input(key=field("campaigns")).value == "Herbst, Messe"
    at.multiselect(key=field("departments")).unselect("HR")
    at.multiselect(key=field("audiences")).select("Fachpresse")
    at.multiselect(key=field("channels")).select("Mastodon")
    at.text_input(key=field("campaigns")).input("")
    at.button(key=keys.RULES_EDIT_SAVE).click().run()

    assert [s.value for s in at.success] == ["Die Regel Hashtags wurde geändert."]
    assert at.dataframe[0].value["Gilt für"].tolist() == [
        "Kanäle: Blog, Mastodon; Zielgruppen: Fachpresse"
    ]
    engine = make_engine(database)
    with Session(engine) as s:
        stored_rule = rules.get_rule(s, actor=users.get_user(s, "admin"), ref="Hashtags")
        assert stored_rule.scope == {
            "audiences": ["Fachpresse"],
            "campaigns": [],
            "channels": ["Blog", "Mastodon"],
            "departments": [],
        }
    engine.dispose()


def test_the_rules_page_speaks_english(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        rules.load_default_rules(s, actor=users.get_user(s, "admin"))
    engine.dispose()
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "rules")
    assert not at.exception
    assert at.title[0].value == "Publishing rules"
    table = at.dataframe[0].value
    assert list(table.columns) == ["Rule", "Kind", "Severity", "Active", "Applies to", "Message"]
    assert list(table["Severity"]) == ["warns", "blocks", "blocks", "warns"]
    assert (
        table["Message"][2]
        == "The company's accounts do not post at night (10 pm to 7 am) or on Sundays."
    )


def _blocked_in_review(database: str) -> int:
    """A piece in review on channel Feed whose text a rule added later blocks; its id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        feed = channels.create_channel(s, actor=admin, kind="recording", name="Feed", settings={})
        piece = pieces.create_piece(
            s, actor=editor, data={"title": "Tarif", "body": "Der garantiert beste Tarif."}
        )
        assert piece.id is not None
        pieces.edit_piece(
            s,
            actor=editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {feed.id: "Der garantiert beste Tarif."}},
        )
        pieces.submit_piece(s, actor=editor, piece_id=piece.id)
        rules.add_rule(s, actor=admin, data=NO_GUARANTEES)
    engine.dispose()
    return piece.id


def test_a_blocking_finding_refuses_approval_until_an_approver_overrides_it(
    database: str,
) -> None:
    add_user(database, "anna", "approver")
    piece_id = _blocked_in_review(database)
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    finding = (
        "Sperrt: Regel „Keine Garantien“ auf dem Kanal „Feed“: Wir versprechen nichts. "
        "(verboten: garantiert)"
    )
    assert finding in [e.value for e in at.error]

    at.button(key=keys.APPROVALS_APPROVE).click().run()
    assert any(e.value.startswith("Regeln: Regel „Keine Garantien“") for e in at.error)
    assert stored(database, piece_id).status == PieceStatus.in_review

    at.text_area(key=keys.APPROVALS_OVERRIDE_WHY).input("kurz")
    at.button(key=keys.APPROVALS_OVERRIDE).click().run()
    # At the override form, as its own refusal (not moved to the top as another piece's).
    assert any("mindestens 10 Zeichen" in e.value for e in at.error)
    assert not [e for e in at.error if e.value.startswith("Beitrag #")]
    why = "Zitat aus dem geprüften Tarifvertrag"
    at.text_area(key=keys.APPROVALS_OVERRIDE_WHY).input(why)
    at.button(key=keys.APPROVALS_OVERRIDE).click().run()
    assert [s.value for s in at.success] == [
        "Die Regel Keine Garantien gilt für Version 2 nicht mehr."
    ]
    assert any(why in m.value for m in at.markdown)
    assert not [e for e in at.error if "Keine Garantien" in e.value]

    at.button(key=keys.APPROVALS_APPROVE).click().run()
    assert stored(database, piece_id).status == PieceStatus.approved
    with Session(make_engine(database)) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "rule_override")).one()
    assert event.actor_name == "anna" and why in event.note


def test_the_editor_shows_the_rules_finding_as_the_text_changes(database: str) -> None:
    piece_id = _blocked_in_review(database)
    at = sign_in("ed", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("de").run()
    at = open_page(at, "editor")
    at.selectbox(key=keys.EDITOR_PIECE).select(piece_id).run()
    assert any(e.value.startswith("Sperrt: Regel „Keine Garantien“") for e in at.error)
    add_user(database, "anna", "approver")
    engine = make_engine(database)
    with Session(engine) as s:
        rule_checks.override_finding(
            s,
            actor=users.get_user(s, "anna"),
            piece_id=piece_id,
            revision=2,
            rule="Keine Garantien",
            channel_id=None,
            justification="Zitat aus dem Vertrag",
        )
    engine.dispose()
    at.run()
    assert any(i.value.startswith("Aufgehoben: Regel „Keine Garantien“") for i in at.info)
    assert [m.value for m in at.markdown if "aufgehoben von" in m.value] == [
        "Version 2: Keine Garantien (alle Kanäle), aufgehoben von Anna: Zitat aus dem Vertrag"
    ]


def test_the_editor_adds_utm_parameters_to_a_campaigns_links_as_a_new_version(
    database: str,
) -> None:
    text = "Mehr unter https://lindenbach.example/tarif"
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        feed = channels.create_channel(s, actor=admin, kind="recording", name="Feed", settings={})
        piece = pieces.create_piece(
            s, actor=editor, data={"title": "Tarif", "body": text, "campaign": "Winter Aktion"}
        )
        assert piece.id is not None
        pieces.edit_piece(
            s,
            actor=editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {feed.id: text}},
        )
        rules.add_rule(
            s,
            actor=admin,
            data={
                "name": "UTM",
                "kind": "utm_links",
                "severity": "warn",
                "message": {"de": "Links mit UTM.", "en": "Links with UTM."},
            },
        )
    engine.dispose()
    at = sign_in("ed", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("de").run()
    at = open_page(at, "editor")
    assert any(w.value.startswith("Warnung: Regel „UTM“") for w in at.warning)

    at.button(key=f"{keys.EDITOR_UTM_FIX}{feed.id}").click().run()

    fixed = (
        "Mehr unter https://lindenbach.example/tarif?utm_source=feed&utm_medium=social"
        "&utm_campaign=winter-aktion"
    )
    assert at.text_area(key=f"{keys.EDITOR_VARIANT}{feed.id}").value == fixed
    assert [s.value for s in at.success] == ["Die Links tragen jetzt UTM-Parameter (Version 3)."]
    assert not [w for w in at.warning if "UTM" in w.value]
    assert stored(database, piece.id).variants == {str(feed.id): fixed}


def test_the_editor_checks_the_rules_on_the_text_as_it_is_typed_before_it_is_saved(
    database: str,
) -> None:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        feed = channels.create_channel(s, actor=admin, kind="recording", name="Feed", settings={})
        piece = pieces.create_piece(
            s, actor=editor, data={"title": "Tarif", "body": "Der beste Tarif."}
        )
        assert piece.id is not None and feed.id is not None
        pieces.edit_piece(
            s,
            actor=editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {feed.id: "Unser Tarif."}},
        )
        rules.add_rule(s, actor=admin, data=NO_GUARANTEES)
    engine.dispose()
    finding = (
        "Sperrt: Regel „Keine Garantien“ auf dem Kanal „Feed“: Wir versprechen nichts. "
        "(verboten: garantiert)"
    )

    def findings(at: AppTest) -> list[str]:
        return [e.value for e in at.error if "Keine Garantien" in e.value]

    at = sign_in("ed", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("de").run()
    at = open_page(at, "editor")
    at.selectbox(key=keys.EDITOR_PIECE).select(piece.id).run()
    assert not at.exception
    assert findings(at) == []

    variant = f"{keys.EDITOR_VARIANT}{feed.id}"
    at.text_area(key=variant).input("Unser Tarif, garantiert günstig.").run()
    assert findings(at) == [finding]
    at.text_area(key=variant).input("Unser Tarif, sicher günstig.").run()
    assert findings(at) == []

    # An empty variant sends the master text: typing the term there is found for Feed too.
    at.text_area(key=variant).input("").run()
    at.text_area(key=keys.EDITOR_BODY).input("Der garantiert beste Tarif.").run()
    assert findings(at) == [finding]
    at.text_area(key=keys.EDITOR_BODY).input("Der beste Tarif, versprochen.").run()
    assert findings(at) == []

    assert not at.exception
    kept = stored(database, piece.id)  # nothing was saved on the way
    assert (kept.revision, kept.body, kept.variants) == (
        2,
        "Der beste Tarif.",
        {str(feed.id): "Unser Tarif."},
    )


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[bytes | str, str]]:
    """What a page's download buttons given their data (not a function) offer: the data
    and its MIME type, by file name (the last run's)."""
    made: dict[str, tuple[bytes | str, str]] = {}
    real = MediaFileManager.add

    def add(
        self: MediaFileManager,
        path_or_data: bytes | str,
        mimetype: str,
        coordinates: str,
        file_name: str | None = None,
        is_for_static_download: bool = False,
    ) -> str:
        if file_name is not None:
            made[file_name] = (path_or_data, mimetype)
        return real(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", add)
    return made


_GUARANTEES: dict[str, Any] = {
    "name": "Keine Garantien",
    "kind": "forbidden_terms",
    "settings": {"terms": ["garantiert", "Größe"]},
    "scope": {"channels": ["Feed"], "campaigns": ["Herbst"]},
    "message": {"de": "Wir versprechen nichts.", "en": "We promise nothing."},
}


def _stored_rules(database: str) -> list[dict[str, Any]]:
    """Every stored rule as the export writes it, by name."""
    engine = make_engine(database)
    with Session(engine) as s:
        found = rules.list_rules(s, actor=users.get_user(s, "admin"))
        specs = [rules.spec_of(r).as_dict() for r in found]
    engine.dispose()
    return specs


def _with_rules(database: str) -> None:
    """The default rules and "Keine Garantien" (scoped to a channel and a campaign)."""
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        rules.load_default_rules(s, actor=admin)
        channels.create_channel(s, actor=admin, kind="recording", name="Feed", settings={})
        rules.add_rule(s, actor=admin, data=_GUARANTEES)
    engine.dispose()


def test_the_rules_page_offers_every_rule_shown_as_a_yaml_file(
    database: str, downloads: dict[str, tuple[bytes | str, str]]
) -> None:
    _with_rules(database)
    at = open_page(sign_in("admin", PASSWORD), "rules")
    assert not at.exception
    [button] = [b for b in at.get("download_button") if b.key == keys.RULES_EXPORT]
    assert button.proto.label == "Alle Regeln als YAML herunterladen"

    data, mime = downloads["regeln.yaml"]
    assert mime == "application/yaml"
    exported = yaml.safe_load(data)
    shown = at.dataframe[0].value
    assert [r["name"] for r in exported["rules"]] == list(shown["Regel"])
    assert len(exported["rules"]) == 5
    assert exported["rules"] == _stored_rules(database)
    guarantees = next(r for r in exported["rules"] if r["name"] == "Keine Garantien")
    assert guarantees["scope"] == {
        "channels": ["Feed"],
        "departments": [],
        "campaigns": ["Herbst"],
        "audiences": [],
    }
    assert guarantees["settings"] == {"terms": ["garantiert", "Größe"]}

    # The file follows what the page changes: a rule switched off is exported switched off.
    at.selectbox(key=keys.RULES_PICK).select("Keine Garantien")
    at.button(key=keys.RULES_TOGGLE).click().run()
    again = yaml.safe_load(downloads["regeln.yaml"][0])
    assert [r["enabled"] for r in again["rules"] if r["name"] == "Keine Garantien"] == [False]
    assert again["rules"] == _stored_rules(database)


def test_a_yaml_or_json_file_uploaded_on_the_rules_page_adds_and_replaces_rules(
    database: str,
) -> None:
    _with_rules(database)
    before = _stored_rules(database)
    at = open_page(sign_in("admin", PASSWORD), "rules")
    assert keys.RULES_IMPORT not in [b.key for b in at.button]  # offered once a file is there
    hashtags = {
        "name": "Hashtags",
        "kind": "max_hashtags",
        "severity": "warn",
        "settings": {"max": 3},
        "message": {"de": "Höchstens drei Hashtags.", "en": "At most three hashtags."},
    }
    softer = {**_GUARANTEES, "severity": "warn"}
    text = yaml.safe_dump({"rules": [hashtags, softer]}, allow_unicode=True)
    at.file_uploader(key=keys.RULES_UPLOAD).upload(
        "rules.yaml", text.encode("utf-8"), "application/yaml"
    ).run()
    at.button(key=keys.RULES_IMPORT).click().run()

    assert not at.exception
    assert [s.value for s in at.success] == ["Übernommen: 1 neu, 1 geändert."]
    table = at.dataframe[0].value
    assert "Hashtags" in list(table["Regel"])
    row = table[table["Regel"] == "Keine Garantien"].to_dict("records")[0]
    assert row["Stufe"] == "warnt"
    after = {r["name"]: r for r in _stored_rules(database)}
    assert after["Hashtags"]["settings"] == {"max": 3}
    assert after["Keine Garantien"]["severity"] == "warn"
    assert {n: r for n, r in after.items() if n not in ("Hashtags", "Keine Garantien")} == {
        r["name"]: r for r in before if r["name"] != "Keine Garantien"
    }  # rules the file does not name stay as they are

    mentions = {
        "name": "Erwähnungen",
        "kind": "max_mentions",
        "settings": {"max": 2},
        "message": {"de": "Höchstens zwei.", "en": "At most two."},
    }
    raw = json.dumps({"rules": [mentions]}, ensure_ascii=False).encode("utf-8")
    at.file_uploader(key=keys.RULES_UPLOAD).set_value(("rules.json", raw, "application/json"))
    at.run()
    at.button(key=keys.RULES_IMPORT).click().run()
    assert [s.value for s in at.success] == ["Übernommen: 1 neu, 0 geändert."]
    assert [r for r in _stored_rules(database) if r["name"] == "Erwähnungen"] == [
        rules.checked_spec(mentions).as_dict()
    ]


_BROKEN = {
    # Every problem is named with its entry; the good first rule is not imported either.
    "entries": (
        (
            b"rules:\n"
            b"- name: Gut\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
            b"- name: Schlecht\n  kind: max_hashtags\n  severity: stop\n  settings: {max: drei}\n"
            b"  message: {de: a, en: b}\n"
        ),
        "Regel 2 in der Datei, Stufe: Die Stufe ist sperrt, warnt oder informiert.; "
        "Regel 2 in der Datei, Einstellungen (YAML): „max“ muss eine ganze Zahl ab 0 sein, "
        "nicht „drei“.",
    ),
    "syntax": (b"rules: [\n- name: Gut\n", "Die Datei ist weder YAML noch JSON (Zeile 2)."),
    "shape": (
        b"name: Gut\nkind: max_hashtags\n",
        "Die Datei muss unter „rules:“ eine Liste enthalten.",
    ),
    "twice": (
        (
            b"rules:\n"
            b"- name: Keine Garantien\n  kind: max_hashtags\n  settings: {max: 3}\n"
            b"  message: {de: a, en: b}\n"
            b"- name: Keine Garantien\n  kind: max_hashtags\n  settings: {max: 4}\n"
            b"  message: {de: a, en: b}\n"
        ),
        "Die Regel „Keine Garantien“ steht zweimal in der Datei.",
    ),
    "latin-1": (
        "rules:\n- name: Größe\n".encode("latin-1"),
        "Die Datei ist keine UTF-8-Textdatei.",
    ),
    # A scope names channels there are (ignoring case); the good first rule waits too.
    "unknown channel": (
        (
            b"rules:\n"
            b"- name: Gut\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
            b"  scope: {channels: [feed]}\n"
            b"- name: Neu\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
            b"  scope: {channels: [Fax]}\n"
        ),
        "Regel 2 in der Datei, Kanäle: Unbekannter Kanal: Fax. "
        "Bitte wählen Sie aus den vorhandenen: Feed.",
    ),
}


@pytest.mark.parametrize("broken", sorted(_BROKEN))
def test_a_broken_rules_file_is_refused_with_a_clear_error_and_changes_nothing(
    database: str, broken: str
) -> None:
    _with_rules(database)
    before = _stored_rules(database)
    at = open_page(sign_in("admin", PASSWORD), "rules")
    shown = at.dataframe[0].value.to_dict("records")
    raw, said = _BROKEN[broken]
    at.file_uploader(key=keys.RULES_UPLOAD).upload("rules.yaml", raw, "application/yaml").run()
    at.button(key=keys.RULES_IMPORT).click().run()

    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error == said
    assert [s.value for s in at.success] == []
    assert at.dataframe[0].value.to_dict("records") == shown
    assert _stored_rules(database) == before


def test_a_rule_saved_on_the_page_keeps_a_change_stored_meanwhile(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "rules")
    _type_hashtag_rule(at, "max: 3")
    at.button(key=keys.RULES_ADD).click().run()
    # Another admin changes the English message while this form is open.
    with Session(make_engine(database)) as s:
        rules.edit_rule(
            s,
            actor=users.get_user(s, "admin"),
            ref="Hashtags",
            changes={"message": {"en": "Three hashtags at most."}},
        )
    at.selectbox(key=f"{keys.RULES_EDIT_SEVERITY}1").select("warn")
    at.button(key=keys.RULES_EDIT_SAVE).click().run()
    assert [s.value for s in at.success] == ["Die Regel Hashtags wurde geändert."]
    with Session(make_engine(database)) as s:
        rule = rules.get_rule(s, actor=users.get_user(s, "admin"), ref="Hashtags")
        # Before, the form's older English message was written back with the severity.
        assert (rule.severity, rule.message_en) == ("warn", "Three hashtags at most.")
