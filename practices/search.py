"""Full-text search over practices: PostgreSQL full-text search with ranking, and a
correct (if slower) word-matching path on SQLite. Typos are forgiven through a word list
(pg_trgm on PostgreSQL, difflib elsewhere), and each result shows the passage it matched in."""

from __future__ import annotations

import difflib
import hashlib
import itertools
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchHeadline, SearchQuery, TrigramSimilarity
from django.core.cache import cache
from django.db import OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    F,
    FloatField,
    OuterRef,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Combinable, Expression, RawSQL
from django.db.models.functions import Coalesce, Concat, Length
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString

from portal.models import School, school_similarity
from practices.models import Failure, Iteration, Practice, SearchWord

logger = logging.getLogger(__name__)


class SearchVectorSQL(Expression):
    """A match against, or the rank in, PostgreSQL's stored `search_vector` column
    (generated and GIN-indexed by migration 0004; not a model field, as SQLite has none),
    or the column itself ("column") for a query that ranks around it.
    The column is named through the query's own alias for the practice table, so the
    expression also holds inside a subquery. The SQL is constant; the searched text is a
    parameter."""

    QUERY = "websearch_to_tsquery('english'::regconfig, %s)"

    def __init__(self, kind: str, text: str = "") -> None:
        output_field: BooleanField[Any, Any] | FloatField[Any, Any] | TextField[Any, Any] = TextField()
        if kind == "@@":
            output_field = BooleanField()
        elif kind == "rank":
            output_field = FloatField()
        super().__init__(output_field=output_field)
        self.kind, self.text = kind, text

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[str, ...]]:
        column = f"{compiler.quote_name_unless_alias(compiler.query.get_initial_alias())}.search_vector"
        if self.kind == "@@":
            return f"{column} @@ {self.QUERY}", (self.text,)
        if self.kind == "rank":
            return f"ts_rank({column}, {self.QUERY})", (self.text,)
        return column, ()


def searched_text(text: str) -> str:
    return text.strip()[:200]


def search_terms(text: str) -> list[str]:
    return [term for term in re.findall(r"[\w'’-]+", text.lower()) if term.strip("'’-")][:12]


def practice_matches(queryset: QuerySet[Practice], text: str) -> QuerySet[Practice]:
    """Practices matching every word of `text`."""
    text = searched_text(text)
    if not text:
        return queryset
    terms = search_terms(text)
    if not terms:
        return queryset.none()
    if connections[queryset.db].vendor == "postgresql":
        return queryset.alias(matches=SearchVectorSQL("@@", text)).filter(matches=True)
    for term in terms:
        queryset = queryset.filter(search_document__icontains=term)
    return queryset


def _title_and_summary_bonus(text: str) -> Combinable:
    """Extra weight for the searched words in the title (1) or the summary (0.5)."""
    bonus: Combinable = Value(0.0, output_field=FloatField())
    for term in search_terms(text):
        bonus = bonus + Case(
            When(title__icontains=term, then=Value(1.0)), default=Value(0.0), output_field=FloatField()
        )
        bonus = bonus + Case(
            When(summary__icontains=term, then=Value(0.5)), default=Value(0.0), output_field=FloatField()
        )
    return bonus


def with_search_rank(queryset: QuerySet[Practice], text: str) -> QuerySet[Practice]:
    """A `search_rank` alias to order matches by: PostgreSQL's rank where there is one, and
    on both databases extra weight for words in the title or summary."""
    text = searched_text(text)
    bonus = _title_and_summary_bonus(text)
    if text and connections[queryset.db].vendor == "postgresql":
        return queryset.alias(search_rank=SearchVectorSQL("rank", text) + bonus)
    return queryset.alias(search_rank=bonus)


# A search ranks its most recent matches, a pool of them. They are looked for in windows of time,
# the newest first, each read only while the newer ones hold fewer than a pool: a common word then
# reads about a pool of entries (through the search vector's and the publication date's indexes),
# not every entry of the district that holds it. Each window reaches about this many of the
# district's entries further back (the last holds everything older), so a word found in one entry
# of ten fills the pool in the first window, in a district of any size.
POOL_WINDOW_ENTRIES = (16_000, 64_000, 256_000)
# How fast the district publishes, which places the windows in time: kept an hour, as it changes
# slowly and a window is only where to look first, never what is found.
PUBLISHING_PACE_CACHE_KEY = "practices:publishing-pace"
PUBLISHING_PACE_SECONDS = 60 * 60


