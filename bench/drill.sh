#!/usr/bin/env bash
# Load test, optionally with fault drills, on loopback against PostgreSQL: Locust drives a mix
# of teachers, principals and leaders for a bounded time, then bench/drill_check.py checks what
# was kept and prints the figures (also in load-results/figures.json).
#   bash bench/drill.sh             # one app server (gunicorn), load only
#   FAULT=1 bash bench/drill.sh     # restart PostgreSQL a third of the way in
#   SERVERS=2 bash bench/drill.sh   # two app servers behind nginx (deploy/), one jobs worker,
#                                   # Redis, uploads in an S3 server (moto); one app server is
#                                   # killed (SIGKILL) a third of the way in, restarted later
# Variables: DRILL_SECONDS (60), DRILL_USERS (40), DRILL_PORT (8123: where Locust sends its
# requests; with two servers nginx listens there and the app servers on the next two ports, the
# S3 server on DRILL_PORT+9), DRILL_DOWN_SECONDS (10: how long the killed server stays down),
# DRILL_WORKERS (gunicorn workers per app server: 3 with one server, 2 each with two; 4 threads
# each), DRILL_DATABASE_URL, DRILL_REDIS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
# As it was asked for, for the record of the figures.
COMMAND="$(for v in SERVERS FAULT DRILL_SECONDS DRILL_USERS DRILL_DOWN_SECONDS DRILL_WORKERS; do
  if [ -n "${!v:-}" ]; then printf '%s=%s ' "$v" "${!v}"; fi; done)bash bench/drill.sh"
SERVERS=${SERVERS:-1}
case "$SERVERS" in
  1 | 2) ;;
  *) echo "SERVERS is 1 or 2, not $SERVERS" >&2; exit 2 ;;
