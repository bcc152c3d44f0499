#!/usr/bin/env bash
# The Loopline local stack without Docker: Apache Kafka (KRaft, jars from Maven Central, run with
# the JDK), Redis and ClickHouse (Debian packages), each as our own process with our own config,
# everything under $LOOPLINE_HOME. See infra/local/README.md.
#
#   stack.sh up     [kafka|redis|clickhouse]   install what is missing, start, wait until ready
#   stack.sh down   [--purge] [component]      stop what we started (--purge also deletes data)
#   stack.sh purge  [component]                same as down --purge
#   stack.sh status [component]                one line per component
#   stack.sh logs   [-f] [component]           tail the server logs (-f follows)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source=../../scripts/lib.sh
. "$REPO_DIR/scripts/lib.sh" # now, since, as_root, alive

# Blank counts as unset, like the services' config modules.
env_or() { local v="${!1:-}"; if [[ -n "$v" ]]; then printf '%s' "$v"; else printf '%s' "$2"; fi; }

LOOPLINE_HOME="$(env_or LOOPLINE_HOME "$REPO_DIR/.loopline")"
KAFKA_VERSION="$(env_or LOOPLINE_KAFKA_VERSION 4.3.1)"
KAFKA_PORT="$(env_or LOOPLINE_KAFKA_PORT 9092)"
KAFKA_CONTROLLER_PORT="$(env_or LOOPLINE_KAFKA_CONTROLLER_PORT 9093)"
REDIS_PORT="$(env_or LOOPLINE_REDIS_PORT 6379)"
CH_HTTP_PORT="$(env_or LOOPLINE_CLICKHOUSE_HTTP_PORT 8123)"
CH_TCP_PORT="$(env_or LOOPLINE_CLICKHOUSE_TCP_PORT 9000)"
KAFKA_HEAP="$(env_or LOOPLINE_KAFKA_HEAP 1g)"
READY_TIMEOUT="$(env_or LOOPLINE_STACK_TIMEOUT 120)"
HOST=127.0.0.1

COMPONENTS=(kafka redis clickhouse)
KAFKA_DIR="$LOOPLINE_HOME/kafka"
REDIS_DIR="$LOOPLINE_HOME/redis"
CH_DIR="$LOOPLINE_HOME/clickhouse"
KAFKA_LIBS="$LOOPLINE_HOME/cache/kafka-$KAFKA_VERSION/libs"

say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

for port_var in KAFKA_PORT KAFKA_CONTROLLER_PORT REDIS_PORT CH_HTTP_PORT CH_TCP_PORT READY_TIMEOUT; do
  [[ "${!port_var}" =~ ^[0-9]+$ ]] || die "$port_var must be a number, got '${!port_var}'"
done

# ---------------------------------------------------------------------------------------------
# Installing

is_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }

# Debian's postinst scripts start their packaged services (Redis on 6379, ClickHouse on
# 8123/9000) on exactly our ports. A policy-rc.d that answers 101 tells invoke-rc.d not to,
# so we add one for the duration of the install when the machine has none.
apt_install() {
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added_policy=1
  fi
  local rc=0
  {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
  } || rc=$?
  if [[ $added_policy -eq 1 ]]; then as_root rm -f "$policy"; fi
  [[ $rc -eq 0 ]] || die "apt-get install $* failed (exit $rc)"
}

ensure_packages() {
  local want=() missing=() p
  for c in "$@"; do
    case $c in
      kafka) want+=(kcat); command -v java >/dev/null || want+=(openjdk-17-jre-headless)
             command -v mvn >/dev/null || want+=(maven) ;;
      redis) want+=(redis-server redis-tools) ;;
      clickhouse) want+=(clickhouse-server clickhouse-client curl) ;;
    esac
  done
  for p in "${want[@]}"; do is_installed "$p" || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local t; t=$(now)
  say "installing ${missing[*]} from Debian (first run only)..."
  apt_install "${missing[@]}"
  say "installed in $(since "$t")"
}