def _window_bounds(using: str) -> list[datetime]:
    """Where the windows of a pool meet, the newest first: about POOL_WINDOW_ENTRIES entries back
    at the district's pace (PostgreSQL's estimate of its number of entries since the first was
    published). No window reaches back past the first publication; a first publication dated
    ahead of now (a clock set wrong, an import) gives one window, as windows must not overlap."""
    pace: tuple[float, datetime | None] | None = cache.get(PUBLISHING_PACE_CACHE_KEY)
    if pace is None:
        table = Practice._meta.db_table
        with connections[using].cursor() as cursor:
            cursor.execute(
                f"SELECT reltuples, (SELECT min(published_at) FROM {table}) "  # noqa: S608  # nosec B608
                "FROM pg_class WHERE oid = %s::regclass",
                (table,),
            )
            entries, first = cursor.fetchone()
        pace = (max(float(entries), 1.0), first)
        cache.set(PUBLISHING_PACE_CACHE_KEY, pace, PUBLISHING_PACE_SECONDS)
    entries, first = pace
    now = timezone.now()
    bounds = []
    for back in POOL_WINDOW_ENTRIES:
        if first is None or first >= now or back >= entries:
            break
        bounds.append(now - (now - first) * (back / entries))
    return bounds


class WindowEnd(Expression):
    """Where a window of a pool begins or ends: the windows' SQL is put together once, with a
    mark in its parameters where each window's date goes (`recent_pool`)."""

    output_field = DateTimeField()

    def __init__(self, mark: str) -> None:
        super().__init__()
        self.mark = mark

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[str]]:
        return "%s", (self.mark,)


# The marks (told by identity from anything a search or a filter puts in the parameters), and the
# ends of the newest and the oldest window, which have none.
SINCE, BEFORE = "\x00window since", "\x00window before"
NEWEST, OLDEST = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)

# A search whose words match few entries fills no window: read through the publication date's
# index, each window would be read row by row to its end (the planner cannot tell how few match
# a negated word, a phrase or rare words together). So when the newest window holds fewer than a
# pool, the search vector's index is asked first for the entries matching the words alone, up to
# this many: when there are no more, those entries (by id) are all that is read of the older
# windows. Past it the words are common enough that the windows fill soon: reading the windows
# costs about a pool's share of the entries, reading the matches costs each match, and the two
# meet near the square root of a pool times the district's entries (about 22,000 at 500,000).
FEW_MATCHES = 20_000


class FoundMatch(Expression):
    """`id = ANY(ids of "found")`: the entry is among those the search vector's index found (the
    `found` query `recent_pool` puts first), which the primary key's index answers."""

    output_field = BooleanField()

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[()]]:
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{table}.id = ANY(ARRAY(SELECT found.id FROM found))", ()  # noqa: S608  # nosec B608


def _searched_words(picked: QuerySet[Any]) -> str | None:
    """The text `practice_matches` filtered `picked` by, if any."""
    match = picked.query.annotations.get("matches")
    return match.text if isinstance(match, SearchVectorSQL) and match.kind == "@@" else None


