"""Throughput of the portal as production serves it: run by bench/throughput.sh once gunicorn
answers on --url, with the same settings (environment) as that server.

1. Signs in demo people of each role (teachers, principals, district leaders) through Django's
   test client, which stores their sessions where the server reads them, and writes the mix of
   signed-in pages, each with its reader's cookies, to a file for bench/mix.lua.
2. Asks for each page of the mix once over HTTP: every one must answer 200 (not a redirect to
   sign in), and its time and size are shown.
3. wrk drives the mix in a closed loop (each connection sends its next request as soon as the
   last is answered) for a few seconds to warm up, then for --seconds; then /healthz alone on the
   same server. Prints requests/s, p50/p95/p99, errors and the ratio mix / healthz, and writes
   them to <out>/throughput-<scale>-<time>.json.
4. With --writes-per-second above 0, last, the mix again while a practice elsewhere in the district is
   edited that often: every write retires the pages kept for their readers (portal/lib/kept_pages.py),
   so this load shows what keeping pages is worth when the district is not only reading.
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.conf import settings
from django.test import Client
from django.utils import timezone

from portal.models import Role, User
from practices.models import Practice, Status, Visibility
from surveys.models import Cycle

# The goal for the mix on the large district (the design's budgets).
GOAL_RATIO = 0.15
GOAL_P95_MS = 250
# Pages of the mix: (name, role of the reader, path); {practice} and {cycle} are filled in.
MIX = [
    ("home (teacher)", Role.TEACHER, "/"),
    ("home (principal)", Role.PRINCIPAL, "/"),
    ("home (leader)", Role.DISTRICT_LEADER, "/"),
    ("practice list", Role.TEACHER, "/practices/"),
    ("practice search", Role.TEACHER, "/practices/?q=exit+tickets"),
    ("practice search, filtered", Role.TEACHER, "/practices/?q=attendance&has_failures=on&sort=like_mine"),
    ("practice detail", Role.TEACHER, "/practices/{practice}/"),
    ("showcase list", Role.TEACHER, "/showcases/"),
    ("survey dashboard", Role.DISTRICT_LEADER, "/surveys/{cycle}/dashboard/"),
    ("district dashboard", Role.DISTRICT_LEADER, "/dashboard/"),
]
# The demo's named person of each role comes first.
NAMED = {Role.TEACHER: "teacher", Role.PRINCIPAL: "principal", Role.DISTRICT_LEADER: "leader"}


def readers(role: Role, count: int) -> list[User]:
    """The demo's named person of the role, then others of that role, active, by id."""
    people = list(User.objects.filter(username=NAMED[role], is_active=True))
    others = User.objects.filter(role=role, is_active=True).exclude(username=NAMED[role]).order_by("pk")
    people.extend(others[: max(0, count - len(people))])
    if not people:
        raise SystemExit(f"no active {role.label} in this district: load it with seed_demo first")
    return people


def cookies_of(user: User) -> str:
    """A fresh session for the person, as the Cookie header a browser would send with it."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    # One signed-in page, so the browser also holds the cookies the portal sets on the first page
    # (the CSRF cookie of its forms, as a browser keeps it).
    client.get("/")
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def build_mix(people_per_role: int) -> list[dict[str, str]]:
    """The requests of the mix: each page once per round, each round read by other people."""
    practices = list(
        Practice.objects.filter(status=Status.PUBLISHED, visibility=Visibility.DISTRICT)
        .order_by("-published_at")
        .values_list("pk", flat=True)[:people_per_role]
    )
    cycle = Cycle.objects.order_by("-opens_on").first()
    if not practices or cycle is None:
        raise SystemExit("Load a demo district first: python manage.py seed_demo --scale large")
    cookies = {role: [cookies_of(user) for user in readers(role, people_per_role)] for role in NAMED}
    mix = []
    for n in range(people_per_role):
        for name, role, path in MIX:
            mix.append(
                {
                    "page": name,
                    "role": role.value,
                    "path": path.format(practice=practices[n % len(practices)], cycle=cycle.slug),
                    "practice": str(practices[-1]),
                    "cookie": cookies[role][n % len(cookies[role])],
                }
            )
    return mix


def fetch_once(url: str, path: str, cookie: str) -> tuple[int, float, int]:
    """Status, milliseconds and bytes of one GET, redirects not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    return response.status, elapsed, len(body)


