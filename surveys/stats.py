"""Survey figures and the rules that keep one person's answers from being worked out.

Everything here is plain Python over *frozen rows*: one dict per response, as it was when
a release of the figures was made (see `surveys.models.Release`)::

    {"id": 12, "role": "principal", "school_level": "middle", "enrollment_band": "large",
     "frl_band": "low", "locale": "rural", "items": {"1": [2, True, "high", "comment"], ...}}

`items` maps a tension number to [position 1–5, dedicated resources, priority, comment],
each null when skipped. Pages never read answers directly: they show a release.

Figures per tension, as DESIGN.md defines them: n, min, q1, median, q3, max (quartiles by
linear interpolation between closest ranks, as PostgreSQL percentile_cont and
statistics.quantiles(method="inclusive")), the shares leaning left (1–2), balanced (3)
and leaning right (4–5), the share with dedicated resources (yes among yes+no) and the
share rating it high priority (high among answered), rounded half up.

What is never shown, for the district and for every segment group, per tension and per
*part* (position, resources, priority), each part standing on its own answers:
- a group of fewer than MIN_GROUP respondents, and a part with fewer than MIN_GROUP answers
  (none included);
- anything hidden that the visible parts of a partition would give away: the hidden groups
  together are what a total minus the visible groups shows, so they must together hold at
  least MIN_GROUP respondents (answers), or more groups are hidden, smallest first;
- a part whose answers changed by 1 to MIN_GROUP - 1 since the release it was last shown
  in: comparing the two releases would show those few answers (differencing over time).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from surveys.models import MIN_GROUP, Priority, Tension, YesNo

FIGURES = [
    "n",
    "min",
    "q1",
    "median",
    "q3",
    "max",
    "lean_left_pct",
    "balanced_pct",
    "lean_right_pct",
    "resources_pct",
    "high_priority_pct",
]
PARTS = ("position", "resources", "priority")
PART_OF = {name: "position" for name in FIGURES} | {"resources_pct": "resources", "high_priority_pct": "priority"}
SEGMENTS = ["role", "school_level", "enrollment_band", "frl_band", "locale"]
DISTRICT = "district"

# Why something is not shown. FEW: it rests on fewer than MIN_GROUP people; PROTECTED: it
# would let a smaller group (or a few changed answers) be worked out.
FEW = "few"
PROTECTED = "protected"
SUPPRESSED = f"fewer than {MIN_GROUP} responses"
PROTECTED_TEXT = "not shown, so that a smaller group cannot be worked out from the totals"
# A segment value nobody who responded has: pages list it too, so that its empty row says why.
NOBODY = "nobody"
NOBODY_TEXT = "no responses from this group"
REASONS = {FEW: SUPPRESSED, PROTECTED: PROTECTED_TEXT, NOBODY: NOBODY_TEXT}
# The same reasons in a table cell, where the key under the table says them in full.
CELL_REASONS = {
    FEW: f"fewer than {MIN_GROUP} answers",
    PROTECTED: "withheld to protect a smaller group",
    NOBODY: NOBODY_TEXT,
}

Row = dict[str, Any]


def percent(part: int, whole: int) -> int | None:
    """Whole-number percentage, rounded half up; None when there is nothing to divide by."""
    if not whole:
        return None
    return int((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def quartiles(values: list[int]) -> tuple[float, float, float]:
    if len(values) == 1:
        return float(values[0]), float(values[0]), float(values[0])
    q1, median, q3 = statistics.quantiles(sorted(values), n=4, method="inclusive")
    return q1, median, q3


def _tidy(number: float) -> float | int:
    return int(number) if float(number).is_integer() else round(float(number), 2)


def is_blank(items: Iterable[Iterable[object]]) -> bool:
    """Whether every item of every tension was skipped: such a submission is not a response."""
    return all(value in (None, "") for values in items for value in values)


@dataclass
class Figures:
    """One tension's figures for one group, with the parts that are not shown and why."""

    tension: Tension
    values: dict[str, object]
    hidden: dict[str, str] = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        """Whether the position figures (n, quartiles, leans) are hidden."""
        return "position" in self.hidden

    def value(self, name: str) -> object:
        """A figure, or None when its part is hidden or nobody answered it."""
        return None if PART_OF[name] in self.hidden else self.values.get(name)

    def reason(self, part: str) -> str:
        return REASONS.get(self.hidden.get(part, ""), "")

    def cell_reason(self, part: str) -> str:
        """Why a part is not shown, as a table cell says it."""
        return CELL_REASONS.get(self.hidden.get(part, ""), "")

    @property
    def position_note(self) -> str:
        return self.cell_reason("position")

    @property
    def resources_note(self) -> str:
        return self.cell_reason("resources")

    @property
    def priority_note(self) -> str:
        return self.cell_reason("priority")


