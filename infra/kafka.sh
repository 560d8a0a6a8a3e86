#!/usr/bin/env bash
# Apache Kafka 3.9.2 (KRaft; one node, or a cluster on one host) from the jars on Maven Central.
#
# Usage:
#   infra/kafka.sh fetch
#       Resolve the jars into $TRIBUTARY_CACHE/kafka-3.9.2/libs (default cache:
#       ~/.cache/tributary). No-op when already done for the current pom.
#   infra/kafka.sh start --dir DIR [--port P] [--controller-port C]
#       Start a broker+controller whose config, data, logs, pid and ports live in DIR.
#       Ports default to free ones; a restart with the same DIR reuses the stored ports
#       and data. Prints KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:P on stdout once the broker
#       answers metadata requests. Exit 0 also when it was already running.
#   infra/kafka.sh stop --dir DIR      SIGTERM, up to 30 s for a clean shutdown, then SIGKILL.
#   infra/kafka.sh kill --dir DIR      SIGKILL now (crash simulation).
#   infra/kafka.sh status --dir DIR    Exit 0 and print the endpoint when running, 3 when not.
#   infra/kafka.sh topics [--bootstrap B] [--partitions N] [--replication-factor R]
#       Create the Tributary topics that are missing (B defaults to $KAFKA_BOOTSTRAP_SERVERS).
#
# A cluster of N brokers on this host (failure tests; N defaults to 3). Each node is a combined
# broker+controller in DIR/nodeI (node id I) with the same controller.quorum.voters and cluster
# id; replication factor min(N,3) by default, min.insync.replicas=2 when N >= 3:
#   infra/kafka.sh cluster-start --dir DIR [--brokers N]
#       Start the nodes of DIR that are not running, in parallel (free ports the first time,
#       stored ports and data afterwards). Prints KAFKA_BOOTSTRAP_SERVERS=h:p1,h:p2,... once
#       every node answers and sees all N brokers.
#   infra/kafka.sh cluster-stop --dir DIR     Stop every node (SIGTERM, then SIGKILL after 30 s).
#   infra/kafka.sh start|stop|kill --dir DIR --node I
#       One node of the cluster: start again on its stored ports and data (waits until it
#       answers), stop gracefully, or SIGKILL it. stop/kill without --node act on every node.
#   infra/kafka.sh status --dir DIR [--node I]
#       One line per node; exit 0 when every (or the given) node runs, 3 otherwise.
#
# Environment: TRIBUTARY_CACHE, KAFKA_HEAP_OPTS (default "-Xmx512m -Xms256m"; "-Xmx384m
# -Xms128m" for a cluster node), KAFKA_JVM_PERFORMANCE_OPTS (default G1 with 20 ms pause
# target), KAFKA_START_TIMEOUT (seconds, default 90; 120 for a cluster).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set_log_tag kafka

KAFKA_VERSION=3.9.2
POM="$TRIBUTARY_ROOT/infra/kafka/pom.xml"
LIBS="$TRIBUTARY_CACHE/kafka-$KAFKA_VERSION/libs"
MARKER="$LIBS/.resolved"
TOPICS=(analytics.events research.records analytics.events.dlq research.records.dlq)

# JVM flags for short-lived CLI tools (StorageTool, TopicCommand): the C1-only JIT and
# the serial collector start noticeably faster and these tools do little work.
TOOL_LOG4J="$TRIBUTARY_CACHE/kafka-$KAFKA_VERSION/tools-log4j.properties"
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    "-Dlog4j.configuration=file:$TOOL_LOG4J")

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

