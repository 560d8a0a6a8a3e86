#!/usr/bin/env bash
# Stops what infra/up.sh DIR started — and nothing else (external servers are untouched).
#
# Usage: infra/down.sh DIR [--kill]
#
# --kill stops with SIGKILL / immediate shutdown instead of a clean shutdown.
# Data stays in DIR; remove DIR yourself to discard it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set_log_tag down

(($# >= 1)) || die "usage: infra/down.sh DIR [--kill]"
DIR="$(abs_path "$1")"
action=stop
[[ "${2:-}" == --kill ]] && action="kill"
INFRA="$TRIBUTARY_ROOT/infra"

if [[ ! -f "$DIR/started" ]]; then
    info "nothing was started in $DIR"
    exit 0
fi

# Stop all of them even if one fails, and report the failure at the end.
status=0
while read -r name; do
    case "$name" in
        kafka) "$INFRA/kafka.sh" "$action" --dir "$DIR/kafka" || status=1 ;;
        postgres) "$INFRA/postgres.sh" "$action" --dir "$DIR/postgres" || status=1 ;;
        redis) "$INFRA/redis.sh" "$action" --dir "$DIR/redis" || status=1 ;;
        '') ;;
        *) warn "unknown entry '$name' in $DIR/started" ;;
    esac
done < <(tac "$DIR/started")
((status == 0)) && rm -f "$DIR/started"
exit "$status"
