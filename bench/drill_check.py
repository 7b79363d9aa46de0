"""After the load (bench/drill.sh): no session overbooked, every acknowledged write in the
database (and its photo in storage), what visitors saw while the database or an app server was
away, whether sessions outlived a killed app server, and whether every job ran exactly once.

Prints the figures and keeps them in load-results/figures.json (and a copy named after the
time of the run); exits 1 when something was lost, doubled or refused that must not be.
"""

import argparse
import email
import email.policy
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.core.files.storage import default_storage
from django.db.models import Count, F, Sum
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from portal.lib.mail import mail_send
from portal.models import DeliveryStatus, MailDelivery
from practices.models import Attachment, Practice
from showcases.models import RequestStatus, VisitSlot

RESULTS = Path("load-results")
# The line the console mail backend writes after each message.
MESSAGE_END = "\n" + "-" * 79 + "\n"
FAULT_LINE = re.compile(r"(killed|restarted|answering again)\b.*? at ([0-9.]+)")
KILLED_SERVER = re.compile(r"\(([0-9.]+:[0-9]+)\) killed")


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line] if path.exists() else []


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def seats(slot_id: str, problems: list[str]) -> dict[str, Any]:
    overbooked = VisitSlot.objects.filter(seats_taken__gt=F("capacity")).count()
    slot = VisitSlot.objects.get(pk=slot_id)
    approved = slot.requests.filter(status=RequestStatus.APPROVED).aggregate(n=Sum("seats"))["n"] or 0
    figures = {
        "capacity": slot.capacity,
        "approved_seats": approved,
        "seats_taken": slot.seats_taken,
        "requests": slot.requests.count(),
        "cancelled": slot.requests.filter(status=RequestStatus.CANCELLED).count(),
        "overbooked_anywhere": overbooked,
    }
    print(
        f"popular session: {approved} approved seats of {slot.capacity}; {figures['requests']} requests "
        f"({figures['cancelled']} cancelled); sessions overbooked anywhere: {overbooked}"
    )
    if overbooked or approved > slot.capacity or approved != slot.seats_taken:
        problems.append("overbooking")
    return figures


def writes(uploads: bool, problems: list[str]) -> dict[str, Any]:
    acked = _lines(RESULTS / "acked.txt")
    posts = Practice.objects.filter(title__in=acked)
    found = set(posts.values_list("title", flat=True))
    twice = posts.values("title").annotate(n=Count("pk")).filter(n__gt=1).count()
    figures: dict[str, Any] = {"acknowledged": len(set(acked)), "kept": len(found), "applied_twice": twice}
    print(f"acknowledged practice posts: {len(acked)}; found in the database: {len(found)}; saved twice: {twice}")
    if len(found) != len(set(acked)):
        problems.append("lost writes")
    if twice:
        problems.append("writes applied twice")
    if uploads:
        photos = Attachment.objects.filter(practice__title__in=acked, removed_at__isnull=True)
        stored = sum(1 for name in photos.values_list("file", flat=True) if default_storage.exists(name))
        figures["photos_acknowledged"] = len(set(acked))
        figures["photos_in_storage"] = stored
        print(
            f"photos of acknowledged posts in storage ({type(default_storage).__name__}): {stored} of {len(set(acked))}"
        )
        if stored != len(set(acked)):
            problems.append("lost uploads")
    return figures


def load() -> dict[str, Any]:
    """Locust's final figures (bench/locustfile.py writes them once the load has stopped)."""
    final = RESULTS / "locust_final.json"
    if not final.exists():
        return {}
    figures: dict[str, Any] = json.loads(final.read_text())
    print(
        f"requests: {figures['requests']}, failures: {figures['errors']}, req/s: {figures['requests_per_s']:.1f}, "
        f"p50: {figures['p50_ms']} ms, p95: {figures['p95_ms']} ms, p99: {figures['p99_ms']} ms"
    )
    for kind in figures["errors_by_kind"]:
        print(f"  {kind['count']} × {kind['request']}: {kind['error']}")
    return figures


