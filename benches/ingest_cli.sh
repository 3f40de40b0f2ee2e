#!/usr/bin/env bash
# Command-line ingest: 200,000 text messages of 64 bytes, printed to /dev/null by
#   sockscope connect URL            (this project)
#   bare_client URL                  (examples/bare_client.rs: a tokio-tungstenite read loop that prints each one)
#   websocat -n URL                  (if installed: `cargo install websocat`)
# from two senders: `sockscope serve --flood` (writes in large batches) and, when node and the interop peers are
# installed (npm ci --prefix tests/peers), benches/node_flood.js — node `ws` sending one message at a time at its
# own pace, so each socket read brings a few messages: there the cost per read decides.
# hyperfine reports wall time; `user` and `system` are the CPU each spent. Needs hyperfine (apt install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-200000}
SIZE=${SIZE:-64}
cargo build --release --locked --quiet --bin sockscope --example bare_client
BIN=target/release/sockscope
SERVER_OUT=$(mktemp)
"$BIN" serve --flood "$COUNT" --size "$SIZE" >"$SERVER_OUT" 2>/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -f "$SERVER_OUT"' EXIT
for _ in $(seq 50); do [[ -s "$SERVER_OUT" ]] && break; sleep 0.1; done
URL=$(head -1 "$SERVER_OUT")
echo "flood: $COUNT x $SIZE bytes from $URL ($(nproc) cores)"

WEBSOCAT=${WEBSOCAT:-$(command -v websocat || true)}
# Each client must see every message: check once before timing.
for client in "$BIN connect $URL" "target/release/examples/bare_client $URL" ${WEBSOCAT:+"$WEBSOCAT -n $URL"}; do
    got=$($client | wc -l)
    echo "  $client: $got lines"
done

commands=("$BIN connect $URL" "target/release/examples/bare_client $URL")
if [[ -n "$WEBSOCAT" ]]; then
    commands+=("$WEBSOCAT -n $URL")
fi
hyperfine --warmup 2 --runs "${RUNS:-15}" --output=null --export-json target/ingest_cli.json "${commands[@]}"
python3 - <<'PY'
import json
results = json.load(open("target/ingest_cli.json"))["results"]
base = next(r for r in results if "bare_client" in r["command"])
for r in results:
    print("%-40s wall mean %.1f ms (x%.2f of bare), median %.1f ms (x%.2f)  cpu user %.1f + sys %.1f ms" % (
        r["command"].split(" ")[0].split("/")[-1][:40], r["mean"] * 1e3, r["mean"] / base["mean"],
        r["median"] * 1e3, r["median"] / base["median"], r["user"] * 1e3, r["system"] * 1e3))
PY

# hyperfine runs each command's runs back to back, so drift on a shared machine can favour one of them. The same
# two clients, alternating run by run (the first 5 of each dropped as warm-up):
python3 - "$URL" "${INTERLEAVED:-80}" <<'PY'
import os, statistics, subprocess, sys, time
url, runs = sys.argv[1], int(sys.argv[2])
clients = {"sockscope": ["target/release/sockscope", "connect", url],
           "bare_client": ["target/release/examples/bare_client", url]}
times = {name: [] for name in clients}
with open(os.devnull, "w") as null:
    for i in range(runs):
        order = list(clients.items()) if i % 2 == 0 else list(reversed(clients.items()))
        for name, cmd in order:
            started = time.perf_counter()
            subprocess.run(cmd, stdout=null, stderr=null, check=True)
            times[name].append(time.perf_counter() - started)
median = {name: statistics.median(t[5:]) for name, t in times.items()}
for name in clients:
    print("interleaved %-12s median %.1f ms" % (name, median[name] * 1e3))
print("interleaved ratio sockscope / bare_client: %.2f" % (median["sockscope"] / median["bare_client"]))
PY

# An independent sender at its own pace: node `ws`. Wall time is set by the sender; CPU is what counts.
if command -v node >/dev/null && [[ -d tests/peers/node_modules/ws ]]; then
    NODE_OUT=$(mktemp)
    node benches/node_flood.js "$COUNT" "$SIZE" >"$NODE_OUT" &
    NODE=$!
    trap 'kill $SERVER $NODE 2>/dev/null || true; rm -f "$SERVER_OUT" "$NODE_OUT"' EXIT
    for _ in $(seq 50); do [[ -s "$NODE_OUT" ]] && break; sleep 0.1; done
    NODE_URL="ws://127.0.0.1:$(head -1 "$NODE_OUT")/"
    echo "node ws flood: $COUNT x $SIZE bytes from $NODE_URL"
    commands=("$BIN connect $NODE_URL")
    if [[ -n "$WEBSOCAT" ]]; then
        commands+=("$WEBSOCAT -n $NODE_URL")
    fi
    hyperfine --warmup 1 --runs "${RUNS:-15}" --output=null --export-json target/ingest_node.json "${commands[@]}"
    python3 - <<'PY'
import json
for r in json.load(open("target/ingest_node.json"))["results"]:
    print("node ws sender: %-12s wall median %.1f ms  cpu user %.1f + sys %.1f = %.1f ms" % (
        r["command"].split(" ")[0].split("/")[-1], r["median"] * 1e3, r["user"] * 1e3, r["system"] * 1e3,
        (r["user"] + r["system"]) * 1e3))
PY
else
    echo "node ws flood skipped: node or tests/peers/node_modules missing (npm ci --prefix tests/peers)"
fi