def recent_pool(picked: QuerySet[Any], size: int) -> tuple[str, tuple[Any, ...]]:
    """PostgreSQL's SQL for the `size` most recent rows of `picked` (practices as `values()`
    with at least "pk" and "published_at"), newest first, with its parameters: the newest window,
    then, if it holds fewer than a pool, the older ones from the entries matching the words when
    they are few (FEW_MATCHES), else one by one. The SQL around the ORM's own is constant but for
    the pool's size and FEW_MATCHES, integers."""
    size = int(size)
    window = picked.filter(published_at__gte=WindowEnd(SINCE), published_at__lt=WindowEnd(BEFORE))
    sql, window_params = window.order_by("-published_at", "-pk")[:size].query.sql_with_params()
    bounds = [NEWEST, *_window_bounds(picked.db), OLDEST]
    words = _searched_words(picked)
    found_sql: str = ""
    found_params: tuple[Any, ...] = ()
    if words is not None and len(bounds) > 2:
        # What the older windows hold, when the words match few entries: the same query over those
        # entries only (FEW_MATCHES).
        few = window.alias(found=FoundMatch()).filter(found=True)
        found_sql, found_params = few.order_by("-published_at", "-pk")[:size].query.sql_with_params()
    windows: list[str] = []
    params: list[Any] = []
    if found_sql:
        table = Practice._meta.db_table
        windows.append(
            f"found AS MATERIALIZED (SELECT id FROM {table} "  # noqa: S608  # nosec B608
            f"WHERE search_vector @@ {SearchVectorSQL.QUERY} LIMIT {FEW_MATCHES + 1})"
        )
        params.append(words)
    # A newest window at least a quarter full fills the pool within the next, which reaches four
    # times as far back: the matches are not looked for then (CASE keeps that order), as the windows
    # are then cheaper than reading every match.
    few_found = (
        f"CASE WHEN (SELECT count(*) FROM pool_0) < {size // 4} "  # noqa: S608  # nosec B608
        f"THEN (SELECT count(*) FROM found) <= {FEW_MATCHES} ELSE false END"
    )
    for index, (before, since) in enumerate(itertools.pairwise(bounds)):
        window_values = [since if param is SINCE else before if param is BEFORE else param for param in window_params]
        # Each window after the first is read only if the newer ones hold fewer than a pool. The
        # condition names no column of the window, so PostgreSQL checks it once, before reading it
        # (and the matches are looked for only then: CASE keeps that order).
        newer = " + ".join(f"(SELECT count(*) FROM pool_{n})" for n in range(index)) or "0"  # noqa: S608  # nosec B608
        if index == 0 or not found_sql:
            gated = f"SELECT * FROM ({sql}) AS w WHERE {newer} < {size}"  # noqa: S608  # nosec B608
            params += window_values
        elif index == 1:
            # All older windows at once from the few matches, or this window as it is.
            gated = (
                f"SELECT * FROM ({found_sql}) AS w WHERE CASE WHEN {newer} < {size} THEN {few_found} ELSE false END "  # noqa: S608  # nosec B608
                f"UNION ALL SELECT * FROM ({sql}) AS w "
                f"WHERE CASE WHEN {newer} < {size} THEN NOT {few_found} ELSE false END"
            )
            params += [OLDEST if param is SINCE else before if param is BEFORE else param for param in found_params]
            params += window_values
        else:
            gated = (
                f"SELECT * FROM ({sql}) AS w "  # noqa: S608  # nosec B608
                f"WHERE CASE WHEN {newer} < {size} THEN NOT {few_found} ELSE false END"
            )
            params += window_values
        windows.append(f"pool_{index} AS MATERIALIZED ({gated})")
    pools = len(bounds) - 1
    union = " UNION ALL ".join(f"SELECT * FROM pool_{n}" for n in range(pools))  # noqa: S608  # nosec B608
    statement = f"WITH {', '.join(windows)} SELECT * FROM ({union}) AS recent"  # noqa: S608  # nosec B608
    return f"{statement} ORDER BY recent.published_at DESC, recent.pk DESC LIMIT {size}", tuple(params)


def most_recent(matches: QuerySet[Practice], size: int) -> QuerySet[Any] | RawSQL:
    """The ids of the `size` most recent of `matches`, to filter by (`pk__in`)."""
    if connections[matches.db].vendor != "postgresql":
        return matches.order_by("-published_at", "-pk").values("pk")[:size]
    sql, params = recent_pool(matches.values("pk", "published_at"), size)
    return RawSQL(f"SELECT recent.pk FROM ({sql}) AS recent", params)  # noqa: S608, S611  # nosec B608, B611


class RowVersion(Expression):
    """Which version of its row an entry is: PostgreSQL's `xmin` (the transaction that wrote it)
    and `ctid` (where it lies), which together change with every update of the row, however it is
    made (the ORM, `update()`, raw SQL). Named through the query's own alias, as `SearchVectorSQL`."""

    output_field = TextField()

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[()]]:
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"({table}.xmin::text || '@' || {table}.ctid::text)", ()


# The scores of a search's pool (rank and bonus, as `with_search_rank` has them) are kept per
# searched text, each with the version of the entry's row it was computed from: the same search,
# by anyone under any filters, then ranks the entries that have not changed without reading their
# search vectors again (most of a pool's cost). A score is used only for the very row version it
# came from, so an edit is ranked afresh at once. At most this many are kept per text (about 45
# bytes each: only words common enough to fill a pool keep many), for an hour after the last change.
KEPT_SCORES = 2000
KEPT_SCORES_SECONDS = 60 * 60