def check_pages(url: str, mix: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each page of the first round asked for once, one after the other."""
    rows = []
    for entry in mix[: len(MIX)]:
        status, ms, size = fetch_once(url, entry["path"], entry["cookie"])
        rows.append({"page": entry["page"], "path": entry["path"], "status": status, "ms": round(ms, 1), "kb": round(size / 1024, 1)})  # fmt: skip
    return rows


def run_wrk(
    url: str, requests_file: Path, seconds: int, connections: int, threads: int, timeout: int
) -> dict[str, Any]:
    command = [
        "wrk", "--threads", str(threads), "--connections", str(connections), "--duration", f"{seconds}s",
        "--timeout", f"{timeout}s", "--script", str(ROOT / "bench" / "mix.lua"), url, "--", str(requests_file),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    match = re.search(r"^BENCH_JSON (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or match is None:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    raw = json.loads(match.group(1))
    statuses: dict[str, int] = {}
    for part in filter(None, raw["statuses"].split(",")):
        code, count = part.split(":")
        statuses[code] = statuses.get(code, 0) + int(count)
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "seconds": round(raw["duration_us"] / 1e6, 2),
        "requests_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "mean_ms": round(raw["mean_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "non_2xx": raw["not_2xx"],
        "non_2xx_by_status": statuses,
        "socket_errors": socket_errors,
        "socket_errors_by_kind": {kind: raw[kind] for kind in ("connect", "read", "write", "timeout")},
        "errors": raw["not_2xx"] + socket_errors,
        "kb_per_request": round(raw["bytes"] / 1024 / raw["requests"], 1) if raw["requests"] else 0,
    }


def run_wrk_while_writing(args: argparse.Namespace, mix_file: Path, threads: int, practice_pk: int) -> dict[str, Any]:
    """The mix under load while one practice is edited `args.writes_per_second` times a second."""
    stop = threading.Event()
    writes = 0

    def write() -> None:
        nonlocal writes
        while not stop.wait(1 / args.writes_per_second):
            Practice.objects.filter(pk=practice_pk).update(updated_at=timezone.now())
            writes += 1

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        load = run_wrk(args.url, mix_file, args.seconds, args.connections, threads, args.timeout)
    finally:
        stop.set()
        writer.join()
    load["writes"] = writes
    return load


def measure(
    args: argparse.Namespace, mix: list[dict[str, str]], mix_file: Path, health_file: Path, threads: int
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """A warm-up (every worker loads its templates and fills its caches), the pages of the mix
    once each, then the mix under load, then /healthz alone."""
    if args.warmup:
        run_wrk(args.url, mix_file, args.warmup, args.connections, threads, args.timeout)
    pages = check_pages(args.url, mix)
    print(f"\n{'page of the mix (one request each)':36} {'status':>6} {'ms':>8} {'kB':>7}")
    for row in pages:
        print(f"{row['page']:36} {row['status']:>6} {row['ms']:>8.1f} {row['kb']:>7.1f}")
    loads = {
        "mix": run_wrk(args.url, mix_file, args.seconds, args.connections, threads, args.timeout),
        "healthz": run_wrk(args.url, health_file, args.seconds, args.connections, threads, args.timeout),
    }
    # Last: the edits leave the database busy for a while (vacuum), which would slow /healthz.
    if args.writes_per_second > 0:
        practice_pk = int(mix[0]["practice"])
        loads["mix_writing"] = run_wrk_while_writing(args, mix_file, threads, practice_pk)
    return pages, loads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--scale", required=True)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--timeout", type=int, default=10, help="seconds before wrk counts a request as timed out")
    parser.add_argument("--people", type=int, default=4, help="readers of each role")
    parser.add_argument("--server", default="", help="how the server was started, for the record")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument(
        "--writes-per-second", type=float, default=1.0, help="edits during the second run of the mix (0: no second run)"
    )
    args = parser.parse_args()
    threads = min(args.threads, args.connections)
    # The machine's load when the run starts: the ratio to /healthz evens out a busy machine only in part.
    load_before = os.getloadavg()

    args.out.mkdir(parents=True, exist_ok=True)
    mix = build_mix(args.people)
    # The request lists hold live session cookies: kept only while wrk runs.
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as folder:
        mix_file = Path(folder) / "mix.txt"
        mix_file.write_text("".join(f"{entry['path']}\t{entry['cookie']}\n" for entry in mix))
        health_file = Path(folder) / "healthz.txt"
        health_file.write_text("/healthz\t\n")
        pages, loads = measure(args, mix, mix_file, health_file, threads)

    ratio = (
        loads["mix"]["requests_per_s"] / loads["healthz"]["requests_per_s"]
        if loads["healthz"]["requests_per_s"]
        else 0.0
    )

    print(
        f"\nthroughput, {args.scale} district: {args.server or 'gunicorn'}; wrk closed loop, "
        f"{args.connections} connections, {args.seconds} s each (after {args.warmup} s of warm-up)"
    )
    header = f"{'load':24} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'socket err':>10}"
    print(header)
    print("-" * len(header))
    labels = {
        "mix": f"mix ({len(MIX)} pages)",
        "healthz": "/healthz alone",
        "mix_writing": f"mix, {args.writes_per_second:g} edit/s",
    }
    for name, label in labels.items():
        if name not in loads:
            continue
        load = loads[name]
        print(
            f"{label:24} {load['requests_per_s']:>8.1f} {load['p50_ms']:>8.1f} {load['p95_ms']:>8.1f} "
            f"{load['p99_ms']:>8.1f} {load['non_2xx']:>8} {load['socket_errors']:>10}"
        )
    errors = sum(load["errors"] for load in loads.values())
    load_after = os.getloadavg()
    print(
        f"\nmachine: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end"
    )
    print(
        f"mix / healthz: {ratio:.3f} (goal >= {GOAL_RATIO}); mix p95 {loads['mix']['p95_ms']:.0f} ms "
        f"(goal < {GOAL_P95_MS}); errors {errors} (goal 0)"
    )
    if loads["mix"]["non_2xx_by_status"]:
        print(f"non-2xx answers of the mix by status: {loads['mix']['non_2xx_by_status']}")

    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"throughput-{args.scale}-{stamp}.json"
    result = {
        "at": stamp,
        "scale": args.scale,
        "server": args.server,
        "debug": settings.DEBUG,
        "session_engine": settings.SESSION_ENGINE,
        "cache": settings.CACHES["default"]["BACKEND"],
        "wrk": {
            "connections": args.connections,
            "threads": threads,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "timeout_seconds": args.timeout,
        },
        "people_per_role": args.people,
        "cpus": os.cpu_count(),
        "load_average": {"start": round(load_before[0], 2), "end": round(load_after[0], 2)},
        "pages": pages,
        "mix": loads["mix"],
        "mix_writing": loads.get("mix_writing"),
        "writes_per_second": args.writes_per_second,
        "healthz": loads["healthz"],
        "mix_over_healthz": round(ratio, 3),
        "goal": {"mix_over_healthz": GOAL_RATIO, "p95_ms": GOAL_P95_MS, "errors": 0},
        "goal_met": ratio >= GOAL_RATIO and loads["mix"]["p95_ms"] < GOAL_P95_MS and errors == 0,
    }
    out.write_text(json.dumps(result, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
