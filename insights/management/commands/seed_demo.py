import random
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from insights import demo as insights_demo
from insights.summaries import summaries_rebuild
from portal import demo
from practices import demo as practices_demo
from showcases import demo as showcases_demo
from surveys import demo as surveys_demo


class Command(BaseCommand):
    help = (
        "Load a believable demo district (idempotent). --scale large builds district scale for benchmarks; "
        "--scale xl the largest US district (1,600 schools, 75,000 staff, 500,000 practices)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=["small", "large", "xl"], default="small")
        parser.add_argument("--password", default=demo.DEFAULT_PASSWORD, help="Password for every demo account.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data.")

    def handle(self, *args: Any, scale: str, password: str, seed: int, **options: Any) -> None:
        started = time.monotonic()
        # Repeatable demo data; nothing secret is drawn from it.
        rng = random.Random(seed)  # nosec B311

        timings: list[tuple[str, float]] = []

        def phase(name: str, build: Callable[[], Any]) -> Any:
            began = time.monotonic()
            result = build()
            timings.append((name, time.monotonic() - began))
            return result

        per_cycle = {
            "large": surveys_demo.LARGE_RESPONSES_PER_CYCLE,
            "xl": surveys_demo.XL_RESPONSES_PER_CYCLE,
        }.get(scale)
        logins = phase("people", lambda: demo.seed_people(scale=scale, password=password, rng=rng))
        phase("practices", lambda: practices_demo.seed_practices(rng=rng))
        phase("showcases", lambda: showcases_demo.seed_showcases(rng=rng))
        phase("surveys", lambda: surveys_demo.seed_surveys(rng=rng, per_cycle=per_cycle))
        if scale == "small":
            # Months of sharing that vary by school, for the dashboards; the larger scales have their own.
            insights_demo.seed_district_story(rng=rng)
        if scale == "large":
            phase("practices at scale", lambda: practices_demo.seed_practices_large(rng=rng))
            phase("showcases at scale", lambda: showcases_demo.seed_showcases_large(rng=rng))
        if scale == "xl":
            phase("practices at scale", lambda: practices_demo.seed_practices_xl(rng=rng))
            phase("showcases at scale", lambda: showcases_demo.seed_showcases_xl(rng=rng))
        # The bulk loads, and the story's back-dated adoptions, write around the dashboard's
        # summaries: count them all again.
        phase("dashboard summaries", summaries_rebuild)
        if connection.vendor == "postgresql":
            # Fresh statistics after a bulk load, so the planner does not guess from empty tables,
            # and every table vacuumed, as a running district's are (autovacuum): an index that
            # holds what a query reads answers it alone only for the pages vacuumed since written.
            # (VACUUM runs outside a transaction only: within one, as in tests, statistics alone.)
            statement = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            with connection.cursor() as cursor:
                phase("statistics", lambda: cursor.execute(statement))
        self.stdout.write(
            self.style.SUCCESS(f"Demo district ready ({scale} scale, {time.monotonic() - started:.1f}s).")
        )
        if scale != "small":
            # Each phase's time (after the first line, which scripts read), so a slow one shows.
            for name, seconds in timings:
                self.stdout.write(f"  {name}: {seconds:.1f}s")
        self.stdout.write(f"Sign in at /accounts/login/ with any of these (password: {password}):")
        for login in logins:
            self.stdout.write(f"  {login.username:<12} {login.role:<16} {login.school}")
