"""What commands print: lines, tables of rows, or (with --json) the same rows as JSON.

Everything goes to `sys.stdout` as it is at the moment of writing (tests capture it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import SQLModel

from planner.timezones import format_local

Row = Mapping[str, Any]
# A table column: its header and the row's key it shows, or how to make the cell from a row.
Column = tuple[str, str | Callable[[Row], Any]]


def line(text: str = "", *, end: str = "\n") -> None:
    """Write one line (or `text` with another ending) to standard output."""
    sys.stdout.write(text + end)


def plain(value: Any) -> Any:
    """`value` as JSON can hold it: enums by value, times in ISO 8601, models as objects."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, SQLModel):
        return {k: plain(v) for k, v in value.model_dump().items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    """Write `data` as indented JSON."""
    line(json.dumps(plain(data), ensure_ascii=False, indent=2))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int = 48) -> None:
    """Write aligned columns, each cell cut to `width` characters; '(none)' for no rows."""
    cells = [[_short(v, width) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    line("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in cells:
        line("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if not rows:
        line("(none)")


def rows(
    found: Sequence[Row], columns: Sequence[Column], *, as_json: bool, width: int = 48
) -> None:
    """Write `found` as JSON (every key) or as a table of `columns`."""
    if as_json:
        emit_json(list(found))
        return
    table(
        [header for header, _cell in columns],
        [[_cell(row, cell) for _header, cell in columns] for row in found],
        width=width,
    )


def columns(*keys: str) -> list[Column]:
    """Columns that show a row's `keys`, each headed by its key."""
    return [(key, key) for key in keys]


def fields(record: object, *names: str) -> dict[str, Any]:
    """A row of `record`'s attributes `names`, each under its own name."""
    return {name: getattr(record, name) for name in names}


def moment(key: str, at: datetime | None, tz_name: str) -> dict[str, Any]:
    """An instant as two cells: `key` in the zone `tz_name` (None when unset) and
    `key`_utc as it is stored."""
    return {key: format_local(at, tz_name) if at else None, f"{key}_utc": at}


def flag(key: str, yes: str, no: str) -> Callable[[Row], str]:
    """A cell that says `yes` or `no` by whether the row's `key` holds."""
    return lambda row: yes if row[key] else no


def _cell(row: Row, cell: str | Callable[[Row], Any]) -> Any:
    return row[cell] if isinstance(cell, str) else cell(row)


def _short(value: Any, width: int) -> str:
    if value is None:
        return "-"
    text = value.value if isinstance(value, Enum) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
