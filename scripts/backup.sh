#!/usr/bin/env bash
# Back up the portal's PostgreSQL database to a compressed custom-format dump.
#   scripts/backup.sh [DATABASE_URL] [OUTPUT_FILE]
# Uploads live in MEDIA_ROOT (or object storage) and are backed up separately.
set -euo pipefail
url=${1:-${DATABASE_URL:?set DATABASE_URL or pass it as the first argument}}
out=${2:-portal-$(date -u +%Y%m%dT%H%M%SZ).dump}
pg_dump --format=custom --no-owner --no-privileges --file="$out" "$url"
echo "$out"