ensure_kafka_jars() {
  [[ -f "$KAFKA_LIBS/.complete" ]] && return 0
  local t logging=() tmp; t=$(now)
  say "installing kafka $KAFKA_VERSION jars from Maven Central (first run only)..."
  [[ $KAFKA_VERSION == 3.* ]] && logging=(-Dlogging=reload4j)
  tmp="$KAFKA_LIBS.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if ! mvn -q -B -f "$SCRIPT_DIR/kafka/pom.xml" "-Dkafka.version=$KAFKA_VERSION" "${logging[@]}" \
      dependency:copy-dependencies -DincludeScope=runtime "-DoutputDirectory=$tmp" >"$tmp.mvn.log" 2>&1; then
    tail -n 30 "$tmp.mvn.log" >&2
    die "could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (full maven output: $tmp.mvn.log)"
  fi
  rm -rf "$KAFKA_LIBS" && mv "$tmp" "$KAFKA_LIBS" && rm -f "$tmp.mvn.log"
  touch "$KAFKA_LIBS/.complete"
  say "kafka jars ready in $(since "$t") ($KAFKA_LIBS)"
}

# ---------------------------------------------------------------------------------------------
# Processes and ports

pid_file() {
  case $1 in
    kafka) echo "$KAFKA_DIR/kafka.pid" ;;
    redis) echo "$REDIS_DIR/redis.pid" ;;
    clickhouse) echo "$CH_DIR/clickhouse.pid" ;;
  esac
}

log_file() {
  case $1 in
    kafka) echo "$KAFKA_DIR/logs/server.log" ;;
    redis) echo "$REDIS_DIR/logs/redis.log" ;;
    clickhouse) echo "$CH_DIR/logs/clickhouse-server.log" ;;
  esac
}

# Extra log whose tail helps when a server dies before its own logging is up.
stdout_file() {
  case $1 in
    kafka) echo "$KAFKA_DIR/logs/stdout.log" ;;
    redis) echo "" ;;
    clickhouse) echo "$CH_DIR/logs/stdout.log" ;;
  esac
}

ports_of() {
  case $1 in
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    clickhouse) echo "$CH_HTTP_PORT $CH_TCP_PORT" ;;
  esac
}

# A process is ours when it was started from $LOOPLINE_HOME: Kafka and ClickHouse name their
# config there on the command line; Redis rewrites its title but daemonizes into its dir there.
is_ours() {
  local pid=$1 cmd cwd
  alive "$pid" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  [[ $cmd == *"$LOOPLINE_HOME/"* || $cwd == "$LOOPLINE_HOME/"* ]]
}

# Pid of the process listening on 127.0.0.1:PORT (or any address), empty when none is visible.
port_holder() {
  local port=$1
  if command -v ss >/dev/null; then
    local out
    out=$(ss -Hltnp "( sport = :$port )" 2>/dev/null || true)
    [[ $out =~ pid=([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
  fi
  return 0
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Our pid for a component: from its pid file when that process is alive and ours, else from
# whoever holds its port when that is ours (pid file lost). Clears stale pid files.
running_pid() {
  local c=$1 f pid port
  f=$(pid_file "$c")
  if [[ -f $f ]]; then
    pid=$(tr -dc '0-9' <"$f" || true)
    if is_ours "$pid"; then echo "$pid"; return 0; fi
    rm -f "$f" "$f.ports"
  fi
  for port in $(ports_of "$c"); do
    pid=$(port_holder "$port")
    if [[ -n $pid ]] && is_ours "$pid"; then echo "$pid" >"$f"; echo "$pid"; return 0; fi
  done
  return 1
}

# The $LOOPLINE_HOME of another Loopline stack on this machine that runs component C as PID
# (a second clone of the repo, like CI's fresh checkout beside a developer's stack), else empty.
other_stack_of() {
  local c=$1 pid=$2 cmd cwd home=""
  cmd=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null || true)
  case $c in
    kafka) home=$(sed -n 's/^-Dloopline.home=//p' <<<"$cmd") ;;
    clickhouse) home=$(sed -n 's#^--config-file=\(.*\)/clickhouse/config/config.xml$#\1#p' <<<"$cmd") ;;
    redis)
      cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
      [[ $cwd == */redis/data ]] && home=${cwd%/redis/data} ;;
  esac
  [[ -n $home && $home != "$LOOPLINE_HOME" && -e $home/.stack.lock ]] && echo "$home"
  return 0
}

# "HOME PID" when component C's port is served by another Loopline stack.
shared_stack() {
  local c=$1 port pid home
  port=$(ports_of "$c"); port=${port%% *}
  pid=$(port_holder "$port")
  [[ -n $pid ]] || return 1
  home=$(other_stack_of "$c" "$pid")
  [[ -n $home ]] || return 1
  echo "$home $pid"
}

# Debian's own service for a package, when it holds a port: the packaged binary running as the
# package's system user (both the systemd unit and the init.d script switch to it).
debian_service_of() {
  local pid=$1 exe uid
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
  case $exe in
    /usr/bin/redis-server | /usr/bin/redis-check-rdb)
      [[ -n $uid && $uid == "$(id -u redis 2>/dev/null)" ]] && echo redis-server ;;
    /usr/sbin/clickhouse-server | /usr/bin/clickhouse)
      [[ -n $uid && $uid == "$(id -u clickhouse 2>/dev/null)" ]] && echo clickhouse-server ;;
  esac
  return 0
}

