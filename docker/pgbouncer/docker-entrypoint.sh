#!/bin/sh
# Writes pgbouncer.ini and userlist.txt from the environment, as edoburu/pgbouncer's entrypoint
# does for the variables stack/docker-compose.pgbouncer.yml sets, then execs pgbouncer (PID 1).
# The userlist keeps the password in clear: PgBouncer then answers md5 or SCRAM to clients and
# logs in to a SCRAM server itself (a hashed md5 entry could not do the latter).
set -eu

: "${DB_HOST:?DB_HOST is not set (the PostgreSQL server PgBouncer pools for)}"
: "${DB_PORT:=5432}"
: "${DB_USER:=postgres}"
: "${DB_PASSWORD:=}"
: "${DB_NAME:=*}"
: "${LISTEN_PORT:=5432}"
: "${POOL_MODE:=session}"
: "${DEFAULT_POOL_SIZE:=20}"
: "${MAX_CLIENT_CONN:=100}"
: "${AUTH_TYPE:=md5}"
: "${IGNORE_STARTUP_PARAMETERS:=extra_float_digits}"

dir=/etc/pgbouncer
if [ "$DB_NAME" = "*" ]; then
    target="* = host=$DB_HOST port=$DB_PORT"
else
    target="$DB_NAME = host=$DB_HOST port=$DB_PORT dbname=$DB_NAME"
fi
cat > "$dir/pgbouncer.ini" <<INI
[databases]
$target

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = $LISTEN_PORT
unix_socket_dir =
auth_type = $AUTH_TYPE
auth_file = $dir/userlist.txt
pool_mode = $POOL_MODE
default_pool_size = $DEFAULT_POOL_SIZE
max_client_conn = $MAX_CLIENT_CONN
ignore_startup_parameters = $IGNORE_STARTUP_PARAMETERS
pidfile =
logfile =
INI
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$dir/userlist.txt"
chmod 0600 "$dir/userlist.txt"

exec "$@"
