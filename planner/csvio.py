"""CSV import and export of ideas, the plan (posts) and the audit log.

Imports are all-or-nothing: every row is validated first, every broken row is reported
with its line number, and nothing is stored while any row is broken. Exports start with a
UTF-8 byte order mark and separate their cells as their `CsvFormat` says (the dashboard's
as the reader's Excel splits lines, the command line's by "," unless asked otherwise).
"""

from __future__ import annotations

import csv
import errno
import functools
import io
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Connection, Table, insert, text
from sqlmodel import Session, col, select

from planner import audit, planning, rule_checks, slots
from planner.db import all_or_nothing
from planner.errors import (
    CsvImportFailed,
    ExportFailed,
    IllegalTransition,
    Message,
    NotFound,
    PlannerError,
    TimeInputError,
    ValidationFailed,
)
from planner.ideas import idea_values, list_ideas
from planner.models import (
    Audience,
    AuditEvent,
    Channel,
    Department,
    Idea,
    IdeaStatus,
    Piece,
    Post,
    PostStatus,
    User,
    utcnow,
)
from planner.permissions import can, require
from planner.schemas import IdeaCreate, parse_id
from planner.timezones import format_local, parse_to_utc, to_local, zone

MAX_ROWS = 50_000
MAX_BYTES = 32 * 1024 * 1024
_INSERT_SLICE = 5_000  # ideas per insert statement group of an import
IDEA_COLUMNS = [
    "title",
    "pitch",
    "department",
    "target_audience",
    "goal",
    "source_url",
    "urgency",
    "tags",
]
IDEA_EXPORT_COLUMNS = [
    "id",
    *IDEA_COLUMNS,
    "status",
    "rejection_reason",
    "merged_into",
    "submitted_by",
    "created_at",
]
# `publish_at` of a new plan row that asks for the channel's next free publishing slot.
QUEUE = "queue"
PLAN_COLUMNS = ["post_id", "piece_id", "piece_title", "channel", "publish_at", "timezone", "status"]
AUDIT_COLUMNS = [
    "id",
    "at_utc",
    "at_local",
    "actor",
    *audit.EVENT_FIELDS,
    "actor_id",
    "prev_hash",
    "hash",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The character every export starts with, the UTF-8 byte order mark: Excel and LibreOffice
# then read the file as UTF-8 (German Excel reads one without it as Windows-1252, "ü" as
# "Ã¼"); Python's `utf-8-sig` and the imports here skip it.
BOM = "\ufeff"
# The separators an export may put between cells, by the names the command line takes.
SEPARATOR_NAMES = {",": ",", ";": ";", "tab": "\t"}
# The separator of the exports the dashboard offers in a language: Excel set to German
# splits a line at ";", one set to English at ",".
_LANGUAGE_SEPARATORS = {"de": ";"}
# The decimal mark of numbers in those exports ("." elsewhere and on the command line).
_LANGUAGE_DECIMAL_MARKS = {"de": ","}
_DECIMAL_MARKS = frozenset({".", ","})


@functools.cache
def _after_separator(separator: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A formula character after a list separator (spaces between) in a file whose cells
    `separator` separates, and the same escaped with an apostrophe.

    A spreadsheet whose list separator is not the file's splits lines at its own, also
    inside quoted cells, and starts a cell there: German Excel at ";", also in a comma- or
    tab-separated file; English Excel at ",", also in a semicolon- or tab-separated one.
    So the export escapes a formula character after ";" always, and after "," where the
    file's separator is another, as it escapes a cell's first character; an import takes
    it back. Apostrophes already there get one more, so that the import takes back
    exactly one.
    """
    splits = ";" if separator == "," else ";,"
    return (
        re.compile(f"([{splits}])(\\s*)('*[=+\\-@])"),
        re.compile(f"([{splits}])(\\s*)'('*[=+\\-@])"),
    )


@dataclass(frozen=True)
class PlanImport:
    """What a plan import did."""

    created: list[Post]
    moved: list[Post]
    unchanged: int
    # Rows planned or moved to a time outside their channel's publishing slots: (line,
    # message). They are imported as written; this only warns.
    off_plan: list[tuple[int, str]] = field(default_factory=list)
    # Rows that asked for the channel's next free slot (`publish_at` "queue"): (line, post).
    queued: list[tuple[int, Post]] = field(default_factory=list)


# A cell's start that the export escapes with one more apostrophe: a formula character, or
# apostrophes before one (so that the import, taking one, gets the text back exactly).
_ESCAPED_START = re.compile(r"'*[=+\-@\t\r]")


def _cell(value: object, separator: str = ",") -> str:
    """A cell of a file whose cells `separator` separates that spreadsheet programs will
    not run as a formula, however they split it."""
    after, _escaped = _after_separator(separator)
    text = after.sub(r"\1\2'\3", "" if value is None else str(value))
    return "'" + text if _ESCAPED_START.match(text) else text


def _unescaped(text: str, separator: str = ",") -> str:
    """`text` with the formula characters `_cell` escaped after a list separator in a file
    whose cells `separator` separates as they were."""
    _after, escaped = _after_separator(separator)
    return escaped.sub(r"\1\2\3", text)


def _uncell(value: str | None, separator: str = ",") -> str:
    """A cell of an imported file whose cells `separator` separates, as `_cell` had it."""
    text = (value or "").strip()
    if text.startswith("'") and _ESCAPED_START.match(text, 1):
        text = text[1:]
    return _unescaped(text, separator)


class RowWriter(Protocol):
    """What an export writes its rows with: a `csv.writer`."""

    def writerow(self, row: Iterable[Any], /) -> Any:
        """Write one row of cells."""


@dataclass(frozen=True)
class CsvFormat:
    """How an export writes CSV: the byte order mark first (`BOM`), then rows whose cells
    `separator` (one of `SEPARATOR_NAMES`) separates, each cell kept from running as a
    formula in a spreadsheet, however it splits the lines (`_after_separator`). A number
    with decimals (a `Decimal` or float) is written with `decimal` as its decimal mark: the
    dashboard's German files with ",", as German Excel reads "12.50" as a date or text."""

    separator: str = ","
    decimal: str = "."

    def __post_init__(self) -> None:
        if self.separator not in SEPARATOR_NAMES.values():
            raise ValueError(f"not a CSV separator: {self.separator!r}")
        if self.decimal not in _DECIMAL_MARKS or self.decimal == self.separator:
            raise ValueError(f"not a decimal mark with {self.separator!r}: {self.decimal!r}")

    @classmethod
    def for_language(cls, lang: str) -> CsvFormat:
        """The format the dashboard offers to a reader of `lang` ("de", "en"): the
        separator their Excel splits lines at when it opens the file."""
        return cls(_LANGUAGE_SEPARATORS.get(lang, ","), _LANGUAGE_DECIMAL_MARKS.get(lang, "."))

    @classmethod
    def named(cls, name: str) -> CsvFormat:
        """The format whose separator the command line names ("," ";" "tab"); ValueError
        naming the choices for any other name. A ";" file writes decimals with a comma, as
        the spreadsheets that split at ";" (German Excel) read numbers."""
        if name not in SEPARATOR_NAMES:
            choices = " or ".join(SEPARATOR_NAMES)
            raise ValueError(f"{name!r} is not a CSV separator: use {choices}")
        separator = SEPARATOR_NAMES[name]
        return cls(separator, "," if separator == ";" else ".")

    def start(
        self, out: IO[str], header: Iterable[str], *, lineterminator: str = "\r\n"
    ) -> RowWriter:
        """Write the byte order mark and the `header` row to `out`; the writer of the
        rows below it."""
        out.write(BOM)
        writer = csv.writer(out, delimiter=self.separator, lineterminator=lineterminator)
        writer.writerow(header)
        return writer

    def cell(self, value: object) -> str:
        """A value as a cell of this format that spreadsheet programs will not run as a
        formula (None as an empty cell, a number with decimals with this format's mark)."""
        if isinstance(value, Decimal | float):
            return str(value).replace(".", self.decimal)
        return _cell(value, self.separator)


# The format of an export unless its caller asks for another: the command line's default.
COMMA = CsvFormat(",")


def detect_separator(text: str) -> str:
    """The separator of a CSV text as its first line (the header) shows it: the one of
    ",", ";" and tab that it holds most of (on a tie the first of these; "," when it holds
    none)."""
    first_line = next(iter(text.removeprefix(BOM).splitlines()), "")
    counts = {separator: first_line.count(separator) for separator in SEPARATOR_NAMES.values()}
    return max(counts, key=counts.__getitem__)


def _decode(raw: bytes | str) -> str:
    if isinstance(raw, str):
        text = raw.removeprefix("\ufeff")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            # German spreadsheet programs still save CSV as Windows-1252.
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = "\x00"  # bytes no text encoding uses: not a text file at all
    if "\x00" in text:
        raise CsvImportFailed(
            [(1, Message("csv_not_text", "this is not a CSV text file (UTF-8 or Windows-1252)"))]
        )
    return text


def check_size(size: int) -> None:
    """Refuse a file of `size` bytes over `MAX_BYTES` before anything reads it."""
    if size > MAX_BYTES:
        raise CsvImportFailed(
            [
                (
                    1,
                    Message(
                        "csv_too_large",
                        "the file has {size} bytes, more than the {max} bytes one import takes; "
                        "split the file",
                        size=size,
                        max=MAX_BYTES,
                    ),
                )
            ]
        )


def _check_row_count(text: str, delimiter: str) -> None:
    """Refuse a file with more than `MAX_ROWS` rows before any row is checked.

    A file with at most `MAX_ROWS` line break characters cannot hold more rows below its
    header; a longer one may still be within the limit (CR LF line ends, a quoted cell
    spanning lines), so its records are counted by the CSV reader alone, which is fast.
    A record the reader refuses counts as one, as the rows are read on after it.
    """
    if text.count("\n") + text.count("\r") <= MAX_ROWS:
        return
    for count, (_start, end, _record) in enumerate(_records(text, delimiter)):
        if count > MAX_ROWS:  # the header is record 0
            raise CsvImportFailed(
                [
                    (
                        end,
                        Message(
                            "csv_too_many_rows",
                            "more than {max} rows; split the file",
                            max=MAX_ROWS,
                        ),
                    )
                ]
            )


@dataclass(frozen=True)
class _Broken:
    """A record the CSV reader refused: its error, and the lengths of its fields as a
    lenient reading finds them (None: the file ends inside one of its quoted fields)."""

    error: str
    lengths: list[int] | None
    # The first character after a quoted field's closing quote that is neither the
    # separator nor a line end ('"a"b'); "" when there is none.
    stray: str = ""
    delimiter: str = ","


class _Lines:
    """The file's physical lines as the CSV reader takes them (a line ends at LF, CR LF
    or CR), counted as every line number of an import is (the header is line 1), with
    where the current record begins."""

    # A line with its end, or the file's last line without one.
    _LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0  # where the next line begins
        self.count = 0  # lines taken so far: the last line of the record just read
        self.start = 0  # the first line of the current record (0: none taken yet)
        self.start_position = 0  # where the current record begins

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        found = self._LINE.match(self.text, self.position)
        if found is None:
            raise StopIteration
        self.count += 1
        if not self.start:
            self.start, self.start_position = self.count, self.position
        self.position = found.end()
        return found.group()

    def begin(self) -> None:
        """The next line taken begins a new record."""
        self.start = 0

    def skip_to(self, position: int) -> None:
        """Go on from `position`, the end of a line, counting the lines taken on the way."""
        passed = self.text[self.position : position]
        ends = passed.count("\n") + passed.count("\r") - passed.count("\r\n")
        self.count += ends + (1 if passed and passed[-1] not in "\r\n" else 0)
        self.position = max(self.position, position)


def _records(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str] | _Broken]]:
    """Every record of the file (the header first, a blank line as []) with the lines it
    starts and ends on. A record the CSV reader refuses (an unclosed quote, a field longer
    than its field limit) comes as `_Broken`, read to its end as a lenient reader reads it,
    and the records after it are read on."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        lines.begin()
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            start = lines.start or lines.count
            lengths, stray = _field_lengths(lines, delimiter)
            yield start, lines.count, _Broken(str(err), lengths, stray, delimiter)
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            continue
        yield lines.start, lines.count, record


def _field_lengths(lines: _Lines, delimiter: str) -> tuple[list[int] | None, str]:
    """The lengths of the fields of the record the CSV reader refused, read from where it
    begins to its end as the lenient reader (strict=False) reads them (None when the file
    ends inside a quoted field), and the first character that follows a closing quote
    where only the separator or a line end belongs ("" if none does); `lines` goes on
    after it."""
    text, at, size = lines.text, lines.start_position, len(lines.text)
    plain_end = re.compile(f"[{re.escape(delimiter)}\r\n]")
    lengths = [0]
    stray = ""
    state = "start"  # of a field; or "plain", "quoted", "quote" (a quote in a quoted field)
    while at < size:
        if state == "quoted":
            close = text.find('"', at)
            if close < 0:
                lengths[-1] += size - at
                at = size
                break
            lengths[-1] += close - at
            at, state = close + 1, "quote"
            continue
        char = text[at]
        if state == "quote" and char == '"':  # a doubled quote stands for one
            lengths[-1] += 1
            at, state = at + 1, "quoted"
        elif state == "start" and char == '"':
            at, state = at + 1, "quoted"
        elif char == delimiter:
            lengths.append(0)
            at, state = at + 1, "start"
        elif char in "\r\n":  # the end of the record
            lines.skip_to(at + 2 if text.startswith("\r\n", at) else at + 1)
            return lengths, stray
        else:
            if state == "quote" and not stray:
                stray = char
            found = plain_end.search(text, at)
            end = found.start() if found else size
            lengths[-1] += end - at
            at, state = end, "plain"
    lines.skip_to(size)
    return (None if state == "quoted" else lengths), stray


def _broken_record(
    start: int, broken: _Broken, header: Sequence[str], limits: Mapping[str, int]
) -> list[tuple[int, str]]:
    """What is wrong with a record the CSV reader refused, on the line it starts on: a
    field too long for its column (with the planner's limit for the column), a quoted
    field never closed, or the reader's own words."""
    if broken.lengths is None:
        return [
            (
                start,
                Message(
                    "csv_unclosed_quote",
                    'a quoted field in the row that begins on this line is never closed (a " '
                    "is missing), so the rest of the file was read into it",
                ),
            )
        ]
    limit = csv.field_size_limit()
    too_long = [i for i, length in enumerate(broken.lengths) if length > limit]
    if too_long and header and max(too_long) >= len(header):
        return [(start, _too_many_fields(len(broken.lengths), len(header)))]
    if too_long and header:
        return [
            (
                start,
                Message(
                    "csv_field",
                    "{field}: {problem}",
                    field=header[i],
                    problem=Message(
                        "too_long", "at most {max} characters", max=limits.get(header[i], limit)
                    ),
                ),
            )
            for i in too_long
        ]
    if broken.stray:
        return [(start, _after_quote(broken.stray, broken.delimiter))]
    return [(start, Message("csv_broken", "broken CSV: {detail}", detail=broken.error))]


# Characters that separate fields in CSV files from other programs.
_SEPARATORS = {",": ",", ";": ";", "\t": "Tab", "|": "|"}


def _after_quote(stray: str, delimiter: str) -> Message:
    """The refusal of a record where `stray` follows a quoted field's closing quote: another
    program's separator, or text after the quote."""
    if stray in _SEPARATORS:
        return Message(
            "csv_wrong_separator",
            "the fields here are separated by {found}, but the file's separator is {separator} "
            "(as in its first line); use one separator throughout the file",
            found=_SEPARATORS[stray],
            separator=_SEPARATORS.get(delimiter, delimiter),
        )
    return Message(
        "csv_text_after_quote",
        'text follows the closing " of a quoted field ("{char}" after it); only {separator} '
        'or the end of the line may follow, and a " inside a quoted field is written ""',
        char=stray,
        separator=_SEPARATORS.get(delimiter, delimiter),
    )


def _too_many_fields(count: int, expected: int) -> Message:
    return Message(
        "csv_too_many_fields",
        "{count} fields, but the header has {expected}",
        count=count,
        expected=expected,
    )


def _max_lengths(fields: Mapping[str, Any]) -> dict[str, int]:
    """The most characters each of an input model's `fields` takes, where it has a limit."""
    found: dict[str, int] = {}
    for name, info in fields.items():
        for rule in info.metadata:
            limit = getattr(rule, "max_length", None)
            if isinstance(limit, int):
                found[name] = limit
    return found


def _header_problems(
    header: Sequence[str], *, required: Sequence[str], allowed: Sequence[str]
) -> list[tuple[int, str]]:
    """What is wrong with the header line: unnamed, repeated, missing or unknown columns."""
    problems: list[tuple[int, str]] = []
    unnamed = [str(i) for i, name in enumerate(header, start=1) if not name]
    if unnamed:
        problems.append(
            (
                1,
                Message(
                    "csv_unnamed_columns",
                    "column(s) {positions} have no name in the header line",
                    positions=", ".join(unnamed),
                ),
            )
        )
    repeated = [name for i, name in enumerate(header) if name and name in header[:i]]
    if repeated:
        problems.append(
            (
                1,
                Message(
                    "csv_duplicate_columns",
                    "column(s) named more than once: {columns}; each column may appear once",
                    columns=", ".join(dict.fromkeys(repeated)),
                ),
            )
        )
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(
            (
                1,
                Message(
                    "csv_missing_columns",
                    "missing column(s): {columns}",
                    columns=", ".join(missing),
                ),
            )
        )
    unknown = [c for c in dict.fromkeys(header) if c and c not in allowed]
    if unknown:
        problems.append(
            (
                1,
                Message(
                    "csv_unknown_columns",
                    "unknown column(s): {columns}; allowed: {allowed}",
                    columns=", ".join(unknown),
                    allowed=", ".join(allowed),
                ),
            )
        )
    return problems


def _rows(
    raw: bytes | str,
    *,
    required: Sequence[str],
    allowed: Sequence[str],
    limits: Mapping[str, int] | None = None,
) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str]]]:
    """Read a CSV (comma, semicolon or tab) into (line number, row) pairs and row problems.

    A file that is too large, has too many rows or an unusable header raises at once,
    before any row is read; a row with the wrong number of fields, or one the CSV reader
    refuses (named by the line it begins on; a field too long for the reader by its column
    and `limits`, the most characters the planner takes in a column), is reported as a
    problem so that the caller can name every broken line in one go.
    """
    check_size(len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "replace")))
    text = _decode(raw)
    if not text.strip():
        raise CsvImportFailed(
            [(1, Message("csv_empty", "the file is empty; the first line must name the columns"))]
        )
    delimiter = detect_separator(text)
    _check_row_count(text, delimiter)
    records = _records(text, delimiter)
    _start, _end, fieldnames = next(records, (1, 1, []))
    if isinstance(fieldnames, _Broken):
        raise CsvImportFailed(_broken_record(1, fieldnames, [], {}))
    header = [h.strip().lower() for h in fieldnames]
    problems = _header_problems(header, required=required, allowed=allowed)
    if problems:
        raise CsvImportFailed(problems)
    rows: list[tuple[int, dict[str, str]]] = []
    for start, end, record in records:
        # A row is named by its (last) physical line; a refused one by its first.
        if isinstance(record, _Broken):
            problems += _broken_record(start, record, header, limits or {})
        elif not record:
            continue  # a blank line
        elif len(record) > len(header):
            problems.append((end, _too_many_fields(len(record), len(header))))
        elif len(record) < len(header):
            problems.append(
                (
                    end,
                    Message(
                        "csv_too_few_fields",
                        "only {count} fields, but the header has {expected}",
                        count=len(record),
                        expected=len(header),
                    ),
                )
            )
        else:
            cells = zip(header, record, strict=True)
            rows.append((end, {k: _uncell(v, delimiter) for k, v in cells}))
    if not rows and not problems:
        raise CsvImportFailed([(2, Message("csv_no_rows", "no rows below the header"))])
    return rows, problems


