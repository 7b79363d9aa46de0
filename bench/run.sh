#!/usr/bin/env bash
# make bench: build (or reuse) the small and the large demo district on PostgreSQL, time
# the main pages in process on each, and print one comparison table.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export DJANGO_DEBUG=false DJANGO_SECRET_KEY=bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
export DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false DJANGO_ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=WARNING
mkdir -p bench-results
.venv/bin/python manage.py collectstatic --no-input -v0
for scale in small large; do
  db="portal_bench_${scale}"
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = '${db}'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE ${db}" >/dev/null
  DATABASE_URL="${PG}/${db}" .venv/bin/python manage.py migrate --no-input -v0
  DATABASE_URL="${PG}/${db}" .venv/bin/python manage.py seed_demo --scale "${scale}" > "bench-results/seed-${scale}.log"
  head -1 "bench-results/seed-${scale}.log"
  DATABASE_URL="${PG}/${db}" .venv/bin/python manage.py bench --label "${scale}" --output "bench-results/${scale}.json"
done
.venv/bin/python bench/report.py bench-results/small.json bench-results/large.json bench-results
