#!/usr/bin/env bash
# make bench: build (or reuse) the demo districts of SCALE on PostgreSQL (small and large unless
# told otherwise; SCALE=xl means small and xl), time the main pages in process on each and print
# one table comparing small with the largest, then measure throughput on the largest as
# production serves it (gunicorn, wrk; bench/throughput.sh).
# Variables: SCALE ("small large"), BENCH_PG, and those of bench/throughput.sh (BENCH_SECONDS…);
# BENCH_THROUGHPUT=0 leaves the throughput part out.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export DJANGO_DEBUG=false DJANGO_SECRET_KEY=bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
export DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false DJANGO_ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=WARNING
# Pages kept for their reader (portal/lib/kept_pages.py): one process here, so its own cache
# serves; bench/throughput.sh shares Redis between the workers.
export KEPT_PAGES=true

# The scales, smallest first, small always among them (the comparison's base).
SCALES=(small)
for scale in ${SCALE:-small large}; do
  case "$scale" in
    small) ;;
    large | xl) SCALES+=("$scale") ;;
    *) echo "SCALE takes small, large and xl, not $scale" >&2; exit 2 ;;
  esac
done
ORDERED=()
for scale in small large xl; do
  for wanted in "${SCALES[@]}"; do
    if [ "$wanted" = "$scale" ]; then ORDERED+=("$scale"); break; fi
  done
done
LARGEST=${ORDERED[-1]}
if [ "${BENCH_THROUGHPUT:-1}" != 0 ]; then
  # shellcheck source=bench/need-wrk.sh
  source bench/need-wrk.sh  # before the long part, not after it
  echo "scales: ${ORDERED[*]} (throughput on ${LARGEST})"
else
  echo "scales: ${ORDERED[*]}"
fi

mkdir -p bench-results
.venv/bin/python manage.py collectstatic --no-input -v0
for scale in "${ORDERED[@]}"; do
  db="portal_bench_${scale}"
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = '${db}'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE ${db}" >/dev/null
  DATABASE_URL="${PG}/${db}" .venv/bin/python manage.py migrate --no-input -v0
  DATABASE_URL="${PG}/${db}" .venv/bin/python manage.py seed_demo --scale "${scale}" > "bench-results/seed-${scale}.log"
  head -1 "bench-results/seed-${scale}.log"
  DATABASE_URL="${PG}/${db}" .venv/bin/python manage.py bench --label "${scale}" --output "bench-results/${scale}.json"
done
.venv/bin/python bench/report.py bench-results/small.json "bench-results/${LARGEST}.json" bench-results
if [ "${BENCH_THROUGHPUT:-1}" != 0 ]; then
  bash bench/throughput.sh "$LARGEST"
fi