stop_debian_service() {
  local svc=$1 pid=$2
  say "stopping Debian's $svc service (pid $pid): it holds a port the local stack needs"
  if [[ -d /run/systemd/system ]]; then
    as_root systemctl stop "$svc" 2>/dev/null || true
    as_root systemctl disable "$svc" 2>/dev/null || true
  elif [[ -x /etc/init.d/$svc ]]; then
    as_root "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  fi
  if alive "$pid"; then terminate "$pid" 15; fi
}

# Refuse to start on a port held by someone else; step Debian's packaged service aside.
check_ports_free() {
  local c=$1 port pid svc
  for port in $(ports_of "$c"); do
    pid=$(port_holder "$port")
    if [[ -n $pid ]]; then
      svc=$(debian_service_of "$pid")
      if [[ -n $svc && ( ($c == redis && $svc == redis-server) || ($c == clickhouse && $svc == clickhouse-server) ) ]]; then
        stop_debian_service "$svc" "$pid"
        continue
      fi
      local who; who=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120 || true)
      die "port $port (for $c) is already in use by pid $pid ($who). Stop it, or pick another port with the LOOPLINE_*_PORT variables."
    elif port_open "$port"; then
      die "port $port (for $c) is already in use by a process this user cannot see. Stop it, or pick another port with the LOOPLINE_*_PORT variables."
    fi
  done
}

# TERM, wait up to GRACE seconds, then KILL.
terminate() {
  local pid=$1 grace=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  say "pid $pid did not stop within ${grace}s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do alive "$pid" || return 0; sleep 0.1; done
}

# ---------------------------------------------------------------------------------------------
# Readiness