cmd_fetch() {
    local pom_sum
    pom_sum="$(sha256sum "$POM" | cut -d' ' -f1)"
    if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$pom_sum" ]]; then
        return 0
    fi
    # Two scripts fetching at once (parallel test runs) must not delete each other's jars.
    mkdir -p "$TRIBUTARY_CACHE"
    exec 9>"$TRIBUTARY_CACHE/kafka-$KAFKA_VERSION.lock"
    flock 9
    if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$pom_sum" ]]; then
        exec 9>&-
        return 0
    fi
    info "resolving Kafka $KAFKA_VERSION jars with Maven into $LIBS"
    # Resolve into a fresh folder and swap it in at the end, so that a broker running from
    # the old jars never sees a half-filled folder.
    local fresh="$LIBS.new"
    rm -rf "$fresh"
    mkdir -p "$fresh"
    # Maven prints colour codes even with -q; keep its output unless it fails.
    local log="$TRIBUTARY_CACHE/kafka-$KAFKA_VERSION/mvn.log"
    if ! mvn -q -B dependency:copy-dependencies -f "$POM" -DoutputDirectory="$fresh" \
        >"$log" 2>&1 </dev/null; then
        cat "$log" >&2
        die "maven could not resolve the Kafka jars (is Maven Central reachable?)"
    fi
    ls "$fresh"/kafka_2.13-*.jar >/dev/null 2>&1 || die "no kafka_2.13 jar in $fresh"
    rm -rf "$LIBS.old"
    [[ -d "$LIBS" ]] && mv "$LIBS" "$LIBS.old"
    mv "$fresh" "$LIBS"
    rm -rf "$LIBS.old"
    # CLI tools log warnings to stderr, nothing else.
    cat >"$TOOL_LOG4J" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=%p %m (%c)%n
EOF
    # The marker names the pom it was resolved from, so a pom change triggers a refetch.
    printf '%s\n' "$pom_sum" >"$MARKER"
    exec 9>&-
}

# Parses --dir/--port/--controller-port/--node into DIR, PORT, CPORT, NODE; sets CLUSTER when
# DIR is a cluster folder (DIR then names node NODE's folder when --node is given).
parse_dir_args() {
    DIR='' PORT='' CPORT='' NODE=''
    while (($#)); do
        case "$1" in
            --dir) DIR="$2"; shift 2 ;;
            --node) NODE="$2"; shift 2 ;;
            --port) PORT="$2"; shift 2 ;;
            --controller-port) CPORT="$2"; shift 2 ;;
            *) die "unknown argument: $1" ;;
        esac
    done
    [[ -n "$DIR" ]] || die "--dir DIR is required"
    DIR="$(abs_path "$DIR")"
    # A folder made by cluster-start holds `brokers`; --node I then means its nodeI folder.
    CLUSTER=''
    if [[ -f "$DIR/brokers" ]]; then
        CLUSTER="$DIR"
        if [[ -n "$NODE" ]]; then
            [[ "$NODE" =~ ^[1-9]$ && "$NODE" -le "$(cat "$CLUSTER/brokers")" ]] \
                || die "--node $NODE: $CLUSTER has nodes 1..$(cat "$CLUSTER/brokers")"
            DIR="$CLUSTER/node$NODE"
        fi
    elif [[ -n "$NODE" ]]; then
        die "--node: $DIR is not a cluster (see cluster-start)"
    fi
}

# Prints the endpoint when the broker in DIR answers; fails otherwise.
broker_answers() {
    local port="$1"
    # -L on a single made-up topic keeps the answer small; we only need the broker list.
    kcat -b "127.0.0.1:$port" -L -t __tributary_probe -m 5 2>/dev/null | grep -q ' 1 brokers:'
}

write_config() {
    cat >"$DIR/server.properties" <<EOF
# Written by infra/kafka.sh — single-node KRaft broker+controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/data
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# After a crash (kill) the controller keeps the old broker registration until its session
# expires; the default 9 s made every restart after SIGKILL wait ~10 s.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
num.network.threads=2
num.io.threads=4
log.retention.hours=168
log.segment.bytes=134217728
EOF
    write_log4j "$DIR"
}

# write_log4j DIR — the broker's logging: warnings and errors to DIR/logs/server.log, plus the
# one line that says the server started.
write_log4j() {
    local dir="$1"
    cat >"$dir/log4j.properties" <<EOF
# Written by infra/kafka.sh — warnings and errors to $dir/logs/server.log,
# plus the one line that says the server started.
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$dir/logs/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
EOF
}

# launch_jvm NODE_DIR HEAP_OPTS — starts the broker of NODE_DIR in the background and
# records its pid in NODE_DIR/kafka.pid.
launch_jvm() {
    local dir="$1" heap="$2"
    # setsid: its own session, so a Ctrl-C meant for the calling script does not reach it.
    # shellcheck disable=SC2086  # the *_OPTS variables are lists of flags
    nohup setsid java $heap \
        ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20} \
        -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$dir/log4j.properties" \
        -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
        >>"$dir/logs/kafka.out" 2>&1 </dev/null &
    echo "$!" >"$dir/kafka.pid"
}

