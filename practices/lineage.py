"""The adaptation tree a practice belongs to, across schools."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q

from portal.models import User
from practices.models import Practice, Status


@dataclass
class LineageNode:
    practice: Practice
    visible: bool
    current: bool
    children: list[LineageNode] = field(default_factory=list)


@dataclass
class Lineage:
    root: LineageNode | None
    visible_ids: set[int]
    size: int

    @property
    def adaptation_count(self) -> int:
        return max(self.size - 1, 0)


def lineage_tree(practice: Practice, user: User) -> Lineage:
    """Every practice adapted from the same original, in one query.

    Entries the viewer may not see stay in the tree as unnamed placeholders so the
    shape is true, but drafts of others are left out altogether.
    """
    root_id = practice.lineage_root_id or practice.pk
    rows = list(
        Practice.objects.filter(Q(pk=root_id) | Q(lineage_root_id=root_id))
        .annotate(visible=Exists(Practice.objects.visible_to(user).filter(pk=OuterRef("pk"))))
        .select_related("school", "author")
        .order_by("published_at", "pk")
    )
    rows = [row for row in rows if row.visible or row.status != Status.DRAFT]
    nodes = {row.pk: LineageNode(row, row.visible, row.pk == practice.pk) for row in rows}
    root = nodes.get(root_id)
    for row in rows:
        if row.adapted_from_id in nodes and row.pk != root_id:
            nodes[row.adapted_from_id].children.append(nodes[row.pk])
    return Lineage(root=root, visible_ids={pk for pk, node in nodes.items() if node.visible}, size=len(nodes))