def _problem(err: PlannerError) -> str:
    """One line's problem; a single field's or a time's message keeps its code."""
    if isinstance(err, ValidationFailed):
        if len(err.fields) == 1:
            [(name, text)] = err.fields.items()
            return Message("csv_field", "{field}: {problem}", field=name, problem=text)
        return "; ".join(f"{k}: {v}" for k, v in err.fields.items())
    if isinstance(err, TimeInputError):
        return err.message
    if isinstance(err, IllegalTransition):
        return err.as_message()
    return str(err)


# --- writing an export to a file ---------------------------------------------------------

_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the directory does not exist",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.EISDIR: "it is a directory",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.ENAMETOOLONG: "the file name is too long",
}


def _reason(err: OSError) -> str:
    return _REASONS.get(err.errno or 0) or err.strerror or type(err).__name__


def _new_file_mode() -> int:
    """The mode a newly created file gets under the process's umask."""
    try:  # Linux states it; os.umask can only read it by setting it for a moment
        status = Path("/proc/self/status").read_text().splitlines()
        umask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def write_export(path: str | os.PathLike[str], write: Callable[[IO[str]], int]) -> int:
    """Run `write` (an export) into a file at `path`; returns what `write` returns.

    The export is written to a temporary file in the same directory, which replaces `path`
    only when it is complete (`os.replace`): a refused export (no permission for the data,
    say), a full disk or any other failure leaves an existing file exactly as it was. An
    existing file keeps its mode and must be writable; a new one gets the usual mode
    under the umask. Failures to write raise ExportFailed with the reason in plain words.
    """
    try:
        target = Path(os.path.realpath(path))
        if target.is_dir():
            raise ExportFailed(path, _REASONS[errno.EISDIR])
        if not target.parent.is_dir():
            raise ExportFailed(path, _REASONS[errno.ENOENT])
        info = target.stat()
    except FileNotFoundError:
        mode = _new_file_mode()
    except ExportFailed:
        raise
    except OSError as err:  # e.g. a name too long for the file system
        raise ExportFailed(path, _reason(err)) from err
    else:
        if not os.access(target, os.W_OK):
            raise ExportFailed(path, _REASONS[errno.EACCES])
        if not stat.S_ISREG(info.st_mode):
            return _write_in_place(path, target, write)  # a device or pipe: nothing to keep
        mode = stat.S_IMODE(info.st_mode)
    try:
        fd, temp_name = tempfile.mkstemp(
            # A part of the name only: the temporary name must fit where the target's does.
            prefix=f".{target.name[:64]}.",
            suffix=".part",
            dir=target.parent,
        )
    except OSError as err:
        raise ExportFailed(
            path, f"{_reason(err)}: cannot create a file in {str(target.parent)!r}"
        ) from err
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            count = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except PlannerError:
        temp.unlink(missing_ok=True)
        raise  # a refusal (PermissionDenied is an OSError too) keeps its own message
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise ExportFailed(path, _reason(err)) from err
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return count