def _kept_scores_key(text: str, using: str) -> str:
    database = str(connections[using].settings_dict["NAME"])
    digest = hashlib.sha256(repr((database, text)).encode()).hexdigest()
    return f"practices:search-scores:{digest}"


def _kept_arrays(kept: list[tuple[int, str, float]]) -> tuple[str, str, str]:
    """Kept scores as three PostgreSQL array literals, kept as they are passed: ids, row versions
    (which hold no quote or backslash) and scores (`repr` writes a float exactly)."""
    return (
        "{" + ",".join(str(pk) for pk, _version, _score in kept) + "}",
        ('{"' + '","'.join(version for _pk, version, _score in kept) + '"}') if kept else "{}",
        "{" + ",".join(repr(score) for _pk, _version, score in kept) + "}",
    )


def _kept_rows(arrays: tuple[str, str, str]) -> list[tuple[int, str, float]]:
    """The kept scores back from their array literals."""
    pks, versions, scores = (array[1:-1] for array in arrays)
    if not pks:
        return []
    return list(zip(map(int, pks.split(",")), versions[1:-1].split('","'), map(float, scores.split(",")), strict=True))


def _bonus_sql(text: str, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
    """`_title_and_summary_bonus` over a pool's "search_title" and "search_summary" columns: the
    SQL the ORM makes of it (icontains: UPPER(column::text) LIKE UPPER(pattern)), with the same
    parameters, so the sum it makes with the rank is the same number."""
    sql = "%s"
    params: list[Any] = [0.0]
    for term in search_terms(text):
        pattern = f"%{connection.ops.prep_for_like_query(term)}%"
        for column, weight in (("search_title", 1.0), ("search_summary", 0.5)):
            sql = f"({sql} + CASE WHEN UPPER(pool.{column}::text) LIKE UPPER(%s) THEN %s ELSE %s END)"
            params += [pattern, weight, 0.0]
    return sql, params


# How long a search's statement may run, in milliseconds (the SEARCH_STATEMENT_TIMEOUT_MS setting):
# past it the search is stopped and finds nothing, so a few readers cannot tie up every server
# thread with searches no index helps with. The searches a reader types take well under a second
# at 500,000 entries; the time is for a server under load.
SEARCH_STATEMENT_TIMEOUT_MS = 5000
QUERY_CANCELED = "57014"


class SearchTookTooLong(Exception):
    """A search ran past SEARCH_STATEMENT_TIMEOUT_MS and was stopped: the page says so."""


def _within_time(connection: BaseDatabaseWrapper, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
    """The rows of `sql`, or None when it ran longer than SEARCH_STATEMENT_TIMEOUT_MS and was
    stopped. It is stopped as a reader's browser stops a page, by a cancel request on the side (no
    statement is added to the page's); inside a transaction, which a stopped statement would end,
    it runs without a limit. The cancel is sent only while the statement runs: one arriving as it
    ends finds the connection waiting for the next and is ignored."""
    limit = int(getattr(settings, "SEARCH_STATEMENT_TIMEOUT_MS", SEARCH_STATEMENT_TIMEOUT_MS))
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute(sql, params)
            return cursor.fetchall()
        driver = connection.connection
        running = threading.Lock()
        stopped: list[bool] = []

        def stop() -> None:
            with running:
                if not stopped:
                    stopped.append(True)
                    driver.cancel()

        timer = threading.Timer(limit / 1000, stop)
        timer.daemon = True
        timer.start()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        except OperationalError as error:
            # query_canceled, as psycopg2 (pgcode) and psycopg (sqlstate) name it.
            cause = error.__cause__
            if (getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)) != QUERY_CANCELED:
                raise
            logger.warning("A search ran past %s ms and was stopped", limit)
            return None
        finally:
            with running:
                stopped.append(False)
            timer.cancel()


def ids_within_time(ids: QuerySet[Any]) -> list[Any]:
    """The values of a one-column query of a search (`values_list(..., flat=True)`), run under
    SEARCH_STATEMENT_TIMEOUT_MS on PostgreSQL; raises SearchTookTooLong when it was stopped."""
    connection = connections[ids.db]
    if connection.vendor != "postgresql":
        return list(ids)
    sql, params = ids.query.sql_with_params()
    rows = _within_time(connection, sql, tuple(params))
    if rows is None:
        raise SearchTookTooLong(sql)
    return [row[0] for row in rows]


def best_matches(matches: QuerySet[Practice], text: str, *, size: int, within: QuerySet[Practice]) -> list[int]:
    """The ids of the `size` most recent of `matches`, best match first (by `with_search_rank`,
    then the most recent): the pool a search ranks, so ranking costs the same in a district of
    any size. `within` is what `matches` were filtered from, to look the pool up in.

    On PostgreSQL the pool is ranked in the query that picks it (`recent_pool`): the rank (ts_rank
    over each entry's stored vector) and the bonus are computed for the pool's rows only, and only
    for those whose score is not kept (KEPT_SCORES); no entry is looked up again."""
    text = searched_text(text)
    if not text or connections[matches.db].vendor != "postgresql":
        # The rank is an alias the type checker cannot see.
        ranked: QuerySet[Any] = with_search_rank(within.filter(pk__in=most_recent(matches, size)), text)
        return list(ranked.order_by("-search_rank", "-published_at", "-pk").values_list("pk", flat=True))
    connection = connections[matches.db]
    picked = matches.annotate(
        search_title=F("title"),
        search_summary=F("summary"),
        search_column=SearchVectorSQL("column"),
        search_version=RowVersion(),
    ).values("pk", "published_at", "search_title", "search_summary", "search_column", "search_version")
    pool, params = recent_pool(picked, size)
    key = _kept_scores_key(text, matches.db)
    kept: tuple[str, str, str] = cache.get(key) or ("{}", "{}", "{}")
    bonus, bonus_params = _bonus_sql(text, connection)
    # The same order as with_search_rank's, over the picked rows: a kept score where the row is
    # the version it was computed from, else the rank and bonus (each row's score as a double, as
    # the sum is, so kept and fresh scores compare as they would have). The SQL around the ORM's
    # own is constant; the searched text, its words and the kept scores are parameters.
    in_order = (
        "SELECT pool.pk, pool.search_version, COALESCE(kept.score, "  # noqa: S608  # nosec B608
        f"(ts_rank(pool.search_column, {SearchVectorSQL.QUERY}) + {bonus})::double precision), kept.pk IS NULL "
        f"FROM ({pool}) AS pool LEFT JOIN unnest(%s::bigint[], %s::text[], %s::double precision[]) "
        "AS kept(pk, version, score) ON kept.pk = pool.pk AND kept.version = pool.search_version "
        "ORDER BY 3 DESC, pool.published_at DESC, pool.pk DESC"
    )
    rows = _within_time(connection, in_order, (text, *bonus_params, *params, *kept))
    if rows is None:
        raise SearchTookTooLong(text)
    if any(fresh for *_row, fresh in rows):
        # This pool's scores first, then those kept before, up to KEPT_SCORES.
        scores = [(pk, version, score) for pk, version, score, _fresh in rows]
        pooled = {pk for pk, _version, _score in scores}
        scores += [row for row in _kept_rows(kept) if row[0] not in pooled]
        cache.set(key, _kept_arrays(scores[:KEPT_SCORES]), KEPT_SCORES_SECONDS)
    return [row[0] for row in rows]


def most_recent_like_mine(matches: QuerySet[Practice], *, size: int, school: School, leave_out: bool) -> list[int]:
    """PostgreSQL: the ids of the `size` most recent of `matches`, ordered by how much their
    school has in common with `school` (`school_similarity`), then the most recent; without
    `school`'s own entries when `leave_out` (taken out of the pool after it is picked, as a filter
    of the list would). The pool's rows are ranked as the pool gives them: an entry of it is not
    looked up again (at 500,000 entries that was a thousand lookups by id)."""
    connection = connections[matches.db]
    pool, params = recent_pool(matches.values("pk", "published_at", "school_id"), size)
    schools = School.objects.using(matches.db).annotate(likeness=school_similarity(school, prefix=""))
    likeness, likeness_params = schools.values("pk", "likeness").query.get_compiler(matches.db).as_sql()
    left_out = "WHERE pool.school_id <> %s " if leave_out else ""
    sql = (
        "SELECT pool.pk FROM ("  # noqa: S608  # nosec B608
        f"{pool}) AS pool INNER JOIN ({likeness}) AS school ON school.pk = pool.school_id {left_out}"
        "ORDER BY school.likeness DESC, pool.published_at DESC, pool.pk DESC"
    )
    rows = _within_time(connection, sql, (*params, *likeness_params, *([school.pk] if leave_out else [])))
    if rows is None:
        raise SearchTookTooLong(sql)
    return [row[0] for row in rows]


# -- Forgiving typos: the word list and "Did you mean …?" ------------------------------------------

# The words kept for near spellings: letters only, 4 to 30 of them (shorter ones are too easily
# mistaken for one another), at most this many new ones from one entry.
WORD = re.compile(r"[^\W\d_]{4,30}")
WORDS_PER_ENTRY = 2000
# Only this many unknown words of one search are corrected (each costs a query, and one more to
# check a reader may see the near word): the cost of a search does not grow with what is typed.
CORRECTED_TERMS = 3
# How close a word must be to count as a near spelling: pg_trgm's similarity on PostgreSQL,
# difflib's ratio elsewhere (both 0 to 1).
TRIGRAM_SIMILARITY = 0.3
SEQUENCE_SIMILARITY = 0.75


def words_of(document: str) -> list[str]:
    """The distinct words of a search document worth keeping for near spellings, in order."""
    seen: dict[str, None] = {}
    for match in WORD.finditer(document):
        seen.setdefault(match.group().lower(), None)
        if len(seen) >= WORDS_PER_ENTRY:
            break
    return list(seen)


def remember_words(document: str) -> None:
    """Add an entry's words to the word list (words are never taken out: a word no entry uses
    any more is simply never suggested, as a suggestion must find something)."""
    SearchWord.objects.bulk_create(
        [SearchWord(word=word) for word in words_of(document)], batch_size=1000, ignore_conflicts=True
    )


class TrigramMatch(Expression):
    """`word % text`: pg_trgm's similarity above its threshold, which the trigram index answers."""

    output_field = BooleanField()

    def __init__(self, column: str, text: str) -> None:
        super().__init__()
        self.column, self.text = column, text

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[str]]:
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{table}.{connection.ops.quote_name(self.column)} %% %s", (self.text,)