ready() {
  case $1 in
    kafka) port_open "$KAFKA_PORT" && [[ "$(kcat -L -b "$HOST:$KAFKA_PORT" -m 5 2>/dev/null || true)" == *" 1 brokers:"* ]] ;;
    redis) [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] ;;
    clickhouse) [[ "$(curl -s --max-time 2 "http://$HOST:$CH_HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]] &&
      [[ "$(clickhouse-client --host "$HOST" --port "$CH_TCP_PORT" -q 'SELECT 1' 2>/dev/null)" == 1 ]] ;;
  esac
}

# Byte size of a file (0 when absent): where this start's part of a log begins.
size_of() { if [[ -f $1 ]]; then stat -c %s "$1"; else echo 0; fi; }

declare -A LOG_START=()
mark_logs() {
  local f
  for f in "$(log_file "$1")" "$(stdout_file "$1")"; do [[ -n $f ]] && LOG_START[$f]=$(size_of "$f"); done
  return 0
}

# Prints what this start wrote to a log (the last 30 lines of it), or says it wrote nothing.
tail_since_start() {
  local f=$1 from=0
  [[ -n $f && -f $f ]] || return 0
  from=${LOG_START[$f]:-0}
  (($(size_of "$f") < from)) && from=0 # rotated meanwhile
  if (($(size_of "$f") > from)); then
    say "--- last 30 lines of $f ---"
    tail -c +$((from + 1)) "$f" | tail -n 30
  fi
  return 0
}

show_failure() {
  local c=$1 why=$2 tails
  tails="$(tail_since_start "$(log_file "$c")")$(tail_since_start "$(stdout_file "$c")")"
  {
    say "stack: $c $why"
    if [[ -n $tails ]]; then say "$tails"; else say "(it wrote nothing to its logs since this start)"; fi
    say "--- $c log: $(log_file "$c")"
  } >&2
}

# Waits until the component answers; fails fast when its process dies.
await_ready() {
  local c=$1 started=$2 deadline pid
  deadline=$((SECONDS + READY_TIMEOUT))
  while ! ready "$c"; do
    if ! pid=$(running_pid "$c"); then
      show_failure "$c" "exited during startup"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      show_failure "$c" "did not become ready within ${READY_TIMEOUT}s (pid $pid is still running; 'stack.sh down $c' stops it)"
      exit 1
    fi
    sleep 0.2
  done
  say "$c ready in $(since "$started")"
}

# ---------------------------------------------------------------------------------------------
# Kafka

write_kafka_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by infra/local/stack.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
# One node: every internal topic has a single replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests create many short-lived groups: do not wait 3s for more members to join.
group.initial.rebalance.delay.ms=0
# After a kill -9 the restarted broker cannot register until its old session expires (9s by
# default); a shorter session makes a restart after a crash quicker.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=5000
# Two cores: keep the thread pools small.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=134217728
EOF
}

# What `kafka.tools.StorageTool random-uuid` prints (16 random bytes, URL-safe base64 without
# padding, never starting with '-'), without paying for a JVM start.
kafka_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break
  done
  printf '%s' "$id"
}

