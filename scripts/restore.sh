#!/usr/bin/env bash
# Restore a dump made by scripts/backup.sh into an EMPTY database.
#   scripts/restore.sh DUMP_FILE TARGET_DATABASE_URL
set -euo pipefail
dump=${1:?dump file}
url=${2:?target database URL (an empty database)}
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$dump"
echo "restored $dump"