def closest_word(term: str, using: str = "default") -> str | None:
    """The known word nearest to `term`, if one is near enough."""
    words = SearchWord.objects.using(using)
    if connections[using].vendor == "postgresql":
        nearest = (
            words.alias(near=TrigramMatch("word", term))
            .filter(near=True)
            .annotate(similarity=TrigramSimilarity("word", term))
            .filter(similarity__gte=TRIGRAM_SIMILARITY)
            .order_by("-similarity", "word")
            .values_list("word", flat=True)
            .first()
        )
        return nearest
    # SQLite: compare in Python with the words of about the same length and first letter.
    candidates = list(
        words.annotate(size=Length("word"))
        .filter(word__startswith=term[0], size__gte=len(term) - 2, size__lte=len(term) + 2)
        .values_list("word", flat=True)[:5000]
    )
    found = difflib.get_close_matches(term, candidates, n=1, cutoff=SEQUENCE_SIMILARITY)
    return found[0] if found else None


def corrected_query(text: str, *, seen: QuerySet[Practice]) -> str | None:
    """The search with its unknown words replaced by the nearest known ones ("exit tikets" ->
    "exit tickets"), or None when every word is known or nothing near is found.

    The word list holds words from every entry, drafts and entries kept inside a school too, so a
    near word is used only when an entry in `seen` (what the reader may open) holds it: checking
    the corrected search as a whole is not enough, as "tickets or secrt" finds "tickets" alone."""
    using = seen.db
    terms = search_terms(searched_text(text))
    candidates = [term for term in terms if WORD.fullmatch(term)]
    if not candidates:
        return None
    known = set(SearchWord.objects.using(using).filter(word__in=candidates).values_list("word", flat=True))
    corrected, changed = [], False
    unknown_seen = 0
    for term in terms:
        replacement = None
        if term in candidates and term not in known and unknown_seen < CORRECTED_TERMS:
            unknown_seen += 1
            replacement = closest_word(term, using)
            if replacement is not None and not practice_matches(seen, replacement).exists():
                replacement = None
        corrected.append(replacement or term)
        changed = changed or (replacement is not None and replacement != term)
    return " ".join(corrected) if changed else None