start_kafka() {
  write_kafka_config
  local logopt java=java
  [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java="$JAVA_HOME/bin/java"
  if [[ $KAFKA_VERSION == 3.* ]]; then
    logopt="-Dlog4j.configuration=file:$SCRIPT_DIR/kafka/log4j.properties"
  else
    logopt="-Dlog4j2.configurationFile=$SCRIPT_DIR/kafka/log4j2.xml"
  fi
  # The heap starts at its full size, as Kafka's own kafka-server-start.sh sets it. Started at 256 MB,
  # the broker's live set (~180 MB) sat above the 35 % that starts G1's concurrent marking: 308
  # marking cycles in two features-bench runs, 5 s of CPU in one, against 4 cycles at 1 GB.
  local jvm=("-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dkafka.logs.dir=$KAFKA_DIR/logs" "-Dloopline.home=$LOOPLINE_HOME" "$logopt" -cp "$KAFKA_LIBS/*")

  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    local id
    if [[ -s "$KAFKA_DIR/cluster.id" ]]; then
      id=$(<"$KAFKA_DIR/cluster.id")
    else
      id=$(kafka_cluster_id)
      echo "$id" >"$KAFKA_DIR/cluster.id"
    fi
    say "formatting kafka storage (cluster id $id)"
    "$java" "${jvm[@]}" kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/logs/format.log" 2>&1 || { cat "$KAFKA_DIR/logs/format.log" >&2; die "kafka storage format failed"; }
  fi

  # setsid: the broker must not get the terminal's (or make's) SIGINT/SIGHUP.
  setsid nohup "$java" "${jvm[@]}" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >>"$KAFKA_DIR/logs/stdout.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pid_file kafka)"
}

# ---------------------------------------------------------------------------------------------
# Redis

start_redis() {
  mkdir -p "$REDIS_DIR/data" "$REDIS_DIR/logs"
  cat >"$REDIS_DIR/redis.conf" <<EOF
# Generated by infra/local/stack.sh; edits are overwritten on the next start.
bind $HOST
port $REDIS_PORT
protected-mode no
daemonize yes
pidfile $(pid_file redis)
logfile $REDIS_DIR/logs/redis.log
dir $REDIS_DIR/data
# Append-only file: a restart (or a killed process) keeps the data. No RDB snapshots besides it,
# and AOF rewrites only past 1 GB: each snapshot or rewrite forks Redis and rewrites the dataset,
# and on a 2-core machine every fork stalled the feature pipeline for up to a second (the default
# 64 MB threshold meant a rewrite every few seconds while feature-ingest checkpoints).
appendonly yes
appendfsync everysec
save ""
auto-aof-rewrite-min-size 1gb
EOF
  rm -f "$(pid_file redis)"
  redis-server "$REDIS_DIR/redis.conf" >/dev/null 2>&1 </dev/null 9>&- ||
    { show_failure redis "failed to start"; exit 1; }
  local i
  for ((i = 0; i < 50; i++)); do [[ -s "$(pid_file redis)" ]] && return 0; sleep 0.1; done
}

# ---------------------------------------------------------------------------------------------
# ClickHouse

write_clickhouse_config() {
  mkdir -p "$CH_DIR/data/tmp" "$CH_DIR/data/user_files" "$CH_DIR/data/format_schemas" "$CH_DIR/logs" "$CH_DIR/config"
  cat >"$CH_DIR/config/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by infra/local/stack.sh; edits are overwritten on the next start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$CH_DIR/logs/clickhouse-server.log</log>
        <errorlog>$CH_DIR/logs/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>$HOST</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <mark_cache_size>1073741824</mark_cache_size>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/data/tmp/</tmp_path>
    <user_files_path>$CH_DIR/data/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/data/format_schemas/</format_schema_path>
    <users_config>$CH_DIR/config/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
</yandex>
EOF
  cat >"$CH_DIR/config/users.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by infra/local/stack.sh: one user, 'default', no password, loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

# Debian installs it in /usr/sbin, which a non-root PATH often lacks.
clickhouse_server_bin() {
  if [[ -x /usr/sbin/clickhouse-server ]]; then echo /usr/sbin/clickhouse-server; else command -v clickhouse-server; fi
}

start_clickhouse() {
  write_clickhouse_config
  # Relative paths in its config resolve against the working directory; cd in the background
  # command itself so that $! is the server and not a subshell.
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'cd "$1" && shift && exec nohup "$@"' _ "$CH_DIR" \
    "$(clickhouse_server_bin)" --config-file="$CH_DIR/config/config.xml" \
    >>"$CH_DIR/logs/stdout.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pid_file clickhouse)"
}

# ---------------------------------------------------------------------------------------------
# Verbs

connect_hint() {
  case $1 in
    kafka) say "  kafka       kcat -L -b $HOST:$KAFKA_PORT          (bootstrap $HOST:$KAFKA_PORT, controller $KAFKA_CONTROLLER_PORT)" ;;
    redis) say "  redis       redis-cli -h $HOST -p $REDIS_PORT         (redis://$HOST:$REDIS_PORT)" ;;
    clickhouse) say "  clickhouse  clickhouse-client --host $HOST --port $CH_TCP_PORT   (http://$HOST:$CH_HTTP_PORT)" ;;
  esac
}

cmd_up() {
  local t0 c pid other started=() starts=()
  t0=$(now)
  mkdir -p "$LOOPLINE_HOME"
  ensure_packages "$@"
  # Kafka first: it is the slowest to come up, and the others start while it does.
  for c in "$@"; do
    if pid=$(running_pid "$c"); then
      local had
      had=$(cat "$(pid_file "$c").ports" 2>/dev/null || true)
      [[ -z $had || $had == "$(ports_of "$c")" ]] ||
        die "$c is already running (pid $pid) on port(s) $had, not $(ports_of "$c"): run 'stack.sh down $c' first"
      if ready "$c"; then say "$c already running (pid $pid)"; continue; fi
      # Ours but not answering yet (another `up` is starting it): just wait below.
      started+=("$c"); starts+=("$(now)"); continue
    fi
    # Same servers, same settings: use them rather than fail on their ports.
    if other=$(shared_stack "$c") && ready "$c"; then
      say "$c is served by the Loopline stack in ${other% *} (pid ${other#* }): using it"
      continue
    fi
    check_ports_free "$c"
    [[ $c == kafka ]] && ensure_kafka_jars
    say "starting $c..."
    mark_logs "$c"
    starts+=("$(now)")
    "start_$c"
    ports_of "$c" >"$(pid_file "$c").ports"
    started+=("$c")
  done
  # Await in reverse start order so each "ready in" is close to that server's own start time.
  local i
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do await_ready "${started[$i]}" "${starts[$i]}"; done
  say "stack up in $(since "$t0") (data and logs in $LOOPLINE_HOME). Connect with:"
  for c in "$@"; do connect_hint "$c"; done
}