# ---------------------------------------------------------------------------- figures


def position_figures(positions: list[int]) -> dict[str, object]:
    n = len(positions)
    values: dict[str, object] = {"n": n}
    if n:
        q1, median, q3 = quartiles(positions)
        values |= {
            "min": min(positions),
            "q1": _tidy(q1),
            "median": _tidy(median),
            "q3": _tidy(q3),
            "max": max(positions),
        }
    values |= {
        "lean_left_pct": percent(sum(1 for p in positions if p <= 2), n),
        "balanced_pct": percent(sum(1 for p in positions if p == 3), n),
        "lean_right_pct": percent(sum(1 for p in positions if p >= 4), n),
    }
    return values


def part_figures(part: str, answers: list[Any]) -> dict[str, object]:
    if part == "position":
        return position_figures(answers)
    if part == "resources":
        return {"resources_pct": percent(sum(1 for a in answers if a is True), len(answers))}
    return {"high_priority_pct": percent(sum(1 for a in answers if a == Priority.HIGH), len(answers))}


def groups_of(row: Row) -> list[tuple[str, str]]:
    """The groups a response counts in: the district, and its value of every segment."""
    return [(DISTRICT, ""), *((segment, row.get(segment) or "") for segment in SEGMENTS)]


def cell_key(group: tuple[str, str], number: int, part: str) -> str:
    return f"{group[0]}|{group[1]}|{number}|{part}"


def contributions(row: Row) -> dict[str, object]:
    """Every cell (group, tension, part) this response gives an answer to, with the answer."""
    found: dict[str, object] = {}
    for group in groups_of(row):
        for number, values in row["items"].items():
            for index, part in enumerate(PARTS):
                if values[index] is not None:
                    found[cell_key(group, int(number), part)] = values[index]
    return found


def changed_cells(now: Mapping[int, Row], then: Mapping[int, Row]) -> Counter[str]:
    """Per cell, how many answers differ between two sets of frozen rows (added, removed
    or changed); rows that are the same, or differ only in comments, count nowhere."""
    counts: Counter[str] = Counter()
    for rid in now.keys() | then.keys():
        current, before = now.get(rid), then.get(rid)
        if current == before:
            continue
        a = contributions(current) if current else {}
        b = contributions(before) if before else {}
        for key in a.keys() | b.keys():
            if a.get(key) != b.get(key):
                counts[key] += 1
    return counts


def protect_partition(
    sizes: Mapping[str, int], hidden: Iterable[str], changes: Mapping[str, int] | None = None
) -> set[str]:
    """The groups of one partition to hide, given those hidden for their own sake.

    A reader can subtract the visible groups from the total, which gives the hidden groups
    together: they must hold at least MIN_GROUP people (and, when `changes` is given, not
    between 1 and MIN_GROUP - 1 changed answers), or the smallest visible group is hidden
    too, and so on."""
    changes = changes or {}
    with_data = {key for key, size in sizes.items() if size > 0}
    result = set(hidden) & with_data
    visible = sorted(with_data - result, key=lambda key: (sizes[key], key))

    def exposed() -> bool:
        if not result:
            return False
        size = sum(sizes[key] for key in result)
        changed = sum(changes.get(key, 0) for key in result)
        return size < MIN_GROUP or 0 < changed < MIN_GROUP

    while exposed() and visible:
        result.add(visible.pop(0))
    return result


@dataclass
class ReleasedFigures:
    """What one release shows (JSON-ready) and, per cell, the release it was last shown in."""

    figures: dict[str, Any]
    shown: dict[str, int]