# -- Explaining a match: the passage that matched, with the words marked ---------------------------

MARK_OPEN, MARK_CLOSE = "\u27e6", "\u27e7"
# The parts of an entry a passage is taken from, in reading order (the title is shown anyway).
PASSAGE_PARTS: list[tuple[str, str]] = [
    ("summary", "Summary"),
    ("description", "The practice"),
    ("intent", "Intent"),
    ("context", "Setting"),
    ("depends_on", "What it depends on"),
    ("core_elements", "What must stay"),
    ("adaptable_elements", "What others may change"),
    ("impact", "Impact on student learning"),
    ("adaptation_changes", "What changed from the original"),
    ("iterations", "How it evolved"),
    ("failures", "What did not work"),
]
PASSAGE_WORDS = 24


@dataclass(frozen=True)
class Passage:
    part: str
    html: SafeString


def _marked(text: str) -> SafeString:
    """`text` escaped, with the sentinels around matched words turned into <mark>."""
    # Escaped first; only the sentinels the search put in become tags.
    return SafeString(escape(text).replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>"))  # nosec B703


def _rows_text(model: type[Iteration | Failure], fields: list[str]) -> Subquery:
    """All of an entry's iterations (or failures) as one text, for a headline."""
    parts: list[Combinable] = []
    for name in fields:
        parts += [Coalesce(F(name), Value(""), output_field=TextField()), Value(" ", output_field=TextField())]
    rows = (
        model._default_manager.filter(practice=OuterRef("pk"))
        .order_by()
        .values("practice")
        .annotate(text=StringAgg(Concat(*parts, output_field=TextField()), delimiter="\n"))
        .values("text")
    )
    return Subquery(rows, output_field=TextField())


class PartText(Expression):
    """The text of the part `FirstPassage` is headlining."""

    output_field = TextField()

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[()]]:
        return "part.text", ()


