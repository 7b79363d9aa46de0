# Sourced by bench/run.sh and bench/throughput.sh: wrk (Debian package `wrk`) drives the
# throughput run; installed here when missing and run as root, else a clear message.
if ! command -v wrk > /dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing wrk (apt-get install -y wrk)"
    apt-get install -y wrk > /dev/null 2>&1 || { apt-get update > /dev/null 2>&1 && apt-get install -y wrk > /dev/null 2>&1; } || true
  fi
  command -v wrk > /dev/null || { echo "wrk is missing: apt-get install -y wrk (as root), then run make bench again (or BENCH_THROUGHPUT=0 make bench)" >&2; exit 1; }
fi
