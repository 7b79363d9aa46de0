#!/usr/bin/env bash
# Load test, optionally with a fault drill: gunicorn on loopback against PostgreSQL,
# Locust driving a mix of teachers, principals and leaders for a bounded time.
#   bash bench/drill.sh            # load only
#   FAULT=1 bash bench/drill.sh    # restart PostgreSQL in the middle of the load
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${DRILL_PORT:-8123}
DURATION=${DRILL_SECONDS:-60}
USERS=${DRILL_USERS:-40}
export DJANGO_DEBUG=false DJANGO_SECRET_KEY=drill-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
export DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false DJANGO_ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=ERROR
# Its own database: the drill posts practices, which must not end up in the benchmark's districts.
export DATABASE_URL=${DRILL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal_drill}
export LOGIN_FAILURE_LIMIT=1000
# The cache the app servers share in production (dashboard figures, popular tags).
export REDIS_URL=${DRILL_REDIS_URL:-redis://127.0.0.1:6379/1}
# No mail server on this machine: e-mails are built but not sent.
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
mkdir -p load-results
.venv/bin/python -c "import locust" 2>/dev/null || .venv/bin/pip install --quiet -r requirements-load.txt
rm -f load-results/acked.txt load-results/probe.txt
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
from portal.models import User
from showcases.models import Showcase, VisitSlot
host = User.objects.get(username='principal')
showcase = Showcase.objects.create(host=host, host_school=host.school, title='Load drill showcase', description='d', impact='i', evidence='e', focus_question='q', status='published', auto_approve=True)
start = timezone.now() + timedelta(days=3)
slot = VisitSlot.objects.create(showcase=showcase, starts_at=start, ends_at=start + timedelta(hours=2), capacity=5, location='Office')
names = User.objects.filter(role='principal').exclude(school=host.school).values_list('username', flat=True)[:40]
print(showcase.pk, slot.pk, ','.join(names))
")
export DRILL_SHOWCASE_ID=$SHOWCASE_ID DRILL_SLOT_ID=$SLOT_ID DRILL_PRINCIPALS=$PRINCIPALS
# Two cores: three workers of four threads keep both busy while requests wait on the database.
.venv/bin/gunicorn portal.wsgi --workers 3 --threads 4 --keep-alive 75 --bind 127.0.0.1:$PORT --timeout 30 --log-level error 2> load-results/server.log &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

# A probe records what a visitor sees every quarter second (status of / and /healthz).
( end=$((SECONDS + DURATION)); while [ $SECONDS -lt $end ]; do
    printf '%s %s %s\n' "$(date +%s.%N)" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" \
      "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/accounts/login/")" >> load-results/probe.txt
    sleep 0.25; done ) &
PROBE=$!

if [ "${FAULT:-0}" = "1" ]; then
  ( sleep $((DURATION / 3)); echo "fault: restarting PostgreSQL at $(date +%s.%N)" | tee load-results/fault.txt
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main restart
    echo "fault: PostgreSQL back at $(date +%s.%N)" | tee -a load-results/fault.txt ) &
fi

.venv/bin/locust -f bench/locustfile.py --headless -u "$USERS" -r 10 -t "${DURATION}s" --host "http://127.0.0.1:$PORT" \
  --csv load-results/locust --only-summary 2>&1 | tail -30 || true
wait $PROBE || true
kill $GUNICORN 2>/dev/null || true
.venv/bin/python bench/drill_check.py "$SLOT_ID"