def _write_in_place(
    path: str | os.PathLike[str], target: Path, write: Callable[[IO[str]], int]
) -> int:
    try:
        with target.open("w", encoding="utf-8", newline="") as handle:
            return write(handle)
    except PlannerError:
        raise
    except OSError as err:
        raise ExportFailed(path, _reason(err)) from err


# --- ideas ------------------------------------------------------------------------------


def import_ideas(session: Session, *, actor: User, raw: bytes | str) -> list[int]:
    """Submit every idea in the file as `actor`, or none if any row is broken; returns the
    new ideas' ids in the file's order.

    Every row is checked first; the ideas and their audit events are then stored with
    multi-row inserts in one transaction.
    """
    require(actor, "submit_idea")
    rows, problems = _rows(
        raw,
        required=["title", "pitch", "department"],
        allowed=IDEA_EXPORT_COLUMNS,
        limits=_max_lengths(IdeaCreate.model_fields),
    )
    prepared: list[dict[str, Any]] = []
    departments: dict[str, Department] = {}
    audiences: dict[str, Audience | None] = {}
    for line, row in rows:
        data: dict[str, Any] = {k: row.get(k, "") for k in IDEA_COLUMNS if k in row}
        if not data.get("source_url"):
            data.pop("source_url", None)
        try:
            prepared.append(
                idea_values(
                    session, actor=actor, data=data, departments=departments, audiences=audiences
                )
            )
        except PlannerError as err:
            problems.append((line, _problem(err)))
    if problems:
        raise CsvImportFailed(sorted(problems))
    del rows  # the parsed file is no longer needed while the rows are stored
    return _store_ideas(session, actor=actor, values=prepared)