def probe(problems: list[str]) -> dict[str, Any]:
    lines = [line.split() for line in _lines(RESULTS / "probe.txt") if len(line.split()) == 3]
    if not lines:
        return {}
    codes = [(float(t), h, p) for t, h, p in lines]
    bad = [c for c in codes if c[1] not in ("200", "503") or c[2] not in ("200", "503")]
    down = [c for c in codes if c[1] == "503" or c[2] == "503"]
    figures: dict[str, Any] = {"checks": len(codes), "answered_503": len(down), "answered_otherwise": len(bad)}
    print(f"probe: {len(codes)} checks, {len(down)} answered 503 (database away), {len(bad)} answered anything else")
    if down:
        recovered = [c for c in codes if c[0] > down[-1][0] and c[1] == "200"]
        if recovered:
            figures["recovered_after_s"] = round(recovered[0][0] - down[0][0], 1)
            print(f"recovered {recovered[0][0] - down[0][0]:.1f} s after the first 503")
    if bad:
        problems.append(f"probe saw {sorted({c[1] + '/' + c[2] for c in bad})}")
    return figures


def fault_times() -> tuple[dict[str, float], str]:
    """When the app server was killed, restarted and answering again (seconds since the epoch),
    and its address."""
    times: dict[str, float] = {}
    server = ""
    for line in _lines(RESULTS / "fault.txt"):
        match = FAULT_LINE.search(line)
        if match:
            times[match.group(1).replace(" ", "_")] = float(match.group(2))
        address = KILLED_SERVER.search(line)
        if address:
            server = address.group(1)
    return times, server


def sessions(fault: dict[str, float], problems: list[str]) -> dict[str, Any]:
    """Signed-in people who were sent to the sign-in page, and those whose session spanned the kill."""
    logins: dict[str, float] = {}
    stops: dict[str, float] = {}
    signed_out: set[str] = set()
    events = 0
    for line in _lines(RESULTS / "sessions.txt"):
        kind, at, key, *_rest = line.split()
        if kind == "login":
            logins[key] = float(at)
        elif kind == "stop":
            stops[key] = float(at)
        elif kind == "signed_out":
            signed_out.add(key)
            events += 1
    if not logins:
        return {}
    figures: dict[str, Any] = {
        "signed_in": len(logins),
        "signed_out_pages": events,
        "people_signed_out": len(signed_out),
    }
    line = f"sessions: {len(logins)} people signed in once each; {events} pages sent {len(signed_out)} of them back to sign in"
    if "killed" in fault:
        # Signed in before the kill and still at work after it: their later pages were answered
        # by the other server (and the restarted one) from the same session.
        spanning = [key for key, at in logins.items() if at < fault["killed"] < stops.get(key, time.time())]
        kept = [key for key in spanning if key not in signed_out]
        figures["signed_in_before_kill_and_on_after"] = len(spanning)
        figures["kept_session_across_kill"] = len(kept)
        line += f"; {len(kept)} of {len(spanning)} signed in before the kill kept their session to the end"
    print(line)
    if events:
        problems.append("sessions lost")
    return figures


def _sent_messages(mail_log: Path) -> Counter[tuple[str, str]]:
    """(to, subject) of each message the worker handed to the (console) mail backend."""
    sent: Counter[tuple[str, str]] = Counter()
    if not mail_log.exists():
        return sent
    for chunk in mail_log.read_text().split(MESSAGE_END):
        if not chunk.strip():
            continue
        message = email.message_from_string(chunk, policy=email.policy.default)
        # Headers as the backend folded them ("Subject: \n =?utf-8?q?...?="), made one line again.
        sent[(" ".join(str(message["To"] or "").split()), " ".join(str(message["Subject"] or "").split()))] += 1
    return sent


