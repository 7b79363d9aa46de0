import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from insights import demo as insights_demo
from portal import demo
from practices import demo as practices_demo
from showcases import demo as showcases_demo
from surveys import demo as surveys_demo


class Command(BaseCommand):
    help = "Load a believable demo district (idempotent). --scale large builds district scale for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=["small", "large"], default="small")
        parser.add_argument("--password", default=demo.DEFAULT_PASSWORD, help="Password for every demo account.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data.")

    def handle(self, *args: Any, scale: str, password: str, seed: int, **options: Any) -> None:
        started = time.monotonic()
        # Repeatable demo data; nothing secret is drawn from it.
        rng = random.Random(seed)  # nosec B311
        logins = demo.seed_people(scale=scale, password=password, rng=rng)
        practices_demo.seed_practices(rng=rng)
        showcases_demo.seed_showcases(rng=rng)
        surveys_demo.seed_surveys(
            rng=rng, per_cycle=surveys_demo.LARGE_RESPONSES_PER_CYCLE if scale == "large" else None
        )
        if scale == "small":
            # Months of sharing that vary by school, for the dashboards; the large scale has its own.
            insights_demo.seed_district_story(rng=rng)
        if scale == "large":
            practices_demo.seed_practices_large(rng=rng)
            showcases_demo.seed_showcases_large(rng=rng)
        if connection.vendor == "postgresql":
            # Fresh statistics after a bulk load, so the planner does not guess from empty tables.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(f"Demo district ready ({scale} scale, {time.monotonic() - started:.1f}s).")
        )
        self.stdout.write(f"Sign in at /accounts/login/ with any of these (password: {password}):")
        for login in logins:
            self.stdout.write(f"  {login.username:<12} {login.role:<16} {login.school}")
