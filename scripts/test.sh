#!/usr/bin/env bash
# The test command README.md gives (and .ci/run calls): installs the independent interop peers, then runs every
# test with `cargo test --locked --all-targets` (arguments are passed on to it).
#
# - Python peers (websockets, aiohttp, uvicorn) go into a virtual environment, target/peers-venv, made with
#   `python3 -m venv`: system pip is never called, so a Debian/Ubuntu Python marked "externally managed"
#   (PEP 668) is fine. On Debian/Ubuntu `python3 -m venv` needs the python3-venv package.
# - The node peer (ws) goes into tests/peers/node_modules with `npm ci`.
# - Both are skipped when already installed from the same requirements / lock file.
# - RabbitMQ (Debian's rabbitmq-server, apt-get) is installed when missing and started once for the run.
#
# Under CI (CI set and not "false") a peer that cannot be installed fails the run. Elsewhere its tests skip, and
# the run ends with one line saying which tests skipped and why (libtest hides what passing tests print, so the
# tests write their skips to $SOCKSCOPE_SKIP_FILE and this script prints them).
set -euo pipefail
cd "$(dirname "$0")/.."

under_ci=false
if [[ -n "${CI:-}" && "${CI,,}" != "false" ]]; then under_ci=true; fi

# An install step that failed: fatal under CI, a warning (and skipped tests) elsewhere.
unavailable() {
    if $under_ci; then
        echo "test.sh: $1 (CI installs every interop peer: failing)" >&2
        exit 1
    fi
    echo "test.sh: warning: $1; the tests that need it will skip" >&2
}

# Runs "$@" quietly; on failure shows its output.
quietly() {
    local log
    log=$(mktemp)
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    cat "$log" >&2
    rm -f "$log"
    return 1
}

mkdir -p target
venv=$PWD/target/peers-venv

# Python peers.
if ! command -v python3 >/dev/null; then
    unavailable "python3 is not installed (the Python interop peers need it)"
else
    want=$({ cat tests/peers/requirements.txt; python3 --version; } | sha256sum | cut -d' ' -f1)
    if [[ -x $venv/bin/python && "$(cat "$venv/.sockscope-stamp" 2>/dev/null)" == "$want" ]]; then
        echo "test.sh: Python interop peers already installed in target/peers-venv"
    else
        echo "test.sh: installing the Python interop peers into target/peers-venv"
        rm -rf "$venv"
        if ! quietly python3 -m venv "$venv"; then
            unavailable "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
        elif ! quietly "$venv/bin/python" -m pip install --disable-pip-version-check \
            -r tests/peers/requirements.txt; then
            unavailable "pip could not install tests/peers/requirements.txt into target/peers-venv"
        else
            echo "$want" >"$venv/.sockscope-stamp"
        fi
    fi
fi
if [[ -x $venv/bin/python ]]; then
    export SOCKSCOPE_PYTHON=$venv/bin/python
fi

# Node peer.
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    unavailable "node/npm is not installed (the node interop peer needs it)"
else
    want=$({ cat tests/peers/package-lock.json; node --version; } | sha256sum | cut -d' ' -f1)
    stamp=tests/peers/node_modules/.sockscope-stamp
    if [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
        echo "test.sh: node interop peer already installed in tests/peers/node_modules"
    else
        echo "test.sh: installing the node interop peer (npm ci --prefix tests/peers)"
        if quietly npm ci --prefix tests/peers --no-audit --no-fund; then
            echo "$want" >"$stamp"
        else
            unavailable "npm ci --prefix tests/peers failed"
        fi
    fi
fi

# RabbitMQ (web-STOMP and web-MQTT) for the STOMP and MQTT interop tests: Debian's rabbitmq-server, installed with
# apt-get when missing (as root, or with sudo that needs no password), started once for the whole run by
# scripts/rabbitmq.sh and stopped when this script ends.
if ! command -v rabbitmq-server >/dev/null && [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    apt=()
    if [[ $(id -u) == 0 ]]; then apt=(apt-get); elif sudo -n true 2>/dev/null; then apt=(sudo -n apt-get); fi
    if [[ ${#apt[@]} -gt 0 ]] && command -v apt-get >/dev/null; then
        echo "test.sh: installing rabbitmq-server (apt-get)"
        quietly env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends rabbitmq-server ||
            { quietly "${apt[@]}" update && quietly env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y \
                --no-install-recommends rabbitmq-server; } ||
            unavailable "apt-get could not install rabbitmq-server"
    else
        unavailable "rabbitmq-server is not installed (apt-get install rabbitmq-server; the STOMP and MQTT broker tests need it)"
    fi
fi
if command -v rabbitmq-server >/dev/null || [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    echo "test.sh: starting RabbitMQ (web-STOMP, web-MQTT) on 127.0.0.1"
    if urls=$(scripts/rabbitmq.sh start); then
        trap 'scripts/rabbitmq.sh stop' EXIT
        for line in $urls; do export "${line?}"; done
    else
        unavailable "RabbitMQ did not start (scripts/rabbitmq.sh start)"
    fi
fi

export SOCKSCOPE_SKIP_FILE=$PWD/target/test-skips.txt
rm -f "$SOCKSCOPE_SKIP_FILE"
status=0
cargo test --locked --all-targets "$@" || status=$?

if [[ -s $SOCKSCOPE_SKIP_FILE ]]; then
    count=$(wc -l <"$SOCKSCOPE_SKIP_FILE")
    reasons=$(cut -d: -f2- "$SOCKSCOPE_SKIP_FILE" | sed 's/^ *//' | sort -u | paste -sd';' - | sed 's/;/; /g')
    echo "SKIPPED $count test(s) ($(cut -d: -f1 "$SOCKSCOPE_SKIP_FILE" | sort | paste -sd' ' -)): $reasons"
fi
exit "$status"