def release_figures(
    rows: list[Row],
    tensions: list[int],
    *,
    number: int,
    shown_before: Mapping[str, int] | None = None,
    earlier_rows: Mapping[int, Mapping[int, Row]] | None = None,
) -> ReleasedFigures:
    """Figures for release `number` of these rows, with every rule above applied.

    `shown_before` says, per cell, the release it was last shown in, and `earlier_rows`
    holds those releases' rows, so that a cell is shown only when its answers changed by
    none or by at least MIN_GROUP since (a cell whose earlier rows are missing is hidden)."""
    shown_before = dict(shown_before or {})
    earlier_rows = earlier_rows or {}
    by_id = {int(row["id"]): row for row in rows}
    respondents = len(rows)

    group_sizes: dict[tuple[str, str], int] = Counter()
    answers: dict[str, list[Any]] = defaultdict(list)
    comments: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        for group in groups_of(row):
            group_sizes[group] += 1
        for key, value in contributions(row).items():
            answers[key].append(value)
        for number_text, values in row["items"].items():
            if values[3]:
                comments[int(number_text)].append(values[3])

    diffs = {ref: changed_cells(by_id, earlier_rows[ref]) for ref in set(shown_before.values()) if ref in earlier_rows}

    def changes(key: str) -> int:
        ref = shown_before.get(key)
        if ref is None:
            return 0
        if ref not in diffs:
            return 1  # the earlier rows are gone: assume the worst
        return diffs[ref][key]

    # Groups: too small, or giving a too small group away.
    group_hidden: dict[tuple[str, str], str] = {}
    if respondents < MIN_GROUP:
        group_hidden = dict.fromkeys(group_sizes, FEW)
    else:
        for segment in SEGMENTS:
            sizes = {value: n for (seg, value), n in group_sizes.items() if seg == segment}
            few = {value for value, n in sizes.items() if n < MIN_GROUP}
            for value in protect_partition(sizes, few):
                group_hidden[(segment, value)] = FEW if value in few else PROTECTED

    # Cells: per tension and part, the district (the total) and each segment's partition.
    cell_hidden: dict[str, str] = {}
    for tension in tensions:
        for part in PARTS:
            total = cell_key((DISTRICT, ""), tension, part)
            size = len(answers.get(total, []))
            if (DISTRICT, "") in group_hidden or size < MIN_GROUP:
                cell_hidden[total] = FEW
            elif 0 < changes(total) < MIN_GROUP:
                cell_hidden[total] = PROTECTED
            for segment in SEGMENTS:
                keys = {value: cell_key((seg, value), tension, part) for (seg, value) in group_sizes if seg == segment}
                sizes = {value: len(answers.get(key, [])) for value, key in keys.items()}
                primary: dict[str, str] = {}
                for value, key in keys.items():
                    if (segment, value) in group_hidden:
                        primary[value] = group_hidden[(segment, value)]
                    elif sizes[value] < MIN_GROUP:
                        primary[value] = FEW
                    elif 0 < changes(key) < MIN_GROUP:
                        primary[value] = PROTECTED
                moved = {value: changes(key) for value, key in keys.items()}
                for value in protect_partition(sizes, primary, moved):
                    cell_hidden[keys[value]] = primary.get(value, PROTECTED)
                for value in primary:
                    cell_hidden[keys[value]] = primary[value]

    shown = dict(shown_before)
    for key in answers:
        if key not in cell_hidden:
            shown[key] = number

    def figures_for(group: tuple[str, str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for tension in tensions:
            values: dict[str, object] = {}
            hidden: dict[str, str] = {}
            for part in PARTS:
                key = cell_key(group, tension, part)
                if key in cell_hidden:
                    hidden[part] = cell_hidden[key]
                else:
                    values |= part_figures(part, answers.get(key, []))
            out[str(tension)] = {"values": values, "hidden": hidden}
        return out

    groups: dict[str, list[dict[str, Any]]] = {}
    for segment in SEGMENTS:
        groups[segment] = [
            {
                "key": value,
                "size": size,
                "hidden": group_hidden.get((seg, value)),
                "cells": figures_for((seg, value)),
            }
            for (seg, value), size in group_sizes.items()
            if seg == segment
        ]
    figures = {
        "respondents": respondents,
        "district": figures_for((DISTRICT, "")),
        "groups": groups,
        "comments": {str(k): sorted(texts) for k, texts in sorted(comments.items())}
        if respondents >= MIN_GROUP
        else {},
    }
    return ReleasedFigures(figures=figures, shown=shown)


# ----------------------------------------------------------------------------- export

HIDDEN_VALUE = "suppressed"  # a segment value not shown: too rare, or never recorded


def written_segments(row: Row, generalised: frozenset[tuple[str, str]]) -> tuple[str, ...]:
    """A row's segment values as export.csv writes them."""
    return tuple(
        HIDDEN_VALUE if not row.get(segment) or (segment, row[segment]) in generalised else row[segment]
        for segment in SEGMENTS
    )


def _small_combos(rows: list[Row], generalised: frozenset[tuple[str, str]]) -> list[tuple[int, tuple[str, ...]]]:
    counts = Counter(written_segments(row, generalised) for row in rows)
    return sorted((n, combo) for combo, n in counts.items() if n < MIN_GROUP)


def generalise(rows: list[Row], new_rows: list[Row] | None = None) -> frozenset[tuple[str, str]] | None:
    """The segment values to write as HIDDEN_VALUE so that every combination of written
    values covers at least MIN_GROUP rows, among all rows and among `new_rows` (the rows
    not in the previous export, which a reader could single out by comparing two files).

    A value is hidden for every row that has it (global recoding), so a person's row can
    only be in one class. Values rarer than MIN_GROUP go first; then, while a combination
    is too small, the value whose hiding leaves the fewest rows in too small combinations
    (the rarest, on a tie). None when no choice will do (fewer than MIN_GROUP rows)."""
    sets = [rows] if new_rows is None else [rows, new_rows]
    frequency = Counter((segment, row[segment]) for row in rows for segment in SEGMENTS if row.get(segment))
    hidden = frozenset(pair for pair, n in frequency.items() if n < MIN_GROUP)

    def stranded(choice: frozenset[tuple[str, str]]) -> int:
        return sum(n for rows_ in sets for n, _combo in _small_combos(rows_, choice))

    while stranded(hidden):
        candidates = [pair for pair in frequency if pair not in hidden]
        if not candidates:
            return None
        best = min(
            candidates,
            key=lambda pair: (stranded(hidden | {pair}), frequency[pair], -SEGMENTS.index(pair[0]), pair[1]),
        )
        hidden = hidden | {best}
    return hidden


def chained(
    generalised: frozenset[tuple[str, str]], earlier: list[frozenset[tuple[str, str]]]
) -> frozenset[tuple[str, str]]:
    """`generalised`, coarsened as little as needed to be comparable with every earlier
    export's choice (each a subset or a superset of it): rows can be matched across two
    files by their answers, and two incomparable choices would together show a finer
    combination than either file."""

    def comparable(candidate: frozenset) -> bool:
        return all(candidate <= other or candidate >= other for other in earlier)

    options = [generalised, *(generalised | other for other in sorted(earlier, key=len))]
    options.append(generalised.union(*earlier))
    return next(option for option in options if comparable(option))


def export_rows(rows: list[Row], tensions: list[int], generalised: frozenset[tuple[str, str]]) -> list[list[object]]:
    """export.csv's rows: written segments, then position, resources and priority per
    tension. Comments are left out: free text can name its writer and would then give
    away every answer beside it."""
    out = []
    for row in rows:
        cells: list[object] = list(written_segments(row, generalised))
        for number in tensions:
            position, resources, priority, _comment = row["items"].get(str(number)) or [None, None, None, ""]
            cells += [
                position if position is not None else "",
                {True: YesNo.YES.value, False: YesNo.NO.value}.get(resources, ""),
                priority or "",
            ]
        out.append(cells)
    return out


def export_columns(tensions: list[int]) -> list[str]:
    return [*SEGMENTS, *(f"q{k}_{part}" for k in tensions for part in ("position", "resources", "priority"))]