esac
PORT=${DRILL_PORT:-8123}
DURATION=${DRILL_SECONDS:-60}
USERS=${DRILL_USERS:-40}
DOWN=${DRILL_DOWN_SECONDS:-10}
if [ "$SERVERS" = 2 ]; then APP_WORKERS=${DRILL_WORKERS:-2}; else APP_WORKERS=${DRILL_WORKERS:-3}; fi
export DJANGO_DEBUG=false DJANGO_SECRET_KEY=drill-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
export DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false DJANGO_ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=ERROR
# Its own database: the drill posts practices, which must not end up in the benchmark's districts.
export DATABASE_URL=${DRILL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal_drill}
export LOGIN_FAILURE_LIMIT=1000
# The cache the app servers share in production (dashboard figures, popular tags).
export REDIS_URL=${DRILL_REDIS_URL:-redis://127.0.0.1:6379/1}
# No mail server on this machine: e-mails are built but not sent (the jobs worker of the
# two-server drill writes them to load-results/worker-mail.txt instead, to count them).
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
mkdir -p load-results
.venv/bin/python -c "import locust" 2>/dev/null || .venv/bin/pip install --quiet -r requirements-load.txt
rm -f load-results/{acked,probe,sessions,fault,worker-mail}.txt load-results/{worker,s3,nginx-access,nginx-error}.log \
  load-results/server*.log load-results/locust_* load-results/nginx.conf

# Everything the drill starts is stopped on the way out, by its process id. Each app server runs
# in a process group of its own (gunicorn and its workers), named by the file app<N>.pgid.
RUN=$(mktemp -d "${TMPDIR:-/tmp}/portal-drill.XXXXXX")
chmod 755 "$RUN"
PIDS=()
cleanup() {
  for file in "$RUN"/app*.pgid; do
    [ -f "$file" ] && { kill -TERM -- "-$(cat "$file")" 2>/dev/null || true; }
  done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT

wait_up() { # wait_up URL: until it answers, or 20 s
  for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "no answer from $1" >&2
  return 1
}
app_port() { if [ "$SERVERS" = 2 ]; then echo $((PORT + $1)); else echo "$PORT"; fi; }
start_app() { # start_app N: app server N on its port, in a process group of its own
  setsid .venv/bin/gunicorn portal.wsgi --workers "$APP_WORKERS" --threads 4 --keep-alive 75 \
    --bind "127.0.0.1:$(app_port "$1")" --timeout 30 --log-level error --no-control-socket \
    2>> "load-results/server$1.log" &
  echo $! > "$RUN/app$1.pgid"
  disown  # stopped through its group below; a kill is expected, not reported
}
stop_app() { # stop_app N SIGNAL: the server's master and workers at once
  kill "-$2" -- "-$(cat "$RUN/app$1.pgid")" 2>/dev/null || true
}

if [ -z "${DRILL_DATABASE_URL:-}" ]; then
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'portal_drill'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE portal_drill" >/dev/null
fi
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py seed_demo --scale small > load-results/seed.log
.venv/bin/python manage.py collectstatic --no-input -v0
# A popular session: five seats, approved automatically, hosted by the demo principal.
read -r SHOWCASE_ID SLOT_ID PRINCIPALS < <(.venv/bin/python manage.py shell -v0 -c "
from datetime import timedelta
from django.utils import timezone
from portal.models import Role, User
from showcases.models import Showcase, ShowcaseStatus, VisitSlot
host = User.objects.get(username='principal')
showcase = Showcase.objects.create(host=host, host_school=host.school, title='Load drill showcase', description='d', impact='i', evidence='e', focus_question='q', status=ShowcaseStatus.PUBLISHED, auto_approve=True)
start = timezone.now() + timedelta(days=3)
slot = VisitSlot.objects.create(showcase=showcase, starts_at=start, ends_at=start + timedelta(hours=2), capacity=5, location='Office')
names = User.objects.filter(role=Role.PRINCIPAL).exclude(school=host.school).values_list('username', flat=True)[:40]
print(showcase.pk, slot.pk, ','.join(names))
")
export DRILL_SHOWCASE_ID=$SHOWCASE_ID DRILL_SLOT_ID=$SLOT_ID DRILL_PRINCIPALS=$PRINCIPALS
CHECK_ARGS=()

if [ "$SERVERS" = 2 ]; then
  # Only nginx's program is used: where systemd runs, installing the package also starts
  # Debian's own nginx service on port 80, which the drill leaves alone.
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  if [ ! -x "$NGINX" ]; then
    [ "$(id -u)" = 0 ] || { echo "nginx is missing: apt-get install -y nginx (as root)" >&2; exit 1; }
    apt-get install -y nginx > load-results/apt.log 2>&1 || { apt-get update >> load-results/apt.log 2>&1 \
      && apt-get install -y nginx >> load-results/apt.log 2>&1; }
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  fi
  # Uploads in an S3-compatible bucket, as on several machines (moto's server, in memory).
  S3_PORT=$((PORT + 9))
  .venv/bin/python -m moto.server --host 127.0.0.1 --port "$S3_PORT" > load-results/s3.log 2>&1 &
  PIDS+=($!)
  wait_up "http://127.0.0.1:$S3_PORT/"
  curl -fsS -o /dev/null -X PUT "http://127.0.0.1:$S3_PORT/portal-drill"
  export STORAGE_S3_BUCKET=portal-drill STORAGE_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" STORAGE_S3_REGION=us-east-1
  export STORAGE_S3_ACCESS_KEY_ID=drill STORAGE_S3_SECRET_ACCESS_KEY=drill-secret-key
  # Jobs stored in PostgreSQL with the change that causes them, run by one worker; nginx is the
  # one proxy in front (client addresses for sign-in records and limits).
  export JOBS_BACKEND=database TRUSTED_PROXY_COUNT=1
  # Teachers' posts carry a photo they then download; principals cancel and ask again.
  export DRILL_UPLOADS=1 DRILL_CHURN=1
  CHECK_ARGS+=(--uploads --jobs)
fi

SINCE=$(date +%s.%N)
for n in $(seq 1 "$SERVERS"); do start_app "$n"; done
for n in $(seq 1 "$SERVERS"); do wait_up "http://127.0.0.1:$(app_port "$n")/healthz"; done

if [ "$SERVERS" = 2 ]; then
  # The worker is the only process that sends mail: the console backend writes each message to
  # a file, so the check can count what reached the "mail server".
  EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend .venv/bin/python manage.py db_worker \
    --queue-name default --no-reload --interval 0.5 --no-startup-delay \
    > load-results/worker-mail.txt 2> load-results/worker.log &
  WORKER=$!
  PIDS+=("$WORKER")
  # nginx's configuration: deploy/nginx-drill.conf.template with deploy/nginx.conf's upstream
  # parameters (max_fails, fail_timeout) and deploy/portal-proxy.conf; kept in load-results/.
  PARAMS=$(grep -o -m1 'max_fails=[0-9]* fail_timeout=[0-9a-z]*' deploy/nginx.conf)
  UPSTREAMS=""
  for n in 1 2; do UPSTREAMS+="        server 127.0.0.1:$(app_port "$n") $PARAMS;"$'\n'; done
  CONF=$(< deploy/nginx-drill.conf.template)
  CONF=${CONF//@RUN_DIR@/$RUN}
  CONF=${CONF//@LOG_DIR@/$PWD/load-results}
  CONF=${CONF//@DEPLOY_DIR@/$PWD/deploy}
  CONF=${CONF//@LISTEN@/$PORT}
  CONF=${CONF//@SERVERS@/${UPSTREAMS%$'\n'}}
  printf '%s\n' "$CONF" > load-results/nginx.conf
  "$NGINX" -t -q -p "$RUN" -c "$PWD/load-results/nginx.conf" -e "$PWD/load-results/nginx-error.log"
  "$NGINX" -p "$RUN" -c "$PWD/load-results/nginx.conf" -e "$PWD/load-results/nginx-error.log" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_up "http://127.0.0.1:$PORT/healthz"
  echo "nginx on 127.0.0.1:$PORT in front of app servers on ports $(app_port 1) and $(app_port 2) ($APP_WORKERS workers × 4 threads each)"
fi

# A probe records what a visitor sees every quarter second (status of / and /healthz).
( end=$((SECONDS + DURATION)); while [ $SECONDS -lt $end ]; do
    printf '%s %s %s\n' "$(date +%s.%N)" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" \
      "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/accounts/login/")" >> load-results/probe.txt
    sleep 0.25; done ) &
PROBE=$!
FAULTS=()

if [ "${FAULT:-0}" = "1" ]; then
  ( sleep $((DURATION / 3)); echo "fault: restarting PostgreSQL at $(date +%s.%N)" | tee -a load-results/fault.txt
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main restart
    echo "fault: PostgreSQL back at $(date +%s.%N)" | tee -a load-results/fault.txt ) &
  FAULTS+=($!)
fi
if [ "$SERVERS" = 2 ]; then
  # A machine dies: app server 1, master and workers, killed at once mid-request, then started
  # again. A third of the way in, once everyone has signed in (so sessions span the kill).
  ( sleep $((DURATION / 3))
    for _ in $(seq 1 $((DURATION / 3))); do
      [ "$(cat load-results/sessions.txt 2>/dev/null | grep -c '^login ' || true)" -ge "$USERS" ] && break
      sleep 1
    done
    stop_app 1 KILL
    echo "fault: app server 1 (127.0.0.1:$(app_port 1)) killed (SIGKILL) at $(date +%s.%N)" | tee -a load-results/fault.txt
    sleep "$DOWN"
    start_app 1
    echo "fault: app server 1 restarted at $(date +%s.%N)" | tee -a load-results/fault.txt
    wait_up "http://127.0.0.1:$(app_port 1)/healthz" \
      && echo "fault: app server 1 answering again at $(date +%s.%N)" | tee -a load-results/fault.txt ) &
  FAULTS+=($!)
fi

.venv/bin/locust -f bench/locustfile.py --headless -u "$USERS" -r 10 -t "${DURATION}s" --host "http://127.0.0.1:$PORT" \
  --csv load-results/locust --only-summary 2>&1 | tail -30 || true
wait "$PROBE" || true
for pid in "${FAULTS[@]}"; do wait "$pid" || true; done

if [ "$SERVERS" = 2 ]; then
  # Let the worker finish every job enqueued during the load, then stop it as systemd would.
  for _ in $(seq 1 120); do
    LEFT=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('READY', 'RUNNING')")
    [ "$LEFT" = 0 ] && break
    sleep 1
  done
  echo "job queue drained (jobs left: $LEFT)"
  kill -TERM "$WORKER" 2>/dev/null || true
  wait "$WORKER" || true
  kill -QUIT "$NGINX_PID" 2>/dev/null || true  # nginx: finish its requests and close its logs
  wait "$NGINX_PID" || true
fi
for n in $(seq 1 "$SERVERS"); do stop_app "$n" TERM; done
.venv/bin/python bench/drill_check.py "$SLOT_ID" --servers "$SERVERS" --since "$SINCE" --seconds "$DURATION" \
  --users "$USERS" --command "$COMMAND" "${CHECK_ARGS[@]}"
