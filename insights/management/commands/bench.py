"""Measure the main pages in process: query count, median and p95 time.

Run by `make bench` against the small and the large demo district on PostgreSQL; the
results of one run go to a JSON file so runs can be compared. Every page is timed as drawn
(a page kept for its reader, portal/lib/kept_pages.py, is retired before each request), but
the ", kept" row: the same page asked for again by the same reader, served as kept.
"""

import json
import statistics
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.lib.figures import figures_changed
from portal.lib.kept_pages import KeptPage, pages_changed
from portal.models import User
from practices.models import Practice, Status, Visibility
from showcases.models import Showcase
from surveys.models import Cycle


class Command(BaseCommand):
    help = "Time the main pages of the portal in process and write the figures as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--label", required=True)
        parser.add_argument("--output", type=Path, required=True)
        parser.add_argument("--runs", type=int, default=15)

    def handle(self, *args: Any, label: str, output: Path, runs: int, **options: Any) -> None:
        people = {
            user.username: user
            for user in User.objects.filter(username__in=["teacher", "principal", "leader", "staff"])
        }
        practice = (
            Practice.objects.filter(status=Status.PUBLISHED, visibility=Visibility.DISTRICT)
            .order_by("-published_at")
            .first()
        )
        showcase = Showcase.objects.published().order_by("-pk").first()
        cycle = Cycle.objects.order_by("-opens_on").first()
        if practice is None or showcase is None or cycle is None:
            raise CommandError("Load a demo district first: python manage.py seed_demo --scale small (or large).")
        pages = [
            ("healthz", None, "/healthz"),
            ("home (teacher)", "teacher", "/"),
            ("home (principal)", "principal", "/"),
            ("home (leader)", "leader", "/"),
            ("home (staff)", "staff", "/"),
            ("practice list", "teacher", "/practices/"),
            ("practice list, kept", "teacher", "/practices/"),
            ("practice search", "teacher", "/practices/?q=exit+tickets"),
            ("practice search, filtered", "teacher", "/practices/?q=attendance&has_failures=on&sort=like_mine"),
            ("practice detail", "teacher", f"/practices/{practice.pk}/"),
            ("showcase list", "teacher", "/showcases/"),
            ("showcase detail", "principal", f"/showcases/{showcase.pk}/"),
            ("survey dashboard", "leader", f"/surveys/{cycle.slug}/dashboard/"),
            ("district dashboard", "leader", "/dashboard/"),
            ("district dashboard, recount", "leader", "/dashboard/"),
        ]
        # The district dashboard keeps its figures for a few minutes; the ", recount" row times
        # the request that counts them afresh. (Survey figures are released, never recounted.)
        recount = {"district dashboard, recount": "district"}
        kept = {"practice list, kept"}
        results = []
        clients: dict[str | None, Client] = {}
        for name, username, path in pages:
            client = clients.get(username)
            if client is None:
                client = Client(HTTP_HOST="127.0.0.1")
                if username:
                    client.force_login(people[username])
                clients[username] = client
            for _ in range(2):
                client.get(path)
            timings = []
            queries = 0
            for _ in range(runs):
                if name in recount:
                    figures_changed(recount[name])
                elif name not in kept:
                    pages_changed()
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{name} {path} answered {response.status_code}")
                if isinstance(response, KeptPage) and name not in kept:
                    raise SystemExit(f"{name} {path} was served as kept; it should have been drawn")
                queries = max(queries, len(captured))
            timings.sort()
            results.append(
                {
                    "page": name,
                    "path": path,
                    "queries": queries,
                    "median_ms": round(statistics.median(timings), 2),
                    "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2),
                    # How much page was drawn: a small district's lists hold fewer entries.
                    "html_kb": round(len(response.content) / 1024, 1),
                }
            )
            self.stdout.write(f"{label:6} {name:28} {queries:3} queries  median {results[-1]['median_ms']:8.2f} ms")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"label": label, "pages": results}, indent=2))