cmd_start() {
    parse_dir_args "$@"
    if [[ -n "$CLUSTER" ]]; then
        [[ -n "$NODE" ]] || die "$CLUSTER is a cluster: use cluster-start, or start --node I"
        cluster_start_nodes "$NODE"
        return
    fi
    cmd_fetch
    mkdir -p "$DIR/logs"
    local pid
    if pid="$(read_pid "$DIR/kafka.pid")"; then
        info "already running (pid $pid)"
        echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(cat "$DIR/port")"
        return 0
    fi
    # Ports: stored ones win (same endpoint across restarts), then flags, then free ones.
    if [[ -f "$DIR/port" ]]; then
        local stored; stored="$(cat "$DIR/port")"
        [[ -z "$PORT" || "$PORT" == "$stored" ]] \
            || die "$DIR was created with port $stored, not $PORT"
        PORT="$stored"
        CPORT="$(cat "$DIR/controller-port")"
    fi
    [[ -n "$PORT" ]] || PORT="$(free_port)"
    if [[ -z "$CPORT" ]]; then
        CPORT="$(free_port)"
        while [[ "$CPORT" == "$PORT" ]]; do CPORT="$(free_port)"; done
    fi
    tcp_open 127.0.0.1 "$PORT" && die "port $PORT is already in use"
    tcp_open 127.0.0.1 "$CPORT" && die "controller port $CPORT is already in use"
    echo "$PORT" >"$DIR/port"
    echo "$CPORT" >"$DIR/controller-port"
    write_config

    # Format the storage once; meta.properties marks a formatted log dir.
    if [[ ! -f "$DIR/data/meta.properties" ]]; then
        local cluster_id
        cluster_id="$(java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid)"
        java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
            -t "$cluster_id" -c "$DIR/server.properties" >"$DIR/logs/format.log" 2>&1 \
            || die "formatting storage failed; see $DIR/logs/format.log"
    fi

    local started=$EPOCHREALTIME
    launch_jvm "$DIR" "${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
    pid="$(cat "$DIR/kafka.pid")"

    local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
    # Cheap TCP polling first, then a metadata request to be sure the broker is serving.
    until tcp_open 127.0.0.1 "$PORT" && broker_answers "$PORT"; do
        pid_alive "$pid" || die "Kafka exited during start-up; see $DIR/logs/kafka.out and server.log"
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            die "Kafka did not answer on 127.0.0.1:$PORT within ${KAFKA_START_TIMEOUT:-90}s"
        fi
        sleep 0.1
    done
    info "Kafka $KAFKA_VERSION up on 127.0.0.1:$PORT (pid $pid, $(elapsed_since "$started")s)"
    echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$PORT"
}

cmd_stop() {
    parse_dir_args "$@"
    if [[ -n "$CLUSTER" && -z "$NODE" ]]; then
        cluster_stop
        return
    fi
    local pid
    if pid="$(read_pid "$DIR/kafka.pid")"; then
        info "stopping Kafka (pid $pid)"
        stop_pid "$pid" 30 Kafka
    fi
    rm -f "$DIR/kafka.pid"
}

cmd_kill() {
    parse_dir_args "$@"
    if [[ -n "$CLUSTER" && -z "$NODE" ]]; then
        local i
        for ((i = 1; i <= $(cat "$CLUSTER/brokers"); i++)); do
            cmd_kill --dir "$CLUSTER" --node "$i"
        done
        return
    fi
    local pid
    if pid="$(read_pid "$DIR/kafka.pid")"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 10 || die "Kafka (pid $pid) survived SIGKILL"
        info "killed Kafka (pid $pid)"
    fi
    rm -f "$DIR/kafka.pid"
}

cmd_status() {
    parse_dir_args "$@"
    if [[ -n "$CLUSTER" ]]; then
        cluster_status
        return
    fi
    local pid
    if pid="$(read_pid "$DIR/kafka.pid")"; then
        echo "kafka: running (pid $pid) KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(cat "$DIR/port")"
        return 0
    fi
    echo "kafka: stopped"
    return 3
}

# ---- a cluster of N brokers on this host --------------------------------------------------

# The bootstrap list of CLUSTER: 127.0.0.1:p1,127.0.0.1:p2,...
cluster_bootstrap() {
    local i list=''
    for ((i = 1; i <= $(cat "$CLUSTER/brokers"); i++)); do
        list+="${list:+,}127.0.0.1:$(cat "$CLUSTER/node$i/port")"
    done
    printf '%s\n' "$list"
}

# node_answers PORT ID [WANT] — true when the node on PORT answers metadata and lists WANT
# brokers (or, without WANT, at least itself).
node_answers() {
    local port="$1" id="$2" want="${3:-}" meta
    meta="$(kcat -b "127.0.0.1:$port" -L -t __tributary_probe -m 5 2>/dev/null)" || return 1
    if [[ -n "$want" ]]; then
        grep -q " $want brokers:" <<<"$meta"
    else
        grep -q "broker $id at " <<<"$meta"
    fi
}

