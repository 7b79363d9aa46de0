"""Dashboard figures, computed as DESIGN.md defines them.

Per tension, over the answers that have the item: n, min, q1, median, q3, max (quartiles
by linear interpolation between closest ranks, as PostgreSQL percentile_cont and
statistics.quantiles(method="inclusive")), the shares leaning left (1–2), balanced (3)
and leaning right (4–5), the share with dedicated resources (yes among yes+no) and the
share rating it high priority (high among answered), rounded half up to whole numbers.

Counts are done by the database in one grouped query with conditional counts; the
quartiles by percentile_cont on PostgreSQL, and on SQLite from the positions fetched
in one query. Groups of fewer than MIN_GROUP respondents are suppressed, and so is the
next smallest group wherever a lone suppressed group could be worked out from a total.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connections
from django.db.models import Aggregate, CharField, Count, FloatField, Max, Min, Q, QuerySet, Value
from django.db.models.functions import Cast

from surveys.models import MIN_GROUP, Answer, Priority, Tension

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
SUPPRESSED = "fewer than 5 responses"


class PercentileCont(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra) -> None:  # type: ignore[no-untyped-def]
        super().__init__(expression, fraction=fraction, **extra)


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


def _tidy(number: float | None) -> float | int | None:
    if number is None:
        return None
    return int(number) if float(number).is_integer() else round(float(number), 2)


@dataclass
class Figures:
    tension: Tension
    values: dict[str, object]
    respondents: int
    suppressed: bool = False

    def value(self, name: str) -> object:
        """A figure, or None when it is suppressed or could not be computed."""
        return None if self.suppressed else self.values.get(name)


@dataclass
class Breakdown:
    segment: str
    label: str
    groups: list[tuple[str, str, int, bool, dict[int, Figures]]] = field(default_factory=list)


AGGREGATES = {
    "n": Count("pk", filter=Q(position__isnull=False)),
    "min": Min("position"),
    "max": Max("position"),
    "left": Count("pk", filter=Q(position__lte=2)),
    "balanced": Count("pk", filter=Q(position=3)),
    "right": Count("pk", filter=Q(position__gte=4)),
    "yes": Count("pk", filter=Q(dedicated_resources=True)),
    "yes_no": Count("pk", filter=Q(dedicated_resources__isnull=False)),
    "high": Count("pk", filter=Q(priority=Priority.HIGH)),
    "prioritised": Count("pk", filter=Q(priority__isnull=False)),
}
QUARTILES = {"q1": 0.25, "median": 0.5, "q3": 0.75}


@dataclass(frozen=True)
class Arm:
    """One way of grouping the answers: `group_by` is the field whose values are the groups
    (None for one group of everything), limited to one cycle when `cycle_id` is set."""

    name: str
    group_by: str | None
    cycle_id: int | None = None


def _arm_query(source: QuerySet[Answer], arm: Arm, postgres: bool) -> QuerySet:
    answers = source.filter(response__cycle_id=arm.cycle_id) if arm.cycle_id is not None else source
    key = Cast(arm.group_by, CharField()) if arm.group_by else Value("", output_field=CharField())
    aggregates = dict(AGGREGATES)
    if postgres:
        aggregates |= {name: PercentileCont("position", fraction) for name, fraction in QUARTILES.items()}
    return (
        answers.order_by()
        .annotate(arm=Value(arm.name, output_field=CharField()), key=key)
        .values("arm", "key", "tension_id")
        .annotate(**aggregates)
    )


def grouped_figures(
    source: QuerySet[Answer], arms: list[Arm], tensions: dict[int, Tension]
) -> dict[tuple[str, str], dict[int, Figures]]:
    """Figures per (arm, group) and tension: every arm in ONE query (UNION ALL).

    On PostgreSQL the quartiles come from percentile_cont in that query; elsewhere from
    the positions, fetched in one more query and shared by every arm.
    """
    postgres = connections[source.db].vendor == "postgresql"
    queries = [_arm_query(source, arm, postgres) for arm in arms]
    rows = list(queries[0].union(*queries[1:], all=True)) if len(queries) > 1 else list(queries[0])
    positions = None if postgres else _positions(source, arms)
    by_id = {tension.pk: tension for tension in tensions.values()}
    result: dict[tuple[str, str], dict[int, Figures]] = defaultdict(dict)
    for row in rows:
        tension = by_id[row["tension_id"]]
        group_positions = (
            positions.get((row["arm"], row["key"], row["tension_id"]), []) if positions is not None else None
        )
        values = _figures(row, group_positions)
        result[(row["arm"], row["key"])][tension.number] = Figures(
            tension, values, row["n"], suppressed=row["n"] < MIN_GROUP
        )
    return result


def _positions(source: QuerySet[Answer], arms: list[Arm]) -> dict[tuple[str, str, int], list[int]]:
    fields = sorted({arm.group_by for arm in arms if arm.group_by} | {"response__cycle_id"})
    found: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for tension_id, position, *groups in (
        source.filter(position__isnull=False).order_by().values_list("tension_id", "position", *fields)
    ):
        row = dict(zip(fields, groups, strict=True))
        for arm in arms:
            if arm.cycle_id is not None and row["response__cycle_id"] != arm.cycle_id:
                continue
            key = "" if arm.group_by is None or row[arm.group_by] is None else str(row[arm.group_by])
            found[(arm.name, key, tension_id)].append(position)
    return found


def _figures(row: dict, positions: list[int] | None) -> dict[str, object]:
    n = row["n"]
    values: dict[str, object] = {"n": n}
    if n:
        if positions is not None:
            q1, median, q3 = quartiles(positions)
        else:
            q1, median, q3 = row["q1"], row["median"], row["q3"]
        values |= {"min": row["min"], "q1": _tidy(q1), "median": _tidy(median), "q3": _tidy(q3), "max": row["max"]}
    values |= {
        "lean_left_pct": percent(row["left"], n),
        "balanced_pct": percent(row["balanced"], n),
        "lean_right_pct": percent(row["right"], n),
        "resources_pct": percent(row["yes"], row["yes_no"]),
        "high_priority_pct": percent(row["high"], row["prioritised"]),
    }
    return values


def complete(figures: dict[int, Figures], tensions: dict[int, Tension]) -> dict[int, Figures]:
    """Every tension present, in order; a tension nobody answered is suppressed."""
    for number, tension in tensions.items():
        figures.setdefault(number, Figures(tension, {"n": 0}, 0, suppressed=True))
    return dict(sorted(figures.items()))


def with_complementary_suppression(sizes: dict[str, int], hidden: set[str]) -> set[str]:
    """Hide the next smallest group when exactly one group with data is hidden, so that a
    shown total minus the shown groups cannot reveal it."""
    with_data = {key for key, size in sizes.items() if size > 0}
    hidden = hidden & with_data
    visible = sorted((sizes[key], key) for key in with_data - hidden)
    if len(hidden) == 1 and visible:
        hidden = hidden | {visible[0][1]}
    return hidden


def segment_breakdown(
    grouped: dict[tuple[str, str], dict[int, Figures]],
    segment: str,
    label: str,
    choices: dict[str, str],
    tensions: dict[int, Tension],
    group_sizes: dict[str, int],
) -> Breakdown:
    """Figures per group of one segment (role, school level, …).

    A group of fewer than MIN_GROUP respondents is hidden whole; an item answered by
    fewer than MIN_GROUP in a shown group is hidden for that item; and complementary
    suppression applies at both levels.
    """
    hidden_groups = with_complementary_suppression(
        group_sizes, {key for key, size in group_sizes.items() if size < MIN_GROUP}
    )
    # Groups in the order their choices are defined (bands from low to high), unknown ones last.
    position = {key: index for index, key in enumerate(choices)}
    ordered = sorted(group_sizes, key=lambda key: (key == "", position.get(key, len(position)), key))
    cells = {key: complete(grouped.get((segment, key), {}), tensions) for key in ordered}
    for number in tensions:
        item_sizes = {key: int(cells[key][number].values.get("n") or 0) for key in ordered if key not in hidden_groups}
        hidden_items = with_complementary_suppression(
            item_sizes, {key for key, n in item_sizes.items() if n < MIN_GROUP}
        )
        for key in ordered:
            cells[key][number].suppressed = key in hidden_groups or key in hidden_items or not item_sizes.get(key)
    breakdown = Breakdown(segment, label)
    for key in ordered:
        name = choices.get(key, key) if key else "Not recorded"
        breakdown.groups.append((key, name, group_sizes[key], key in hidden_groups, dict(sorted(cells[key].items()))))
    return breakdown