def jobs(since: float, mail_log: Path, problems: list[str]) -> dict[str, Any]:
    """Every e-mail queued during the run was sent by exactly one job, once, after the queue drained."""
    start = datetime.fromtimestamp(since, UTC)
    results = DBTaskResult.objects.filter(enqueued_at__gte=start)
    by_status = Counter(results.values_list("status", flat=True))
    mail_jobs = list(
        results.filter(task_path=mail_send.module_path).values("args_kwargs", "return_value", "worker_ids")
    )
    jobs_per_key = Counter(str(job["args_kwargs"]["args"][0]) for job in mail_jobs)
    sends_per_key = Counter(str(job["args_kwargs"]["args"][0]) for job in mail_jobs if job["return_value"] == "sent")
    claimed_twice = sum(1 for job in mail_jobs if len(job["worker_ids"]) > 1)
    deliveries = list(MailDelivery.objects.filter(queued_at__gte=start).values("key", "status", "to", "subject"))
    statuses = Counter(delivery["status"] for delivery in deliveries)
    lost = [d for d in deliveries if d["status"] != DeliveryStatus.SENT or jobs_per_key[str(d["key"])] == 0]
    twice = [d for d in deliveries if sends_per_key[str(d["key"])] > 1]
    once = len(deliveries) - len(lost) - len(twice)
    recorded = Counter((d["to"], d["subject"]) for d in deliveries if d["status"] == DeliveryStatus.SENT)
    handed = _sent_messages(mail_log)
    at_mail_server = sum(handed.values())
    extra = handed - recorded
    missing = recorded - handed
    figures = {
        "emails_queued": len(deliveries),
        "emails_sent": statuses.get(DeliveryStatus.SENT, 0),
        "emails_failed": statuses.get(DeliveryStatus.FAILED, 0),
        "email_jobs": len(mail_jobs),
        "ran_once": once,
        "lost": len(lost),
        "run_twice": len(twice) + claimed_twice,
        "messages_at_mail_backend": at_mail_server,
        "messages_more_than_recorded": sum(extra.values()),
        "messages_missing": sum(missing.values()),
        "jobs_by_status": dict(by_status),
    }
    print(
        f"e-mail jobs: {len(deliveries)} e-mails queued, {figures['emails_sent']} sent, {once} exactly once; "
        f"lost {len(lost)}, run twice {figures['run_twice']}; {at_mail_server} messages reached the mail backend "
        f"({sum(extra.values())} more than recorded, {sum(missing.values())} missing)"
    )
    print("all jobs since the start: " + ", ".join(f"{n} {status.lower()}" for status, n in sorted(by_status.items())))
    if lost or missing:
        problems.append("jobs lost")
    if twice or claimed_twice or extra:
        problems.append("jobs run twice")
    unfinished = by_status.get(TaskResultStatus.READY, 0) + by_status.get(TaskResultStatus.RUNNING, 0)
    if unfinished or by_status.get(TaskResultStatus.FAILED, 0):
        problems.append("jobs unfinished or failed")
    return figures


class Hit(NamedTuple):
    """One request as nginx logged it (the drill's log format in deploy/nginx-drill.conf.template)."""

    at: float
    status: int
    method: str
    uri: str
    servers: list[str]  # each app server tried, in order; the last one answered
    seconds: float


def _hits(log: Path) -> list[Hit]:
    hits = []
    for line in _lines(log):
        parts = line.split("|")
        if len(parts) == 7:
            at, status, method, uri, servers, _statuses, took = parts
            hits.append(Hit(float(at), int(status), method, uri, [s.strip() for s in servers.split(",")], float(took)))
    return hits


