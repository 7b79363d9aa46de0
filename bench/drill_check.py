"""After the load: no session overbooked, every acknowledged write in the database, and
what visitors saw while the database was away."""

import csv
import os
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.db.models import F, Sum

from practices.models import Practice
from showcases.models import RequestStatus, VisitSlot


def main(slot_id: str) -> int:
    problems = []
    overbooked = VisitSlot.objects.filter(seats_taken__gt=F("capacity")).count()
    slot = VisitSlot.objects.get(pk=slot_id)
    approved = slot.requests.filter(status=RequestStatus.APPROVED).aggregate(n=Sum("seats"))["n"] or 0
    print(
        f"popular session: {approved} approved seats of {slot.capacity}; {slot.requests.count()} requests; sessions overbooked anywhere: {overbooked}"
    )
    if overbooked or approved > slot.capacity or approved != slot.seats_taken:
        problems.append("overbooking")
    acked_path = Path("load-results/acked.txt")
    acked = [line for line in acked_path.read_text().splitlines() if line] if acked_path.exists() else []
    found = set(Practice.objects.filter(title__in=acked).values_list("title", flat=True))
    print(f"acknowledged practice posts: {len(acked)}; found in the database: {len(found)}")
    if len(found) != len(set(acked)):
        problems.append("lost writes")
    stats = Path("load-results/locust_stats.csv")
    if stats.exists():
        rows = {row["Name"]: row for row in csv.DictReader(stats.open())}
        total = rows.get("Aggregated")
        if total:
            print(
                f"requests: {total['Request Count']}, failures: {total['Failure Count']}, "
                f"req/s: {float(total['Requests/s']):.1f}, p50: {total['50%']} ms, p95: {total['95%']} ms, p99: {total['99%']} ms"
            )
    probe = Path("load-results/probe.txt")
    if probe.exists():
        lines = [line.split() for line in probe.read_text().splitlines() if len(line.split()) == 3]
        codes = [(float(t), h, p) for t, h, p in lines]
        bad = [c for c in codes if c[1] not in ("200", "503") or c[2] not in ("200", "503")]
        down = [c for c in codes if c[1] == "503" or c[2] == "503"]
        print(
            f"probe: {len(codes)} checks, {len(down)} answered 503 (database away), {len(bad)} answered anything else"
        )
        if down:
            recovered = [c for c in codes if c[0] > down[-1][0] and c[1] == "200"]
            if recovered:
                print(f"recovered {recovered[0][0] - down[0][0]:.1f} s after the first 503")
        if bad:
            problems.append(f"probe saw {sorted({c[1] + '/' + c[2] for c in bad})}")
    print("OK" if not problems else f"PROBLEMS: {', '.join(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
