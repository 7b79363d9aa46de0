#!/usr/bin/env bash
# Throughput as production serves it: gunicorn (BENCH_WORKERS 3 × BENCH_THREADS 4, gthread),
# DEBUG off, the scale's PostgreSQL database, Redis for the cache, on loopback; wrk drives a
# closed-loop mix of signed-in pages, then /healthz alone on the same server (bench/throughput.py
# and bench/mix.lua). Run by bench/run.sh after the in-process table, on the largest scale built;
# by hand: `bash bench/throughput.sh large` (the database portal_bench_large must exist).
# Variables: BENCH_SECONDS (30, per load), BENCH_WARMUP (10), BENCH_CONNECTIONS (8),
# BENCH_PORT (8130), BENCH_REDIS_URL (redis://127.0.0.1:6379/3), BENCH_PG, BENCH_WORKERS,
# BENCH_THREADS, BENCH_PEOPLE (4 readers of each role), BENCH_WRITES (edits a second during the
# mix's second run, 1; 0 leaves it out), KEPT_PAGES (true; false draws every page).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE_NAME=${1:?which scale: small, large or xl}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-8130}
WORKERS=${BENCH_WORKERS:-3}
THREADS=${BENCH_THREADS:-4}
export DJANGO_DEBUG=false DJANGO_SECRET_KEY=bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
export DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false DJANGO_ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=WARNING
export DATABASE_URL="${PG}/portal_bench_${SCALE_NAME}"
# The cache (dashboards' figures, filter vocabulary) shared by the workers, as in production;
# a database number of its own, emptied first so no figure of another run is served.
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/3}
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend

# shellcheck source=bench/need-wrk.sh
source bench/need-wrk.sh
.venv/bin/python -c "
import redis, sys
try:
    redis.Redis.from_url(sys.argv[1]).flushdb()
except redis.RedisError as error:
    sys.exit(f'Redis does not answer at {sys.argv[1]} ({error}): start it, or set BENCH_REDIS_URL')
" "$REDIS_URL"
[ -f staticfiles/staticfiles.json ] || .venv/bin/python manage.py collectstatic --no-input -v0

# gunicorn and its workers run in a process group of their own, stopped on the way out.
SERVER="gunicorn portal.wsgi --workers $WORKERS --threads $THREADS --worker-class gthread --keep-alive 75 --timeout 30"
LOG=bench-results/throughput-server.log
mkdir -p bench-results
: > "$LOG"
# shellcheck disable=SC2086  # the words of $SERVER are the arguments
setsid .venv/bin/$SERVER --bind "127.0.0.1:$PORT" --log-level warning --no-control-socket 2>> "$LOG" &
GROUP=$!
trap 'kill -TERM -- "-$GROUP" 2>/dev/null || true; wait "$GROUP" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  kill -0 "$GROUP" 2>/dev/null || { echo "gunicorn stopped; see $LOG" >&2; exit 1; }
  sleep 0.2
done
curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" || { echo "no answer from gunicorn on port $PORT; see $LOG" >&2; exit 1; }

.venv/bin/python bench/throughput.py --url "http://127.0.0.1:$PORT" --scale "$SCALE_NAME" \
  --seconds "${BENCH_SECONDS:-30}" --warmup "${BENCH_WARMUP:-10}" --connections "${BENCH_CONNECTIONS:-8}" \
  --people "${BENCH_PEOPLE:-4}" --writes-per-second "${BENCH_WRITES:-1}" \
  --server "$SERVER, DJANGO_DEBUG=false, PostgreSQL, REDIS_URL=$REDIS_URL, KEPT_PAGES=${KEPT_PAGES:-true}"