def _insert_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` in multi-row statements; the new ids in the order of `rows`."""
    if conn.dialect.name == "postgresql":
        # The ids come from the table's own sequence in one query; the rows then go in
        # with them, which spares matching RETURNING rows back to the input rows.
        ids = list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"table": table.name, "n": len(rows)},
            ).scalars()
        )
        conn.execute(insert(table), [row | {"id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    # SQLAlchemy cannot vouch for the order of SQLite's RETURNING rows in a multi-row
    # insert, so it would insert row by row. SQLite holds the database's one write lock
    # from the first insert to the commit, and gives each new row the next higher id: the
    # newest len(rows) ids are these rows', in order.
    conn.execute(insert(table), rows)
    newest = conn.execute(select(table.c.id).order_by(table.c.id.desc()).limit(len(rows)))
    return list(reversed(newest.scalars().all()))


def _store_ideas(session: Session, *, actor: User, values: list[dict[str, Any]]) -> list[int]:
    """Insert checked ideas and one 'submit' audit event each, in one transaction."""
    now = utcnow()
    new_row = {
        "status": IdeaStatus.submitted,
        "rejection_reason": None,
        "merged_into_id": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    ids: list[int] = []
    with all_or_nothing(session):
        conn = session.connection()
        # In slices, so that only one slice's statement parameters are in memory at once.
        for start in range(0, len(values), _INSERT_SLICE):
            part = [v | new_row for v in values[start : start + _INSERT_SLICE]]
            new_ids = _insert_ids(conn, Idea.__table__, part)  # type: ignore[attr-defined]
            events = [
                audit.event_row(
                    at=now,
                    actor_id=actor.id,
                    actor_name=actor.username,
                    object_type="idea",
                    object_id=idea_id,
                    action="submit",
                    from_state=None,
                    to_state=IdeaStatus.submitted.value,
                )
                for idea_id in new_ids
            ]
            audit.append(conn, events)  # chained after the newest event
            ids += new_ids
    return ids


def export_ideas(session: Session, *, actor: User, out: IO[str], fmt: CsvFormat = COMMA) -> int:
    """Write the ideas the actor may see in `fmt`; returns how many."""
    ideas = list_ideas(session, actor=actor)
    departments = {d.id: d.name for d in session.exec(select(Department))}
    usernames = {u.id: u.username for u in session.exec(select(User))}
    writer = fmt.start(out, IDEA_EXPORT_COLUMNS)
    for idea in ideas:
        writer.writerow(
            fmt.cell(v)
            for v in (
                idea.id,
                idea.title,
                idea.pitch,
                departments.get(idea.department_id),
                idea.target_audience,
                idea.goal,
                idea.source_url,
                idea.urgency.value,
                "; ".join(idea.tags),
                idea.status.value,
                idea.rejection_reason,
                idea.merged_into_id,
                usernames.get(idea.submitted_by_id),
                idea.created_at.isoformat(),
            )
        )
    return len(ideas)


# --- plan -------------------------------------------------------------------------------


def export_plan(
    session: Session,
    *,
    actor: User,
    out: IO[str],
    start: datetime | None = None,
    end: datetime | None = None,
    fmt: CsvFormat = COMMA,
) -> int:
    """Write pieces with their channel posts and local times in `fmt`; returns how many
    posts."""
    require(actor, "view_pieces")
    posts = planning.list_posts(session, actor=actor, start=start, end=end)
    pieces = {
        p.id: p.title
        for p in session.exec(
            select(Piece).where(col(Piece.id).in_({post.piece_id for post in posts}))
        )
    }
    channels = {c.id: c.name for c in session.exec(select(Channel))}
    writer = fmt.start(out, PLAN_COLUMNS)
    for post in posts:
        local = to_local(post.publish_at, post.timezone)
        writer.writerow(
            fmt.cell(v)
            for v in (
                post.id,
                post.piece_id,
                pieces.get(post.piece_id),
                channels.get(post.channel_id),
                local.strftime("%Y-%m-%d %H:%M%z"),
                post.timezone,
                post.status.value,
            )
        )
    return len(posts)


def import_plan(
    session: Session, *, actor: User, raw: bytes | str, now: datetime | None = None
) -> PlanImport:
    """Plan new posts (rows without post_id) and move existing ones, all or nothing.

    A new row whose `publish_at` is "queue" (`QUEUE`, any case) is planned as "add to
    queue" plans: in its channel's first free slot after `now` (default: the current time)
    that the time rules allow and no other row of the file takes."""
    require(actor, "plan_posts")
    now = now or utcnow()
    rows, problems = _rows(
        raw, required=["piece_id", "channel", "publish_at"], allowed=PLAN_COLUMNS
    )
    new: list[Post] = []
    moves: list[planning.PostMove] = []
    unchanged = 0
    off_plan: list[tuple[int, str]] = []
    check = slots.SlotPlanCheck(session)
    # The times this file plans or moves posts to, by channel: a queued row takes a slot
    # none of them took.
    taken: set[tuple[int, datetime]] = set()
    queued: list[tuple[int, Post]] = []
    queues = _hold_queues(session, actor, rows)
    # What the publishing rules found in each row: (piece, findings, whether refused).
    found: list[tuple[int, list[rule_checks.RuleFinding], bool]] = []
    seen_posts: dict[int, int] = {}  # post id -> the line that names it first
    # Where each row puts a piece: (line, piece, channel, time), for `_same_post_rows`.
    placed: list[tuple[int, int, int, datetime]] = []
    for line, row in rows:
        tz_name = row.get("timezone") or actor.timezone
        row_found: list[rule_checks.RuleFinding] = []
        piece_id: int | None = None
        try:
            zone(tz_name)
            post_ref = row.get("post_id", "")
            piece_id = parse_id(row["piece_id"], "piece_id")
            if post_ref:
                _first_mention(seen_posts, parse_id(post_ref, "post_id"), line)
            _status_kept(session, row, post_ref)
            if post_ref:
                move = _planned_move(session, actor, post_ref, row, tz_name, row_found)
                if move is None:
                    unchanged += 1
                else:
                    moves.append(move)
                    taken.add((move.post.channel_id, move.publish_at))
                    placed.append((line, move.post.piece_id, move.post.channel_id, move.publish_at))
                    off_plan += _off_plan(check, line, move.post.channel_id, move.publish_at)
            elif _queues(row):
                channel = queues.get(row["channel"]) or row["channel"]
                post = _queued_post(session, actor, piece_id, channel, taken, now, row_found)
                new.append(post)
                queued.append((line, post))
                taken.add((post.channel_id, post.publish_at))
                placed.append((line, post.piece_id, post.channel_id, post.publish_at))
            else:
                post = planning.prepare_post(
                    session,
                    actor=actor,
                    piece_id=piece_id,
                    channel=row["channel"],
                    when=row["publish_at"],
                    tz_name=tz_name,
                    now=now,
                    into=row_found,
                )
                new.append(post)
                taken.add((post.channel_id, post.publish_at))
                placed.append((line, post.piece_id, post.channel_id, post.publish_at))
                off_plan += _off_plan(check, line, post.channel_id, post.publish_at)
        except (PlannerError, TimeInputError) as err:
            problems.append((line, _problem(err)))
            if piece_id is not None:
                found.append((piece_id, row_found, True))
        else:
            found.append((piece_id, row_found, False))
    problems += _same_post_rows(placed)
    if problems:
        if queues:
            session.rollback()  # nothing was written: let the channels' queues go now
        # Nothing is planned; the rows a blocking rule refused keep what it found.
        for refused_piece, findings, refused in found:
            if refused:
                planning.record_planning(session, actor, refused_piece, findings, refused=True)
        raise CsvImportFailed(sorted(problems))
    for planned_piece, findings, _ in found:
        planning.record_planning(session, actor, planned_piece, findings, refused=False)
    # The moves, the new posts and the findings are one transaction: store_posts commits.
    for move in moves:
        planning.store_move(
            session, actor=actor, move=move, note_prefix="plan import: ", commit=False
        )
    planning.store_posts(session, actor=actor, posts=new, moved=[m.post for m in moves])
    return PlanImport(
        created=new,
        moved=[m.post for m in moves],
        unchanged=unchanged,
        off_plan=off_plan,
        queued=queued,
    )


def _same_post_rows(placed: list[tuple[int, int, int, datetime]]) -> list[tuple[int, Message]]:
    """The rows that put a piece on a channel less than `planning.SAME_POST_WINDOW` from
    where an earlier row of the file puts it: (line, problem)."""
    problems: list[tuple[int, Message]] = []
    for number, (line, piece, channel, at) in enumerate(placed):
        for first, other_piece, other_channel, other_at in placed[:number]:
            near = abs(at - other_at) < planning.SAME_POST_WINDOW
            if (other_piece, other_channel) == (piece, channel) and near:
                problems.append(
                    (
                        line,
                        Message(
                            "same_post_in_file",
                            "line {first} puts piece {piece} on this channel less than "
                            "{minutes} minutes from this row: it would go out twice",
                            first=first,
                            piece=piece,
                            minutes=int(planning.SAME_POST_WINDOW.total_seconds() // 60),
                        ),
                    )
                )
                break
    return problems


def _queues(row: dict[str, str]) -> bool:
    """Whether a plan row asks for its channel's next free slot."""
    return not row.get("post_id") and row["publish_at"].strip().lower() == QUEUE


def _hold_queues(
    session: Session, actor: User, rows: Sequence[tuple[int, dict[str, str]]]
) -> dict[str, Channel]:
    """Hold the queues of the channels the file's queued rows name, all before the first
    row and in the order of their ids: two imports that queue on the same channels never
    wait for each other crosswise. The channels by the names the rows give them (each
    looked up once; unknown ones are left to their rows' messages). A held queue is a
    write lock until the import commits or rolls back."""
    found: dict[str, Channel] = {}
    for _line, row in rows:
        name = row["channel"]
        if _queues(row) and name not in found:
            try:
                found[name] = slots.usable_channel(session, actor=actor, channel=name)
            except PlannerError:
                continue
    for channel_id in sorted({c.id for c in found.values() if c.id is not None}):
        slots.hold_queue(session, actor=actor, channel_id=channel_id)
    return found


def _queued_post(
    session: Session,
    actor: User,
    piece_id: int,
    channel: Channel | str,
    taken: set[tuple[int, datetime]],
    now: datetime,
    into: list[rule_checks.RuleFinding],
) -> Post:
    """A new post in `channel` (as `_hold_queues` found it, or its name) in its next free
    slot that this file has not taken, as "add to queue" plans one (`_hold_queues` holds
    the channel's queue until the import is stored)."""
    found = (
        channel
        if isinstance(channel, Channel)
        else slots.usable_channel(session, actor=actor, channel=channel)
    )
    piece = session.get(Piece, piece_id)
    if piece is None:
        raise NotFound("piece", piece_id)
    return slots.prepare_queued(
        session,
        actor=actor,
        piece=piece,
        channel=found,
        now=now,
        accept=lambda post: (post.channel_id, post.publish_at) not in taken,
        into=into,
    )


def _off_plan(
    check: slots.SlotPlanCheck, line: int, channel_id: int, at: datetime
) -> list[tuple[int, str]]:
    """A warning for the row at `line` if `at` is not one of its channel's slots."""
    if not check.outside(channel_id, at):
        return []
    return [
        (
            line,
            Message(
                "off_plan",
                "{when} is not one of the channel's publishing slots; planned as written",
                when=format_local(at, str(check.zone)),
            ),
        )
    ]


def _first_mention(seen: dict[int, int], post_id: int, line: int) -> None:
    """ValidationFailed when an earlier line of the file names the same post (which of two
    times would it take?); else note this line as its first."""
    first = seen.setdefault(post_id, line)
    if first != line:
        raise ValidationFailed(
            {
                "post_id": Message(
                    "post_twice", "post {id} is on line {first} already", id=post_id, first=first
                )
            }
        )


def _status_kept(session: Session, row: dict[str, str], post_ref: str) -> None:
    """ValidationFailed when the row's `status` (a column of the export) asks for a state
    the import does not set: it plans and moves posts; a new post is planned and an
    existing one keeps its state (an exported plan imports again as it is)."""
    wanted = row.get("status", "").strip().lower()
    if not wanted:
        return
    if post_ref:
        post = session.get(Post, parse_id(post_ref, "post_id"))
        current = post.status.value if post is not None else PostStatus.planned.value
    else:
        current = PostStatus.planned.value
    if wanted != current:
        raise ValidationFailed(
            {
                "status": Message(
                    "status_not_imported",
                    "the import plans and moves posts and does not make one {wanted!r} "
                    "(it is {current!r}); leave the status as it is or empty",
                    wanted=wanted,
                    current=current,
                )
            }
        )


def _planned_move(
    session: Session,
    actor: User,
    post_ref: str,
    row: dict[str, str],
    tz_name: str,
    into: list[rule_checks.RuleFinding],
) -> planning.PostMove | None:
    """The row's move of an existing post, checked as the calendar checks it (the rules'
    findings go to `into`); None if the row keeps the post's time (an exported plan
    imports again as it is)."""
    post_id = parse_id(post_ref, "post_id")
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound("post", post_id)
    if post.piece_id != parse_id(row["piece_id"], "piece_id"):
        raise ValidationFailed(
            {"piece_id": f"post {post.id} belongs to piece {post.piece_id}, not {row['piece_id']}"}
        )
    if parse_to_utc(row["publish_at"], tz_name) == post.publish_at:
        return None
    return planning.prepare_move(
        session, actor=actor, post_id=post_id, when=row["publish_at"], tz_name=tz_name, into=into
    )


# --- audit ------------------------------------------------------------------------------


def export_audit(
    session: Session,
    *,
    actor: User,
    out: IO[str],
    since: datetime | None = None,
    until: datetime | None = None,
    fmt: CsvFormat = COMMA,
) -> int:
    """Write audit events in [since, until) with UTC and the actor's local time, in `fmt`.

    Those who read the whole audit log get every event; a contributor gets the events the
    Activity page shows them (`audit.visible_events`); anyone else is refused.
    """
    events: Iterable[AuditEvent]
    if can(actor, "view_audit"):
        events = audit.list_events(session, actor=actor, since=since, until=until)
    else:
        window = audit.EventFilter(since=since, until=until)
        events = audit.visible_events(session, actor=actor, filters=window)
    return _write_audit(events, actor.timezone, out, fmt)


def export_visible_audit(
    session: Session,
    *,
    actor: User,
    filters: audit.EventFilter | None = None,
    fmt: CsvFormat = COMMA,
) -> str:
    """The audit events `actor` may read (see `audit.visible_events`), filtered, as CSV text
    in `fmt`."""
    out = io.StringIO()
    events = audit.visible_events(session, actor=actor, filters=filters)
    _write_audit(events, actor.timezone, out, fmt)
    return out.getvalue()


def _write_audit(events: Iterable[AuditEvent], tz_name: str, out: IO[str], fmt: CsvFormat) -> int:
    writer = fmt.start(out, AUDIT_COLUMNS)
    count = 0
    for e in events:
        writer.writerow(
            fmt.cell(v)
            for v in (
                e.id,
                e.at.isoformat(),
                format_local(e.at, tz_name),
                e.actor_name,
                e.object_type,
                e.object_id,
                e.action,
                e.from_state,
                e.to_state,
                e.version,
                e.note,
                e.actor_id,
                e.prev_hash,
                e.hash,
            )
        )
        count += 1
    return count


def verify_audit_file(raw: str) -> audit.ChainReport:
    """Check an exported audit CSV on its own, without a database (`audit.verify_rows`):
    every event's hash, and the links between its events in id order.

    The file's separator is read from its header line (`detect_separator`), as an import
    reads it. The first event's link leads out of the file and is taken as it is.
    """
    text = raw.removeprefix(BOM)
    separator = detect_separator(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator)
    missing = [c for c in AUDIT_COLUMNS if c != "at_local" and c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(
            {"file": f"not an audit export with hashes: missing column(s) {', '.join(missing)}"}
        )
    rows: list[dict[str, Any]] = []
    problems: list[tuple[int, str]] = []
    for line, record in enumerate(reader, start=2):
        try:
            rows.append(_chained_row(record, separator))
        except ValueError as err:
            problems.append((line, str(err)))
    if problems:
        raise ValidationFailed({f"line {line}": message for line, message in problems[:20]})
    rows.sort(key=lambda row: int(row["id"]))
    return audit.verify_rows(rows, from_start=False)


def _chained_row(record: dict[str, str], separator: str) -> dict[str, Any]:
    """One exported event of a file whose cells `separator` separates as
    `audit.verify_rows` reads it: a cell that the export may have escaped for spreadsheets,
    or that may stand for nothing, gives each possible value."""

    def number(column: str) -> int | None:
        text = (record.get(column) or "").strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{column} {text!r} is not a whole number") from None

    def texts(column: str, *, nullable: bool = False) -> list[str | None]:
        text = record.get(column) or ""
        found = [text]
        if text[:1] == "'" and _ESCAPED_START.match(text, 1):
            found.insert(0, text[1:])
        options: list[str | None] = []
        for option in found:
            if _unescaped(option, separator) != option:
                options.append(_unescaped(option, separator))
            options.append(option)
        if nullable and text == "":
            options.insert(0, None)
        return options

    event_id = number("id")
    if event_id is None:
        raise ValueError("id is empty")
    at_text = (record.get("at_utc") or "").strip()
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        raise ValueError(f"at_utc {at_text!r} is not an ISO 8601 time") from None
    return {
        "id": event_id,
        "at": at,
        "actor_id": number("actor_id"),
        "actor_name": texts("actor"),
        "object_type": texts("object_type"),
        "object_id": texts("object_id"),
        "action": texts("action"),
        "from_state": texts("from_state", nullable=True),
        "to_state": texts("to_state", nullable=True),
        "version": number("version"),
        "note": texts("note"),
        "prev_hash": (record.get("prev_hash") or "").strip() or None,
        "hash": (record.get("hash") or "").strip() or None,
    }
