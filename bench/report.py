"""Print one table comparing the small and the large district, and keep the result."""

import json
import sys
from datetime import UTC, datetime
from pathlib import Path


def main(small_path: str, large_path: str, out_dir: str) -> int:
    small = {page["page"]: page for page in json.loads(Path(small_path).read_text())["pages"]}
    large = {page["page"]: page for page in json.loads(Path(large_path).read_text())["pages"]}
    health_small, health_large = small["healthz"]["median_ms"], large["healthz"]["median_ms"]
    rows = []
    header = f"{'page':28} {'queries':>8} {'small med':>10} {'large med':>10} {'large p95':>10} {'large/small':>12} {'x healthz':>10} {'html kB s/l':>12}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, s in small.items():
        big = large[name]
        ratio = big["median_ms"] / s["median_ms"] if s["median_ms"] else 0.0
        to_health = big["median_ms"] / health_large if health_large else 0.0
        if name != "healthz":
            worst = max(worst, ratio)
        rows.append({"page": name, "queries_small": s["queries"], "queries_large": big["queries"], "small_median_ms": s["median_ms"],
                     "large_median_ms": big["median_ms"], "large_p95_ms": big["p95_ms"], "large_over_small": round(ratio, 2),
                     "large_over_healthz": round(to_health, 1),
                     "html_kb_small": s.get("html_kb"), "html_kb_large": big.get("html_kb")})  # fmt: skip
        queries = f"{s['queries']}/{big['queries']}"
        html = f"{s.get('html_kb', 0):.0f}/{big.get('html_kb', 0):.0f}"
        print(
            f"{name:28} {queries:>8} {s['median_ms']:>10.2f} {big['median_ms']:>10.2f} {big['p95_ms']:>10.2f} {ratio:>12.2f} {to_health:>10.1f} {html:>12}"
        )
    print(
        f"\nworst large/small ratio: {worst:.2f} (budget 1.5); healthz median {health_small:.2f} / {health_large:.2f} ms"
    )
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"bench-{stamp}.json").write_text(
        json.dumps({"at": stamp, "worst_ratio": round(worst, 2), "pages": rows}, indent=2)
    )
    print(f"written to {out / f'bench-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
