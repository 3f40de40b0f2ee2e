#!/usr/bin/env bash
# Starts or stops the RabbitMQ broker the STOMP and MQTT interop tests use: Debian's rabbitmq-server with its
# rabbitmq_web_stomp (STOMP 1.2 on ws://127.0.0.1:$port_stomp/ws) and rabbitmq_web_mqtt (MQTT 3.1.1 on
# ws://127.0.0.1:$port_mqtt/ws) plugins, bound to loopback, with its data in target/rabbitmq (scripts/test.sh
# starts it once per run and stops it at the end).
#
#   scripts/rabbitmq.sh start   # prints the two URLs as SOCKSCOPE_RABBITMQ_STOMP=… / SOCKSCOPE_RABBITMQ_MQTT=…
#   scripts/rabbitmq.sh stop
#
# Running as root, the server's start script drops to the rabbitmq user, so its folders belong to that user.
set -euo pipefail
cd "$(dirname "$0")/.."

base=$PWD/target/rabbitmq
node=sockscope@localhost
port_amqp=${SOCKSCOPE_RABBITMQ_AMQP_PORT:-35672}
port_stomp=${SOCKSCOPE_RABBITMQ_STOMP_PORT:-35674}
port_mqtt=${SOCKSCOPE_RABBITMQ_MQTT_PORT:-35675}

export RABBITMQ_MNESIA_BASE=$base/mnesia
export RABBITMQ_LOG_BASE=$base/log
export RABBITMQ_FEATURE_FLAGS_FILE=$base/feature_flags
export RABBITMQ_CONFIG_FILE=$base/rabbitmq
export RABBITMQ_ENABLED_PLUGINS_FILE=$base/enabled_plugins
export RABBITMQ_NODENAME=$node
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port_amqp
export RABBITMQ_DIST_PORT=$((port_amqp + 20000))
export ERL_EPMD_ADDRESS=127.0.0.1
export HOME=${HOME:-/root}

server=$(command -v rabbitmq-server || echo /usr/lib/rabbitmq/bin/rabbitmq-server)
ctl=$(command -v rabbitmqctl || echo /usr/lib/rabbitmq/bin/rabbitmqctl)

case "${1:-}" in
start)
    [[ -x $server ]] || { echo "rabbitmq.sh: rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; exit 1; }
    "$0" stop >/dev/null 2>&1 || true
    rm -rf "$base"
    mkdir -p "$base/mnesia" "$base/log"
    cat >"$base/rabbitmq.conf" <<CONF
loopback_users = none
listeners.tcp.default = 127.0.0.1:$port_amqp
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $port_stomp
web_mqtt.tcp.ip = 127.0.0.1
web_mqtt.tcp.port = $port_mqtt
management_agent.disable_metrics_collector = true
CONF
    echo "[rabbitmq_web_stomp,rabbitmq_web_mqtt]." >"$base/enabled_plugins"
    if id rabbitmq >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then chown -R rabbitmq:rabbitmq "$base"; fi
    "$server" >"$base/server.out" 2>&1 &
    # Up when both WebSocket listeners accept (about 15 s).
    for _ in $(seq 1 120); do
        if (exec 3<>/dev/tcp/127.0.0.1/$port_stomp) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$port_mqtt) 2>/dev/null; then
            echo "SOCKSCOPE_RABBITMQ_STOMP=ws://127.0.0.1:$port_stomp/ws"
            echo "SOCKSCOPE_RABBITMQ_MQTT=ws://127.0.0.1:$port_mqtt/ws"
            exit 0
        fi
        sleep 0.5
    done
    echo "rabbitmq.sh: RabbitMQ did not open its WebSocket listeners within 60 s; its output:" >&2
    tail -n 30 "$base/server.out" >&2 || true
    exit 1
    ;;
stop)
    "$ctl" -n "$node" stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: scripts/rabbitmq.sh start|stop" >&2
    exit 2
    ;;
esac
