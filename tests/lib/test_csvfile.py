"""The one CSV module: spreadsheet-safe cells out, row-and-column errors in."""

import csv
import io

import pytest

from portal.lib.csvfile import BOM, MAX_CELL_CHARS, csv_response, csv_text, read_rows, safe_cell


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
    errors = []
    rows = read_rows('a,b\n"one\nline two",x\n,\nlast,y\n', "f.csv", ["a", "b"], [], errors)
    assert errors == []
    assert [number for number, _values in rows] == [2, 4]


def test_a_nul_byte_is_an_error_naming_row_and_column():
    errors = []
    read_rows("a,b\nok,fine\nbad\x00,x\n", "f.csv", ["a", "b"], [], errors)
    assert [str(error) for error in errors] == [
        "f.csv row 3, column a: contains a NUL character; save the file as CSV UTF-8"
    ]


def test_a_huge_cell_is_an_error_not_a_crash():
    errors = []
    read_rows("a\n" + "x" * (200 * 1024) + "\n", "f.csv", ["a"], [], errors)
    assert len(errors) == 1 and errors[0].row == 2
    assert f"{MAX_CELL_CHARS:,}" in str(errors[0])


def test_header_problems_are_named():
    errors = []
    read_rows(BOM + "a,zzz,a\n", "f.csv", ["a", "b"], [], errors)
    assert {str(error) for error in errors} == {
        "f.csv row 1, column b: required column is missing",
        "f.csv row 1, column zzz: unknown column; expected a, b",
        "f.csv row 1: a column name appears twice",
    }


def test_an_empty_file_says_so():
    errors = []
    assert read_rows("", "f.csv", ["a"], [], errors) == []
    assert str(errors[0]) == "f.csv row 1: the file is empty; expected a header row"
