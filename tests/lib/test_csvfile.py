"""The one CSV module: spreadsheet-safe cells out; delimiters found and row-and-column errors in."""

import csv
import io
import time

import pytest

from portal.lib.csvfile import (
    BOM,
    MAX_CELL_CHARS,
    CsvError,
    RowError,
    csv_response,
    csv_text,
    decode_upload,
    read_file,
    read_rows,
    safe_cell,
    sniff_delimiter,
)


@pytest.mark.parametrize(
    "typed",
    ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\n=1"],
)
def test_text_that_a_spreadsheet_would_run_is_defused(typed):
    assert safe_cell(typed) == "'" + typed


@pytest.mark.parametrize("value", [3, -3, 2.5, -0.25, "-3", "+4", "12", "-1.5e3"])
def test_numbers_stay_numbers(value):
    assert safe_cell(value) == value


def test_empty_and_booleans_are_plain_words():
    assert (safe_cell(None), safe_cell(True), safe_cell(False), safe_cell("a=b")) == ("", "yes", "no", "a=b")


def test_a_file_starts_with_a_byte_order_mark_and_every_cell_is_safe():
    text = csv_text(["title", "n"], [["=1+1", 4], ["Élan", -2]])
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    assert rows == [["title", "n"], ["'=1+1", "4"], ["Élan", "-2"]]


def test_a_download_is_private_and_named_by_the_code():
    response = csv_response("summary.csv", ["a"], [["@x"]])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="summary.csv"'
    assert "no-store" in response["Cache-Control"]
    assert response.content.decode("utf-8") == BOM + "a\r\n'@x\r\n"


def test_rows_are_numbered_as_a_spreadsheet_does_even_across_line_breaks_in_cells():
    errors: list[RowError] = []
    rows = read_rows('a,b\n"one\nline two",x\n,\nlast,y\n', "f.csv", required=["a", "b"], errors=errors)
    assert errors == []
    assert [number for number, _values in rows] == [2, 4]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["unix", "windows", "old-mac"])
def test_every_line_ending_a_spreadsheet_saves_reads_alike(end):
    errors: list[RowError] = []
    text = end.join(["a;b", '"one' + end + 'two";x', "last;y", ""])
    rows = read_rows(text, "f.csv", required=["a", "b"], errors=errors)
    assert errors == []
    assert rows == [(2, {"a": f"one{end}two", "b": "x"}), (3, {"a": "last", "b": "y"})]


def test_a_nul_byte_is_an_error_naming_row_and_column():
    errors: list[RowError] = []
    read_rows("a,b\nok,fine\nbad\x00,x\n", "f.csv", required=["a", "b"], errors=errors)
    assert [str(error) for error in errors] == [
        "f.csv row 3, column a: contains a NUL character; save the file as CSV UTF-8"
    ]


def test_a_huge_cell_is_an_error_not_a_crash():
    errors: list[RowError] = []
    read_rows("a\n" + "x" * (200 * 1024) + "\n", "f.csv", required=["a"], errors=errors)
    assert len(errors) == 1 and errors[0].row == 2
    assert f"{MAX_CELL_CHARS:,}" in str(errors[0])


def test_header_problems_are_named():
    errors: list[RowError] = []
    read_rows(BOM + "a,zzz,a\n", "f.csv", required=["a", "b"], errors=errors)
    assert {str(error) for error in errors} == {
        "f.csv row 1, column b: required column is missing",
        "f.csv row 1, column zzz: unknown column; expected a, b",
        "f.csv row 1: a column name appears twice",
    }


def test_an_empty_file_says_so():
    errors: list[RowError] = []
    assert read_rows("", "f.csv", required=["a"], errors=errors) == []
    assert str(errors[0]) == "f.csv row 1: the file is empty; expected a header row"


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ('"a";"b"\n', ";"),
        (BOM + "a;b\r\n", ";"),
        # Semicolons and commas inside the cells below do not count: the header decides.
        ('a,b\n"x; y; z",1\n', ","),
        ("a;b\n1,5;2,5\n", ";"),
        # One column, or nothing at all: nothing to find, so a comma.
        ("a\n1\n", ","),
        ("", ","),
        ("a|b\n", ","),
    ],
)
def test_the_delimiter_is_found_from_the_header(text, delimiter):
    assert sniff_delimiter(text) == delimiter


def test_a_semicolon_file_reads_as_its_comma_twin():
    errors: list[RowError] = []
    comma = read_rows('a,b\n"1,5",x\n', "f.csv", required=["a", "b"], errors=errors)
    semicolon = read_rows("a;b\n1,5;x\n", "f.csv", required=["a", "b"], errors=errors)
    tab = read_rows("a\tb\n1,5\tx\n", "f.csv", required=["a", "b"], errors=errors)
    assert errors == []
    assert comma == semicolon == tab == [(2, {"a": "1,5", "b": "x"})]


def test_the_delimiter_of_a_hostile_header_is_guessed_quickly():
    """Guessing the delimiter looks at the start of the header only: over the whole of this
    line (2 MB of quotes and commas) the guess would take hours; over 20 KB, seconds."""
    start = time.monotonic()
    assert sniff_delimiter(',"' * 1_000_000 + "\n") == ","
    assert time.monotonic() - start < 1


def test_one_error_type_names_every_problem():
    failure = CsvError([RowError("f.csv", 2, "a", "is required"), RowError("f.csv", 3, "", "cannot be read")])
    assert str(failure) == "f.csv row 2, column a: is required\nf.csv row 3: cannot be read"
    assert failure.summary == "Nothing was imported: 2 problems found."
    assert CsvError([RowError("f.csv", 0, "", "no such file")]).summary == "Nothing was imported: 1 problem found."


def test_an_upload_may_start_with_a_byte_order_mark_and_must_be_utf8():
    assert decode_upload((BOM + "é").encode()) == "é"
    with pytest.raises(UnicodeDecodeError):
        decode_upload("é".encode("latin-1"))


def test_a_file_on_disk_that_is_missing_or_not_utf8_is_named(tmp_path):
    with pytest.raises(CsvError) as caught:
        read_file(tmp_path / "gone.csv")
    assert str(caught.value) == f"{tmp_path / 'gone.csv'}: no such file"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a\né\n".encode("latin-1"))
    with pytest.raises(CsvError, match=r"latin\.csv: not UTF-8 text; save it as CSV UTF-8"):
        read_file(latin)
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(BOM + "a\n", encoding="utf-8")
    assert read_file(utf8) == "a\n"
