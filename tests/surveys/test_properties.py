"""Property-based tests of the suppression rules, on frozen rows (no database).

For random sets of responses: every combination of segment values written to export.csv
covers at least 5 rows; no shown group or part rests on fewer than 5 answers; the hidden
groups of a partition never add up, as the total minus the visible groups, to 1–4 people
or answers; and a part shown in two releases moved by none or at least 5 answers.
"""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.models import MIN_GROUP
from surveys.stats import (
    DISTRICT,
    PARTS,
    SEGMENTS,
    cell_key,
    chained,
    contributions,
    export_rows,
    generalise,
    release_figures,
)

TENSIONS = [1, 2, 3]
FAST = settings(max_examples=60, deadline=None)

segment_values = {
    "role": st.sampled_from(["principal", "district_leader"]),
    "school_level": st.sampled_from(["", "elementary", "middle", "high", "k12"]),
    "enrollment_band": st.sampled_from(["", "small", "large"]),
    "frl_band": st.sampled_from(["", "low", "high"]),
    "locale": st.sampled_from(["", "city", "rural"]),
}
item = st.one_of(
    st.none(),
    st.tuples(
        st.one_of(st.none(), st.integers(1, 5)),
        st.one_of(st.none(), st.booleans()),
        st.one_of(st.none(), st.sampled_from(["low", "medium", "high"])),
        st.sampled_from(["", "", "a remark"]),
    ),
)
answers = st.fixed_dictionaries({str(k): item for k in TENSIONS}).map(
    lambda items: {k: list(v) for k, v in items.items() if v is not None}
)
row_content = st.fixed_dictionaries({**segment_values, "items": answers})


def _rows(contents: list[dict], first_id: int = 1) -> list[dict]:
    return [{"id": first_id + index, **content} for index, content in enumerate(contents)]


def _shown_cells(figures: dict) -> dict[str, dict]:
    """Every shown cell: key -> its values."""
    shown = {}
    groups = [((DISTRICT, ""), figures["district"])]
    for segment, entries in figures["groups"].items():
        groups += [((segment, entry["key"]), entry["cells"]) for entry in entries]
    for group, cells in groups:
        for number, cell in cells.items():
            for part in PARTS:
                if part not in cell["hidden"]:
                    shown[cell_key(group, int(number), part)] = cell["values"]
    return shown


def _answers_per_cell(rows: list[dict]) -> dict[str, dict[int, object]]:
    found: dict[str, dict[int, object]] = {}
    for row in rows:
        for key, value in contributions(row).items():
            found.setdefault(key, {})[row["id"]] = value
    return found


@FAST
@given(st.lists(row_content, max_size=40))
def test_every_written_combination_covers_five_rows(contents):
    rows = _rows(contents)
    generalised = generalise(rows)
    if len(rows) < MIN_GROUP:
        return  # nothing is exported
    assert generalised is not None
    written = export_rows(rows, TENSIONS, generalised)
    combos = Counter(tuple(cells[: len(SEGMENTS)]) for cells in written)
    assert min(combos.values()) >= MIN_GROUP
    assert all(value for combo in combos for value in combo)  # blank is written as the one hidden value


@FAST
@given(st.lists(row_content, min_size=5, max_size=30), st.lists(row_content, min_size=5, max_size=15))
def test_a_later_file_never_combines_with_an_earlier_one_into_a_finer_one(first, more):
    earlier_rows = _rows(first)
    earlier = generalise(earlier_rows)
    assert earlier is not None  # five rows or more always generalise
    rows = earlier_rows + _rows(more, first_id=1000)
    new_rows = rows[len(earlier_rows) :]
    later = generalise(rows, new_rows)
    if later is None:
        return
    later = chained(later, [earlier])
    assert later <= earlier or later >= earlier
    combos = Counter(tuple(cells[: len(SEGMENTS)]) for cells in export_rows(new_rows, TENSIONS, later))
    assert min(combos.values()) >= MIN_GROUP


@FAST
@given(st.lists(row_content, max_size=40))
def test_no_shown_figure_rests_on_fewer_than_five_and_hidden_groups_cannot_be_derived(contents):
    rows = _rows(contents)
    figures = release_figures(rows, TENSIONS, number=1).figures
    per_cell = _answers_per_cell(rows)
    for key in _shown_cells(figures):
        assert len(per_cell.get(key, {})) >= MIN_GROUP, key
    if len(rows) < MIN_GROUP:
        # Nothing is shown, the total included, so there is nothing to subtract from.
        assert not _shown_cells(figures)
        return
    for segment, entries in figures["groups"].items():
        visible = [e for e in entries if not e["hidden"]]
        for entry in visible:
            assert entry["size"] >= MIN_GROUP
        hidden_people = sum(e["size"] for e in entries if e["hidden"])
        assert hidden_people == 0 or hidden_people >= MIN_GROUP, segment
        # Per tension and part: the total minus the visible cells is the hidden cells together.
        for number in TENSIONS:
            for part in PARTS:
                hidden_answers = sum(
                    len(per_cell.get(cell_key((segment, e["key"]), number, part), {}))
                    for e in entries
                    if part in e["cells"][str(number)]["hidden"]
                )
                if part in figures["district"][str(number)]["hidden"]:
                    # The visible cells must not add up to the hidden total either.
                    total = len(per_cell.get(cell_key((DISTRICT, ""), number, part), {}))
                    assert total == 0 or hidden_answers > 0, (segment, number, part)
                else:
                    assert hidden_answers == 0 or hidden_answers >= MIN_GROUP, (segment, number, part)


changes = st.lists(
    st.tuples(st.sampled_from(["add", "edit", "remove"]), st.integers(0, 10**6), row_content), max_size=12
)


@FAST
@given(st.lists(row_content, min_size=5, max_size=30), changes)
def test_a_part_shown_in_two_releases_moved_by_none_or_at_least_five_answers(contents, edits):
    before = _rows(contents)
    first = release_figures(before, TENSIONS, number=1)
    after = {row["id"]: dict(row) for row in before}
    next_id = 10_000
    for kind, pick, content in edits:
        ids = sorted(after)
        if kind == "add" or not ids:
            after[next_id] = {"id": next_id, **content}
            next_id += 1
        elif kind == "edit":
            rid = ids[pick % len(ids)]
            after[rid] = {"id": rid, **content}
        else:
            del after[ids[pick % len(ids)]]
    rows_after = list(after.values())
    second = release_figures(
        rows_after, TENSIONS, number=2, shown_before=first.shown, earlier_rows={1: {r["id"]: r for r in before}}
    )
    shown_first, shown_second = _shown_cells(first.figures), _shown_cells(second.figures)
    then, now = _answers_per_cell(before), _answers_per_cell(rows_after)
    for key in shown_first.keys() & shown_second.keys():
        a, b = then.get(key, {}), now.get(key, {})
        moved = sum(1 for rid in a.keys() | b.keys() if a.get(rid) != b.get(rid))
        assert moved == 0 or moved >= MIN_GROUP, key
