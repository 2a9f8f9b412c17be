#!/usr/bin/env bash
# Install and start Debian's PostgreSQL with a role and database for the tests.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    (apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null
fi
version=$(ls /etc/postgresql | sort -n | tail -n 1)
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
    su postgres -c "pg_isready -q" && break
    sleep 1
done
if ! su postgres -c "pg_isready -q"; then
    echo "error: PostgreSQL $version did not accept connections within 30 s" >&2
    exit 1
fi
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='nas'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE ROLE nas LOGIN PASSWORD 'nas'\""
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='nas_test'\"" | grep -q 1 ||
    su postgres -c "createdb -O nas nas_test"