class FirstPassage(Expression):
    """The headline of the first of `sources` in which `headline` (over `PartText`) marks a
    searched word, as "n:headline" (n: the part's place in `sources`), or NULL. The parts are
    headlined in order and the first marked one ends it: later parts, and the iterations and
    failures they are gathered from, are not read (a headline costs as much as reading its part)."""

    output_field = TextField()

    def __init__(self, sources: list[Any], headline: SearchHeadline) -> None:
        super().__init__()
        self.parts: list[Any] = [*sources, headline]

    def get_source_expressions(self) -> list[Any]:
        return self.parts

    def set_source_expressions(self, exprs: Sequence[Combinable | Expression]) -> None:
        self.parts = list(exprs)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        *sources, headline = self.parts
        headline_sql, params = compiler.compile(headline)
        parts = []
        for number, source in enumerate(sources):
            source_sql, source_params = compiler.compile(source)
            parts.append(f"({number}, ({source_sql})::text)")
            params = (*params, *source_params)
        # OFFSET 0 keeps the parts' query apart, so each headline is drawn once, as it is asked for.
        # The SQL around the ORM's own is constant; the searched text and the parts are parameters.
        sql = (
            f"(SELECT found.number || ':' || found.passage FROM (SELECT part.number, {headline_sql} AS passage "  # noqa: S608  # nosec B608
            f"FROM (VALUES {', '.join(parts)}) AS part(number, text) OFFSET 0) AS found "
            "WHERE strpos(found.passage, %s) > 0 LIMIT 1)"
        )
        return sql, (*params, MARK_OPEN)


def _passages_queryset(ids: list[int], text: str, using: str) -> QuerySet[Any]:
    """(pk, "n:headline") of each of `ids`: `FirstPassage` over the parts in reading order."""
    query = SearchQuery(text, search_type="websearch", config="english")
    headline = SearchHeadline(
        PartText(),
        query,
        config="english",
        start_sel=MARK_OPEN,
        stop_sel=MARK_CLOSE,
        max_fragments=2,
        max_words=PASSAGE_WORDS,
        min_words=8,
        fragment_delimiter=" … ",
    )
    sources: dict[str, Any] = {name: F(name) for name, _label in PASSAGE_PARTS}
    sources["iterations"] = _rows_text(Iteration, ["when", "tried", "observed", "changed"])
    sources["failures"] = _rows_text(Failure, ["tried", "what_happened", "why", "lesson"])
    return (
        Practice.objects.using(using)
        .filter(pk__in=ids)
        .annotate(passage=FirstPassage([sources[name] for name, _label in PASSAGE_PARTS], headline))
        .values_list("pk", "passage")
    )


# The passages' SQL is the same for every search but for the searched text and the page's ids,
# which are parameters: the ORM puts it together once per database and number of entries on a
# page (that cost about as much as running it), with marks in its parameters where the text and
# each id go. The marks are told from anything else in the parameters: a text with a NUL
# character (never searched: such an address is refused) and ids no entry has.
PASSAGES_TEXT = "\x00passages text"
PASSAGES_FIRST_ID = -(2**62)
_passages_sql: dict[tuple[str, int], tuple[str, tuple[Any, ...]]] = {}