def balancer(log: Path, fault: dict[str, float], killed_server: str, problems: list[str]) -> dict[str, Any]:
    """What nginx did: requests per app server, requests moved to another server, answers it gave."""
    hits = _hits(log)
    if not hits:
        return {}
    by_server = Counter(hit.servers[-1] for hit in hits)
    moved = Counter(hit.method for hit in hits if len(hit.servers) > 1)
    errors = Counter(hit.status for hit in hits if hit.status >= 500)
    figures: dict[str, Any] = {
        "requests": len(hits),
        "answered_by": dict(by_server),
        "moved_to_other_server": sum(moved.values()),
        "moved_by_method": dict(moved),
        "answered_5xx": {str(code): n for code, n in sorted(errors.items())},
    }
    print(
        f"nginx: {len(hits)} requests, answered by {dict(by_server)}; {sum(moved.values())} moved to the other "
        f"server ({dict(moved)}); 5xx answers: {dict(errors) or 'none'}"
    )
    if "killed" not in fault:
        return figures
    # Sessions opened by the server that was then killed: each had to go on working on the others.
    figures["sign_ins_on_killed_server"] = sum(
        1
        for hit in hits
        if (hit.method, hit.uri, hit.status) == ("POST", "/accounts/login/", 302)
        and hit.servers[-1] == killed_server
        and hit.at < fault["killed"]
    )
    print(f"  sign-ins answered by {killed_server} before it was killed: {figures['sign_ins_on_killed_server']}")
    back = fault.get("answering_again", hits[-1].at)
    phases = {
        "before_kill": (hits[0].at, fault["killed"]),
        "one_server_down": (fault["killed"], back),
        "after_restart": (back, hits[-1].at),
    }
    figures["phases"] = {}
    for name, (begin, end) in phases.items():
        if end <= begin:
            continue
        inside = [hit for hit in hits if begin <= hit.at < end]
        phase = {
            "seconds": round(end - begin, 1),
            "requests_per_s": round(len(inside) / (end - begin), 1),
            "p95_ms": round(_p95([hit.seconds * 1000 for hit in inside])),
            "answered_5xx": sum(1 for hit in inside if hit.status >= 500),
        }
        figures["phases"][name] = phase
        print(
            f"  {name.replace('_', ' ')}: {phase['seconds']} s, {phase['requests_per_s']} req/s, "
            f"p95 {phase['p95_ms']} ms at nginx, {phase['answered_5xx']} answered 5xx"
        )
    if len(by_server) < 2:
        problems.append("one app server answered nothing")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("slot_id")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--since", type=float, default=0.0, help="when the app servers started (epoch seconds)")
    parser.add_argument("--seconds", type=int, default=0)
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--uploads", action="store_true", help="each post carried a photo")
    parser.add_argument("--jobs", action="store_true", help="jobs ran in a worker; check each ran once")
    parser.add_argument("--command", default="", help="the command that ran the drill, for the record")
    args = parser.parse_args()

    problems: list[str] = []
    fault, killed_server = fault_times()
    figures: dict[str, Any] = {
        "command": args.command,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "servers": args.servers,
        "seconds": args.seconds,
        "users": args.users,
        "seats": seats(args.slot_id, problems),
        "writes": writes(args.uploads, problems),
        "load": load(),
        "probe": probe(problems),
        "sessions": sessions(fault, problems),
    }
    if fault:
        figures["fault"] = {name: round(at - args.since, 1) for name, at in fault.items()}
    if args.jobs:
        figures["jobs"] = jobs(args.since, RESULTS / "worker-mail.txt", problems)
    if args.servers > 1:
        figures["nginx"] = balancer(RESULTS / "nginx-access.log", fault, killed_server, problems)
    figures["problems"] = problems

    load_figures, kept = figures["load"], figures["writes"]
    print()
    print(f"== figures: {args.command or 'bench/drill.sh'} ==")
    if load_figures:
        print(
            f"requests/s: {load_figures['requests_per_s']}   p95: {load_figures['p95_ms']:.0f} ms   "
            f"errors: {load_figures['errors']} of {load_figures['requests']} requests"
        )
    print(f"writes kept: {kept['kept']} of {kept['acknowledged']} acknowledged ({kept['applied_twice']} saved twice)")
    if "jobs" in figures:
        run = figures["jobs"]
        print(
            f"jobs run once: {run['ran_once']} of {run['emails_queued']} e-mail jobs "
            f"({run['lost']} lost, {run['run_twice']} run twice)"
        )
    if "kept_session_across_kill" in figures["sessions"]:
        print(
            f"sessions kept across the kill: {figures['sessions']['kept_session_across_kill']} of "
            f"{figures['sessions']['signed_in_before_kill_and_on_after']}"
        )
    print("OK" if not problems else f"PROBLEMS: {', '.join(problems)}")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for path in (RESULTS / "figures.json", RESULTS / f"figures-{stamp}.json"):
        path.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