write_cluster_config() {
    local i="$1" n dir rf isr voters='' j port cport
    n="$(cat "$CLUSTER/brokers")"
    dir="$CLUSTER/node$i"
    for ((j = 1; j <= n; j++)); do
        voters+="${voters:+,}$j@127.0.0.1:$(cat "$CLUSTER/node$j/controller-port")"
    done
    rf=$((n < 3 ? n : 3))
    isr=$((n < 3 ? 1 : 2))
    port="$(cat "$dir/port")"
    cport="$(cat "$dir/controller-port")"
    cat >"$dir/server.properties" <<EOF
# Written by infra/kafka.sh — node $i of a $n-node KRaft cluster (broker+controller).
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=6
default.replication.factor=$rf
min.insync.replicas=$isr
auto.create.topics.enable=false
unclean.leader.election.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
group.initial.rebalance.delay.ms=0
# A SIGKILLed node is fenced (and its partitions get new leaders) when its session expires;
# the default 9 s would stall writes to the partitions it led for that long.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
num.network.threads=2
num.io.threads=2
log.retention.hours=168
log.segment.bytes=134217728
EOF
    write_log4j "$dir"
}

# cluster_start_nodes all | I... — starts the given nodes of CLUSTER that are not running, in
# parallel, and waits until each answers ("all": until every node sees every broker).
cluster_start_nodes() {
    local want='' ids=() i pid
    if [[ "$1" == all ]]; then
        want="$(cat "$CLUSTER/brokers")"
        for ((i = 1; i <= want; i++)); do ids+=("$i"); done
    else
        ids=("$@")
    fi
    cmd_fetch
    local started=$EPOCHREALTIME
    # meta.properties marks a formatted log dir; the nodes are independent, so format them in
    # parallel (a JVM each).
    local formats=() f
    for i in "${ids[@]}"; do
        if [[ ! -f "$CLUSTER/node$i/data/meta.properties" ]]; then
            java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
                -t "$(cat "$CLUSTER/cluster-id")" -c "$CLUSTER/node$i/server.properties" \
                >"$CLUSTER/node$i/logs/format.log" 2>&1 &
            formats+=("$!:$i")
        fi
    done
    for f in "${formats[@]}"; do
        wait "${f%%:*}" || die "formatting node ${f##*:} failed; see $CLUSTER/node${f##*:}/logs/format.log"
    done
    local pids=() port
    for i in "${ids[@]}"; do
        if pid="$(read_pid "$CLUSTER/node$i/kafka.pid")"; then
            pids+=("$pid")
            continue
        fi
        for port in "$(cat "$CLUSTER/node$i/port")" "$(cat "$CLUSTER/node$i/controller-port")"; do
            if tcp_open 127.0.0.1 "$port"; then die "node $i: port $port is already in use"; fi
        done
        launch_jvm "$CLUSTER/node$i" "${KAFKA_HEAP_OPTS:--Xmx384m -Xms128m}"
        pids+=("$(cat "$CLUSTER/node$i/kafka.pid")")
    done
    local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-120})) k
    for k in "${!ids[@]}"; do
        i="${ids[$k]}"
        port="$(cat "$CLUSTER/node$i/port")"
        until tcp_open 127.0.0.1 "$port" && node_answers "$port" "$i" "$want"; do
            pid_alive "${pids[$k]}" \
                || die "node $i exited during start-up; see $CLUSTER/node$i/logs/kafka.out and server.log"
            ((SECONDS < deadline)) \
                || die "node $i did not answer on 127.0.0.1:$port within ${KAFKA_START_TIMEOUT:-120}s"
            sleep 0.2
        done
    done
    info "Kafka $KAFKA_VERSION node(s) ${ids[*]} up ($(elapsed_since "$started")s)"
    echo "KAFKA_BOOTSTRAP_SERVERS=$(cluster_bootstrap)"
}

