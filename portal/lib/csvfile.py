"""CSV in and out, one way for the whole portal.

Out: every cell goes through `safe_cell`, so text a colleague typed can never run as a
formula in a leader's spreadsheet (OWASP "CSV injection": a cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by Excel, LibreOffice
and Google Sheets). Such text gets a leading apostrophe, which spreadsheets show as
plain text; numbers stay numbers. Files start with a UTF-8 byte-order mark so Excel
reads accents.

In: `decode_upload` turns the bytes of a file into text (a byte-order mark is fine);
`read_rows` finds the delimiter (comma, semicolon or tab: spreadsheets in many locales
save with semicolons), checks the header and every row, and reports problems as
``FILE row N, column C: what is wrong`` (rows counted as a spreadsheet does, the header
being row 1). NUL bytes and oversized cells are errors, not crashes. Whoever reads a file
collects the problems of all its rows, then raises them together as one `CsvError`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from django.http import HttpResponse

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# Text that is exactly a number is left alone: "-3" is minus three, not a formula.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# The largest cell accepted on the way in; the csv module's own limit is 128 KiB and
# overrunning it raised an error instead of naming the cell.
MAX_CELL_CHARS = 100_000
# The delimiters a file may use; a header naming a single column has none, so comma.
DELIMITERS = ",;\t"
DEFAULT_DELIMITER = ","
# How much of the header line the delimiter is guessed from: every header the portal reads
# fits, and the guess stays quick whatever the line holds.
SNIFF_CHARS = 2048
NOT_UTF8 = "not UTF-8 text; save it as CSV UTF-8"


# ------------------------------------------------------------------------------- out


def safe_cell(value: object) -> object:
    """A value as it may be written to a CSV cell: numbers as they are, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_rows(stream: io.TextIOBase | HttpResponse, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a byte-order mark, the header and the rows, every cell made safe."""
    stream.write(BOM)
    writer = csv.writer(stream)
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    write_rows(out, header, rows)
    return out.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> HttpResponse:
    """A CSV download; `filename` is chosen by the code, never by the reader."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    write_rows(response, header, rows)
    return response


# -------------------------------------------------------------------------------- in


@dataclass(frozen=True)
class RowError:
    """One problem in a file: in a row (the header is row 1), a cell of it, or the whole file (row 0)."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class CsvError(Exception):
    """What is wrong with one or more CSV files, each problem named by file, row and column.
    Raised by every import that reads CSV, before it changes anything."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))

    # Problems a page lists: a file whose every row has the same problem has thousands, and
    # the first ones say what to fix. The command-line imports list them all.
    SHOWN = 200

    @property
    def shown(self) -> list[RowError]:
        return self.errors[: self.SHOWN]

    @property
    def more(self) -> int:
        return max(0, len(self.errors) - self.SHOWN)

    @property
    def summary(self) -> str:
        count = len(self.errors)
        return f"Nothing was imported: {count} problem{'' if count == 1 else 's'} found."


CONTROL_CHARACTER = "contains a line break or another control character"


def has_control_character(value: str) -> bool:
    """Whether text holds a line break, a tab, an escape or another control character: a name
    never does, and one there would break an e-mail's header, a calendar file or a terminal."""
    return any(unicodedata.category(char) == "Cc" for char in value)


class CsvRow(NamedTuple):
    number: int  # as a spreadsheet numbers it: the header is row 1
    values: dict[str, str]


def decode_upload(raw: bytes) -> str:
    """The text of a CSV file's bytes (a byte-order mark from Excel is fine).
    Raises UnicodeDecodeError when it is not UTF-8."""
    return raw.decode("utf-8-sig")


def read_file(path: Path) -> str:
    """The text of a CSV file on disk, as `decode_upload` reads it. Raises CsvError naming
    the file when it is missing or is not UTF-8."""
    try:
        return decode_upload(path.read_bytes())
    except FileNotFoundError:
        raise CsvError([RowError(str(path), 0, "", "no such file")]) from None
    except UnicodeDecodeError:
        raise CsvError([RowError(str(path), 0, "", NOT_UTF8)]) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter of the file's header line: a comma, semicolon or tab (comma when the
    line has none of them, as a one-column header does)."""
    lines = text.removeprefix(BOM)[:SNIFF_CHARS].splitlines()
    header_line = lines[0] if lines else ""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return DEFAULT_DELIMITER


def read_rows(
    text: str,
    filename: str,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    errors: list[RowError],
) -> list[CsvRow]:
    """The rows, their values stripped of surrounding space; blank rows are skipped.
    Problems are appended to `errors`; the caller decides to go on or stop."""
    text = text.removeprefix(BOM)
    # newline="": the csv module sees the file's own line endings (CRLF, LF, or a lone CR as
    # "CSV (Macintosh)" saves them) and keeps line breaks inside quoted cells.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    try:
        first = next(reader, None)
    except csv.Error as problem:
        errors.append(RowError(filename, 1, "", _unreadable(problem)))
        return []
    header = [name.strip() for name in first or []]
    if not any(header):
        errors.append(RowError(filename, 1, "", "the file is empty; expected a header row"))
        return []
    if any("\x00" in name for name in header):
        errors.append(RowError(filename, 1, "", _NUL))
        return []
    for name in required:
        if name not in header:
            errors.append(RowError(filename, 1, name, "required column is missing"))
    expected = [*required, *optional]
    for name in header:
        if name not in expected:
            errors.append(RowError(filename, 1, name, f"unknown column; expected {', '.join(expected)}"))
    if len(set(header)) != len(header):
        errors.append(RowError(filename, 1, "", "a column name appears twice"))
    rows: list[CsvRow] = []
    number = 1
    while True:
        number += 1
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as problem:
            errors.append(RowError(filename, number, "", _unreadable(problem)))
            break
        if len(raw) > len(header):
            errors.append(RowError(filename, number, "", "the row has more values than the header has columns"))
        values = {name: (raw[index].strip() if index < len(raw) else "") for index, name in enumerate(header)}
        if not any(values.values()):
            continue
        for name, value in values.items():
            if "\x00" in value:
                errors.append(RowError(filename, number, name, _NUL))
                values[name] = ""
            elif len(value) > MAX_CELL_CHARS:
                errors.append(RowError(filename, number, name, f"is longer than {MAX_CELL_CHARS:,} characters"))
                values[name] = ""
        rows.append(CsvRow(number, values))
    return rows


_NUL = "contains a NUL character; save the file as CSV UTF-8"


def _unreadable(problem: csv.Error) -> str:
    if "field larger than field limit" in str(problem):
        return f"a cell is longer than {MAX_CELL_CHARS:,} characters"
    if "NUL" in str(problem):
        return _NUL
    return f"cannot be read as CSV ({problem})"