cmd_down() {
  local purge=$1; shift
  local c pid grace other stopping=() pids=()
  for c in "$@"; do
    if pid=$(running_pid "$c"); then
      say "stopping $c (pid $pid)..."
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$c"); pids+=("$pid")
    elif other=$(shared_stack "$c"); then
      say "$c belongs to the stack in ${other% *}: left running"
    fi
  done
  local i
  for i in "${!stopping[@]}"; do
    c=${stopping[$i]}
    case $c in kafka) grace=30 ;; clickhouse) grace=20 ;; *) grace=10 ;; esac
    terminate "${pids[$i]}" "$grace"
    rm -f "$(pid_file "$c")" "$(pid_file "$c").ports"
    say "$c stopped"
  done
  [[ ${#stopping[@]} -eq 0 ]] && say "nothing to stop"
  if [[ $purge == 1 ]]; then
    for c in "$@"; do
      case $c in kafka) rm -rf "$KAFKA_DIR" ;; redis) rm -rf "$REDIS_DIR" ;; clickhouse) rm -rf "$CH_DIR" ;; esac
      say "$c data deleted"
    done
  fi
  return 0
}

cmd_status() {
  local c pid state other
  for c in "$@"; do
    if pid=$(running_pid "$c"); then
      if ready "$c"; then state=running; else state="running (not answering)"; fi
      printf '%-11s %-24s pid %-8s %s:%s\n' "$c" "$state" "$pid" "$HOST" "$(ports_of "$c" | tr ' ' ',')"
    elif other=$(shared_stack "$c"); then
      printf '%-11s %-24s pid %-8s %s:%s (the stack in %s)\n' "$c" "running (not ours)" "${other#* }" "$HOST" \
        "$(ports_of "$c" | tr ' ' ',')" "${other% *}"
    else
      printf '%-11s %-24s %-12s %s:%s\n' "$c" stopped "" "$HOST" "$(ports_of "$c" | tr ' ' ',')"
    fi
  done
}

cmd_logs() {
  local follow=$1; shift
  local files=() c
  for c in "$@"; do [[ -f $(log_file "$c") ]] && files+=("$(log_file "$c")"); done
  [[ ${#files[@]} -gt 0 ]] || die "no logs yet under $LOOPLINE_HOME"
  if [[ $follow == 1 ]]; then exec tail -n 20 -F "${files[@]}"; fi
  tail -n 50 "${files[@]}"
}

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

# Serialise concurrent invocations (parallel test runners all calling `up`). The servers we
# start must not inherit fd 9, or they would hold the lock for their whole life.
lock() {
  mkdir -p "$LOOPLINE_HOME"
  exec 9>"$LOOPLINE_HOME/.stack.lock"
  flock 9
}

main() {
  local verb=${1:-}; [[ $# -gt 0 ]] && shift
  local purge=0 follow=0 selected=() a
  for a in "$@"; do
    case $a in
      --purge) purge=1 ;;
      -f|--follow) follow=1 ;;
      kafka|redis|clickhouse) selected+=("$a") ;;
      -h|--help) usage ;;
      *) say "unknown argument: $a" >&2; usage 2 ;;
    esac
  done
  [[ ${#selected[@]} -gt 0 ]] || selected=("${COMPONENTS[@]}")
  case $verb in
    up) lock; cmd_up "${selected[@]}" ;;
    down) lock; cmd_down "$purge" "${selected[@]}" ;;
    purge) lock; cmd_down 1 "${selected[@]}" ;;
    status) cmd_status "${selected[@]}" ;;
    logs) cmd_logs "$follow" "${selected[@]}" ;;
    -h|--help|help) usage ;;
    *) say "unknown command: ${verb:-(none)}" >&2; usage 2 ;;
  esac
}

main "$@"