def _passages_statement(ids: list[int], text: str, using: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL of `_passages_queryset` for `ids` and `text`, with its parameters."""
    shape = (using, len(ids))
    statement = _passages_sql.get(shape)
    if statement is None:
        marks = [PASSAGES_FIRST_ID - n for n in range(len(ids))]
        sql, params = _passages_queryset(marks, PASSAGES_TEXT, using).query.get_compiler(using).as_sql()
        statement = _passages_sql[shape] = (sql, tuple(params))
    sql, params = statement
    return sql, tuple(
        text
        if param == PASSAGES_TEXT and isinstance(param, str)
        else ids[PASSAGES_FIRST_ID - param]
        if type(param) is int and PASSAGES_FIRST_ID - len(ids) < param <= PASSAGES_FIRST_ID
        else param
        for param in params
    )


def _postgresql_passages(ids: list[int], text: str, using: str) -> dict[int, Passage]:
    """ts_headline for the page's entries only (at most a page of rows, a few fragments each), in
    one query: each entry's parts in order, up to the first with a marked word, the passage."""
    sql, params = _passages_statement(ids, text, using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        passages = cursor.fetchall()
    found: dict[int, Passage] = {}
    for pk, passage in passages:
        if passage is not None:
            number, html = passage.split(":", 1)
            found[pk] = Passage(PASSAGE_PARTS[int(number)][1], _marked(html))
    return found


def _window(text: str, terms: list[str]) -> str | None:
    """About PASSAGE_WORDS words of `text` around the first of `terms`, the terms between the
    sentinels; None when no term is in it."""
    pattern = re.compile("|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    first = pattern.search(text)
    if first is None:
        return None
    words = text.split()
    position = len(text[: first.start()].split())
    start = max(position - PASSAGE_WORDS // 3, 0)
    piece = " ".join(words[start : start + PASSAGE_WORDS])
    marked = pattern.sub(lambda match: f"{MARK_OPEN}{match.group()}{MARK_CLOSE}", piece)
    return ("… " if start else "") + marked + (" …" if start + PASSAGE_WORDS < len(words) else "")


def _python_passages(practices: list[Practice], text: str, using: str) -> dict[int, Passage]:
    """The same on SQLite: the first part holding a searched word, cut around it, in Python
    (the entries are those the page shows; their iterations and failures come in one query)."""
    terms = search_terms(searched_text(text))
    if not terms:
        return {}
    ids = [practice.pk for practice in practices]
    iterations = (
        Iteration.objects.using(using)
        .filter(practice_id__in=ids)
        .order_by()
        .annotate(part=Value("iterations"), a=F("when"), b=F("tried"), c=F("observed"), d=F("changed"))
        .values_list("practice_id", "part", "position", "pk", "a", "b", "c", "d")
    )
    failures = (
        Failure.objects.using(using)
        .filter(practice_id__in=ids)
        .order_by()
        .annotate(part=Value("failures"), a=F("tried"), b=F("what_happened"), c=F("why"), d=F("lesson"))
        .values_list("practice_id", "part", "position", "pk", "a", "b", "c", "d")
    )
    rows: dict[tuple[str, int], list[str]] = {}
    for practice_id, part, _position, _pk, *texts in sorted(iterations.union(failures, all=True)):
        rows.setdefault((part, practice_id), []).extend(texts)
    found: dict[int, Passage] = {}
    for practice in practices:
        for name, label in PASSAGE_PARTS:
            if name in ("iterations", "failures"):
                part_text = " ".join(value for value in rows.get((name, practice.pk), []) if value)
            else:
                part_text = getattr(practice, name)
            window = _window(part_text, terms) if part_text else None
            if window is not None:
                found[practice.pk] = Passage(label, _marked(window))
                break
    return found


def matched_passages(practices: list[Practice], text: str, using: str = "default") -> dict[int, Passage]:
    """For each of a page's entries, the passage the search matched in and the part it is from."""
    text = searched_text(text)
    if not practices or not text:
        return {}
    if connections[using].vendor == "postgresql":
        return _postgresql_passages([practice.pk for practice in practices], text, using)
    return _python_passages(practices, text, using)
