"""Reading the planner's CSV exports in tests as a spreadsheet would: each one starts with
the UTF-8 byte order mark and separates its cells by the separator asked for."""

from __future__ import annotations

import csv
import io

BOM = "\ufeff"
SEPARATORS = (",", ";", "\t")


def csv_rows(text: str, separator: str = ",") -> list[dict[str, str]]:
    """The rows of an export's text, by its header's column names, after checking that it
    starts with the byte order mark and that its header is separated by `separator` alone."""
    assert text.startswith(BOM), f"no byte order mark: {text[:40]!r}"
    body = text.removeprefix(BOM)
    header = body.splitlines()[0]
    assert separator in header, f"{separator!r} does not separate the header {header!r}"
    others = [s for s in SEPARATORS if s != separator and s in header]
    assert not others, f"the header {header!r} holds {others} too"
    return list(csv.DictReader(io.StringIO(body, newline=""), delimiter=separator))


def csv_file_rows(raw: bytes, separator: str = ",") -> list[dict[str, str]]:
    """The rows of an export's bytes (a file, a download): UTF-8 after the byte order
    mark, which `csv_rows` checks."""
    assert raw.startswith(BOM.encode("utf-8")), f"no byte order mark: {raw[:40]!r}"
    return csv_rows(raw.decode("utf-8"), separator)
