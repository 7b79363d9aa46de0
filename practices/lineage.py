"""The adaptation tree a practice belongs to, across schools, as one reader may see it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q

from portal.models import User
from practices.models import Practice


@dataclass
class LineageNode:
    practice: Practice
    current: bool
    children: list[LineageNode] = field(default_factory=list)


@dataclass
class Lineage:
    roots: list[LineageNode]
    visible_ids: set[int]

    @property
    def size(self) -> int:
        return len(self.visible_ids)

    @property
    def adaptation_count(self) -> int:
        return max(self.size - 1, 0)


def lineage_tree(practice: Practice, user: User) -> Lineage:
    """Every practice adapted from the same original that `user` may open, in one query.

    An entry the reader may not open is left out altogether, like everywhere else: its
    visible adaptations hang under the nearest entry above it that the reader may open
    (or stand as roots of their own), so the tree never hints at what is hidden.
    """
    root_id = practice.lineage_root_id or practice.pk
    rows = list(
        Practice.objects.filter(Q(pk=root_id) | Q(lineage_root_id=root_id))
        .annotate(visible=Exists(Practice.objects.visible_to(user).filter(pk=OuterRef("pk"))))
        .select_related("school", "author")
        .order_by("published_at", "pk")
    )
    # Hidden entries only say where their visible adaptations belong.
    parents = {row.pk: row.adapted_from_id for row in rows}
    rows = [row for row in rows if row.visible]
    nodes = {row.pk: LineageNode(row, row.pk == practice.pk) for row in rows}
    roots = []
    for row in rows:
        parent_id = row.adapted_from_id if row.pk != root_id else None
        seen: set[int] = set()
        while parent_id is not None and parent_id not in nodes and parent_id not in seen:
            seen.add(parent_id)
            parent_id = parents.get(parent_id)
        if parent_id in nodes:
            nodes[parent_id].children.append(nodes[row.pk])
        else:
            roots.append(nodes[row.pk])
    return Lineage(roots=roots, visible_ids=set(nodes))