cmd_cluster_start() {
    local dir='' n='' i f p used=' '
    while (($#)); do
        case "$1" in
            --dir) dir="$2"; shift 2 ;;
            --brokers) n="$2"; shift 2 ;;
            *) die "unknown argument: $1" ;;
        esac
    done
    [[ -n "$dir" ]] || die "--dir DIR is required"
    CLUSTER="$(abs_path "$dir")"
    if [[ -f "$CLUSTER/brokers" ]]; then
        [[ -z "$n" || "$n" == "$(cat "$CLUSTER/brokers")" ]] \
            || die "$CLUSTER was created with $(cat "$CLUSTER/brokers") brokers, not $n"
    else
        n="${n:-3}"
        [[ "$n" =~ ^[1-9]$ ]] || die "--brokers must be 1..9"
        [[ ! -e "$CLUSTER/port" ]] || die "$CLUSTER holds a single-node broker"
        cmd_fetch
        for ((i = 1; i <= n; i++)); do
            mkdir -p "$CLUSTER/node$i/logs"
            for f in port controller-port; do
                p="$(free_port)"
                while [[ "$used" == *" $p "* ]]; do p="$(free_port)"; done
                used+="$p "
                echo "$p" >"$CLUSTER/node$i/$f"
            done
        done
        java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid \
            >"$CLUSTER/cluster-id"
        # Written last: it marks a complete cluster folder.
        echo "$n" >"$CLUSTER/brokers"
    fi
    for ((i = 1; i <= $(cat "$CLUSTER/brokers"); i++)); do
        mkdir -p "$CLUSTER/node$i/logs"
        write_cluster_config "$i"
    done
    cluster_start_nodes all
}

cluster_stop() {
    local i pid pids=()
    # SIGTERM to all first: a node waiting for a controller majority that has already gone
    # would otherwise sit out its whole shutdown timeout.
    for ((i = 1; i <= $(cat "$CLUSTER/brokers"); i++)); do
        if pid="$(read_pid "$CLUSTER/node$i/kafka.pid")"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    info "stopping ${#pids[@]} Kafka node(s)"
    for pid in "${pids[@]}"; do stop_pid "$pid" 30 Kafka; done
    rm -f "$CLUSTER"/node*/kafka.pid
}

cluster_status() {
    local i ids=() rc=0 pid
    if [[ -n "$NODE" ]]; then
        ids=("$NODE")
    else
        for ((i = 1; i <= $(cat "$CLUSTER/brokers"); i++)); do ids+=("$i"); done
    fi
    for i in "${ids[@]}"; do
        if pid="$(read_pid "$CLUSTER/node$i/kafka.pid")"; then
            echo "kafka node $i: running (pid $pid) 127.0.0.1:$(cat "$CLUSTER/node$i/port")"
        else
            echo "kafka node $i: stopped"
            rc=3
        fi
    done
    echo "KAFKA_BOOTSTRAP_SERVERS=$(cluster_bootstrap)"
    return "$rc"
}

cmd_cluster_stop() {
    parse_dir_args "$@"
    [[ -n "$CLUSTER" ]] || die "$DIR is not a cluster (no $DIR/brokers)"
    cluster_stop
}

cmd_topics() {
    local bootstrap="${KAFKA_BOOTSTRAP_SERVERS:-}" partitions=6 rf=1
    while (($#)); do
        case "$1" in
            --bootstrap) bootstrap="$2"; shift 2 ;;
            --partitions) partitions="$2"; shift 2 ;;
            --replication-factor) rf="$2"; shift 2 ;;
            *) die "unknown argument: $1" ;;
        esac
    done
    [[ -n "$bootstrap" ]] || die "--bootstrap B (or KAFKA_BOOTSTRAP_SERVERS) is required"
    cmd_fetch
    # Ask once which topics exist, so the common case starts no JVM at all.
    local existing
    existing="$(kcat -b "$bootstrap" -L -m 10 2>/dev/null)" \
        || die "cannot read metadata from $bootstrap"
    local t
    for t in "${TOPICS[@]}"; do
        if grep -q "topic \"$t\" with" <<<"$existing"; then
            continue
        fi
        info "creating topic $t (partitions=$partitions, replication=$rf)"
        java "${TOOL_JVM_OPTS[@]}" -cp "$LIBS/*" org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$t" \
            --partitions "$partitions" --replication-factor "$rf" >/dev/null
    done
}

(($#)) || usage
sub="$1"; shift
case "$sub" in
    fetch) cmd_fetch "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    kill) cmd_kill "$@" ;;
    status) cmd_status "$@" ;;
    topics) cmd_topics "$@" ;;
    cluster-start) cmd_cluster_start "$@" ;;
    cluster-stop) cmd_cluster_stop "$@" ;;
    -h | --help | help) usage ;;
    *) die "unknown subcommand: $sub (fetch|start|stop|kill|status|topics|cluster-start|cluster-stop)" ;;
esac
