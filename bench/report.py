"""Print one table comparing the small district with a larger one (large or xl), and keep the result."""

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

# The design's budget for a page's median at each scale, as a multiple of its median at small.
BUDGET = {"small": 1.0, "large": 1.5, "xl": 2.0}


def main(small_path: str, big_path: str, out_dir: str) -> int:
    small_run, big_run = json.loads(Path(small_path).read_text()), json.loads(Path(big_path).read_text())
    label = big_run.get("label", "large")
    small = {page["page"]: page for page in small_run["pages"]}
    large = {page["page"]: page for page in big_run["pages"]}
    health_small, health_large = small["healthz"]["median_ms"], large["healthz"]["median_ms"]
    rows = []
    short = label[:5]
    header = f"{'page':28} {'queries':>8} {'small med':>10} {short + ' med':>10} {short + ' p95':>10} {short + '/small':>12} {'x healthz':>10} {'html kB s/' + short[0]:>12}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, s in small.items():
        big = large.get(name)
        if big is None:
            print(f"{name:28} (not timed at {label})")
            continue
        ratio = big["median_ms"] / s["median_ms"] if s["median_ms"] else 0.0
        to_health = big["median_ms"] / health_large if health_large else 0.0
        if name != "healthz":
            worst = max(worst, ratio)
        rows.append({"page": name, "queries_small": s["queries"], f"queries_{label}": big["queries"], "small_median_ms": s["median_ms"],
                     f"{label}_median_ms": big["median_ms"], f"{label}_p95_ms": big["p95_ms"], f"{label}_over_small": round(ratio, 2),
                     f"{label}_over_healthz": round(to_health, 1),
                     "html_kb_small": s.get("html_kb"), f"html_kb_{label}": big.get("html_kb")})  # fmt: skip
        queries = f"{s['queries']}/{big['queries']}"
        html = f"{s.get('html_kb', 0):.0f}/{big.get('html_kb', 0):.0f}"
        print(
            f"{name:28} {queries:>8} {s['median_ms']:>10.2f} {big['median_ms']:>10.2f} {big['p95_ms']:>10.2f} {ratio:>12.2f} {to_health:>10.1f} {html:>12}"
        )
    print(
        f"\nworst {label}/small ratio: {worst:.2f} (budget {BUDGET.get(label, 1.5)}); healthz median {health_small:.2f} / {health_large:.2f} ms"
    )
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"bench-{stamp}.json").write_text(
        json.dumps(
            {
                "at": stamp,
                "compared": ["small", label],
                "worst_ratio": round(worst, 2),
                "budget": BUDGET.get(label, 1.5),
                "pages": rows,
            },
            indent=2,
        )
    )
    print(f"written to {out / f'bench-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
