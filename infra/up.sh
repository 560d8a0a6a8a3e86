#!/usr/bin/env bash
# Starts the infrastructure Tributary needs — Kafka, PostgreSQL, Redis — under one folder.
#
# Usage: infra/up.sh DIR [--topics]
#
# Each server is started (into DIR/kafka, DIR/postgres, DIR/redis) only when its variable
# — KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL — is not already set in the
# environment; a set variable means "use that external server". The endpoints are written
# to DIR/env as KEY=value lines (and printed on stdout); what was started is recorded in
# DIR/started so that infra/down.sh DIR stops exactly that. Running it again with the same
# DIR is harmless: running servers are left alone, stopped ones restart on the same ports
# and data. --topics also creates the Tributary topics (infra/kafka.sh topics).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set_log_tag up

(($# >= 1)) || die "usage: infra/up.sh DIR [--topics]"
DIR="$(abs_path "$1")"
shift
create_topics=0
while (($#)); do
    case "$1" in
        --topics) create_topics=1; shift ;;
        *) die "unknown argument: $1" ;;
    esac
done
mkdir -p "$DIR"
INFRA="$TRIBUTARY_ROOT/infra"
touch "$DIR/started"

# started_here NAME — true when a previous up.sh with this DIR started NAME.
started_here() { grep -qx "$1" "$DIR/started"; }
record() { started_here "$1" || echo "$1" >>"$DIR/started"; }

# want NAME VAR — true when we should run NAME ourselves: the variable is unset, or it is
# set only because it came from this DIR's own env file (a re-run after `source DIR/env`).
want() {
    local name="$1" var="$2"
    [[ -z "${!var:-}" ]] && return 0
    started_here "$name" && return 0
    info "$var is set: using the external server at $(redact_url "${!var}")"
    return 1
}

# Kafka's JVM takes the longest, so it starts in the background while the others start.
kafka_job=''
if want kafka KAFKA_BOOTSTRAP_SERVERS; then
    record kafka
    "$INFRA/kafka.sh" start --dir "$DIR/kafka" >"$DIR/kafka.endpoint" &
    kafka_job=$!
fi
if want postgres DATABASE_URL; then
    record postgres
    line="$("$INFRA/postgres.sh" start --dir "$DIR/postgres")" || die "PostgreSQL failed to start"
    export "$(grep '^DATABASE_URL=' <<<"$line")"
fi
if want redis REDIS_URL; then
    record redis
    line="$("$INFRA/redis.sh" start --dir "$DIR/redis")" || die "Redis failed to start"
    export "$(grep '^REDIS_URL=' <<<"$line")"
fi
if [[ -n "$kafka_job" ]]; then
    wait "$kafka_job" || die "Kafka failed to start; see $DIR/kafka/logs/"
    export "$(grep '^KAFKA_BOOTSTRAP_SERVERS=' "$DIR/kafka.endpoint")"
    rm -f "$DIR/kafka.endpoint"
fi

if ((create_topics)); then
    "$INFRA/kafka.sh" topics --bootstrap "$KAFKA_BOOTSTRAP_SERVERS"
fi

# Written to a temporary file first so that a reader never sees half a file.
{
    echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
    echo "DATABASE_URL=$DATABASE_URL"
    echo "REDIS_URL=$REDIS_URL"
} >"$DIR/env.tmp"
mv "$DIR/env.tmp" "$DIR/env"
cat "$DIR/env"
