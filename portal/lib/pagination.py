from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import QuerySet

COUNT_LIMIT = 1000


class CappedPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows: past that, lists say "more than 1,000" and
    the cost of a page does not grow with the size of the district."""

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return self.object_list.order_by().values("pk")[: COUNT_LIMIT + 1].count()
        return len(self.object_list)

    @property
    def capped(self) -> bool:
        return self.count > COUNT_LIMIT
