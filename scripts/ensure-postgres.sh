#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the store tests:
# start the machine's cluster if it is stopped, install it (Debian) if it is missing.
# Set ZHIKONG_TEST_POSTGRES_URL to use another server instead; then nothing is started.
set -euo pipefail

if [[ -n "${ZHIKONG_TEST_POSTGRES_URL:-}" ]]; then
  echo "postgres: using ZHIKONG_TEST_POSTGRES_URL"
  exit 0
fi

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if command -v pg_isready >/dev/null && ready; then
  echo "postgres: running"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "postgres: not installed and not root; install PostgreSQL or set ZHIKONG_TEST_POSTGRES_URL" >&2
    exit 1
  fi
  echo "postgres: installing (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
echo "postgres: starting cluster $version/main"
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true

for _ in $(seq 1 30); do
  if ready; then
    # Tests connect as postgres over TCP; allow it without a password on loopback only.
    if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1" >/dev/null 2>&1; then
      hba="/etc/postgresql/$version/main/pg_hba.conf"
      sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
    echo "postgres: ready"
    exit 0
  fi
  sleep 1
done
echo "postgres: did not become ready on 127.0.0.1:5432" >&2
exit 1
