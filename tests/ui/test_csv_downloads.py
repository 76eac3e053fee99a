"""The Activity page's CSV download as the reader's spreadsheet opens it: UTF-8 with a byte
order mark, cells separated by ";" in German (as German Excel splits lines) and by ","
in English; a German download still verifies on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from planner import csvio
from tests.exported import csv_file_rows
from tests.ui.conftest import PASSWORD, open_page, sign_in


@pytest.mark.parametrize(
    ("username", "separator"),
    [pytest.param("admin", ";", id="de"), pytest.param("ed", ",", id="en")],
)
def test_the_activity_download_is_separated_as_the_readers_excel_splits(
    database: str, exports: list[Callable[[], Any]], username: str, separator: str
) -> None:
    at = open_page(sign_in(username, PASSWORD), "activity")
    assert not at.exception

    made = exports[-1]()
    raw = made.encode("utf-8")  # what Streamlit sends for a text

    assert raw.startswith(b"\xef\xbb\xbf")
    rows = csv_file_rows(raw, separator)
    assert username in {r["actor"] for r in rows}
    assert raw.decode("utf-8-sig").splitlines()[0] == separator.join(csvio.AUDIT_COLUMNS)
    if username == "admin":  # who reads the whole log: the file verifies on its own
        assert csvio.verify_audit_file(made).intact
