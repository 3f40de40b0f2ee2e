#!/usr/bin/env bash
# Conformance: runs the Autobahn|Testsuite fuzzing server's client cases 1-10, 12 and 13 (12 and 13: permessage-deflate,
# with the fuzzing server's own offers and answers) against `sockscope connect URL --echo`, and fails when any case's
# behaviour is FAILED or UNIMPLEMENTED.
#
#   scripts/autobahn.sh            # installs autobahntestsuite into a Python 2.7 if missing, builds, runs
#   PYTHON27=/path/to/python2.7 scripts/autobahn.sh
#
# The server listens on 127.0.0.1 only. Reports land in target/autobahn/reports/clients/ (index.html per case).
#
# Exit status: 0 when every case passed; 77 when the suite is unavailable here (no Python 2.7, or, outside CI,
# autobahntestsuite could not be installed); 1 for anything else — a FAILED case, a fuzzing server that never
# starts, a build that fails. No other status leaks out (`sockscope connect` itself exits 3 when it cannot
# connect, which must not read as "unavailable").
set -euo pipefail
trap 'exit 1' ERR
cd "$(dirname "$0")/.."
UNAVAILABLE=77
under_ci=false
if [[ -n "${CI:-}" && "${CI,,}" != "false" ]]; then under_ci=true; fi

find_python27() {
    local p
    for p in ${PYTHON27:-} "$(command -v python2.7 || true)" "$HOME"/.pyenv/versions/2.7*/bin/python2.7; do
        # pyenv's shim exists even when no 2.7 is selected: ask the interpreter itself.
        if [[ -n "$p" && -x "$p" ]] && "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}
PY27=$(find_python27)
if [[ -z "$PY27" ]]; then
    echo "autobahn: no Python 2.7 found (set PYTHON27); the Autobahn suite runs only on Python 2.7" >&2
    exit "$UNAVAILABLE"
fi
if ! "$PY27" -c 'import autobahntestsuite' 2>/dev/null; then
    echo "autobahn: installing autobahntestsuite into $PY27"
    if ! "$PY27" -m pip install --quiet --disable-pip-version-check autobahntestsuite; then
        echo "autobahn: autobahntestsuite could not be installed into $PY27" >&2
        if $under_ci; then exit 1; fi
        exit "$UNAVAILABLE"
    fi
fi

# The command line alone (no GUI stack to build): the suite drives `sockscope connect`.
cargo build --release --locked --quiet --no-default-features
BIN=$PWD/target/release/sockscope
WORK=$PWD/target/autobahn
rm -rf "$WORK" && mkdir -p "$WORK"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="ws://127.0.0.1:$PORT"
cat > "$WORK/spec.json" <<SPEC
{
  "url": "$URL",
  "outdir": "$WORK/reports/clients",
  "cases": ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*", "12.*", "13.*"],
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
SPEC
(cd "$WORK" && exec "$PY27" "$OLDPWD/scripts/autobahn_server.py" "$WORK/spec.json" >"$WORK/server.log" 2>&1) &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
listening=false
for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        listening=true
        break
    fi
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
done
if ! $listening; then
    echo "autobahn: the fuzzing server did not start listening on $URL; its log:" >&2
    tail -n 20 "$WORK/server.log" >&2 || true
    exit 1
fi

COUNT=$({ "$BIN" connect "$URL/getCaseCount" --count 1 --json || true; } | python3 -c '
import json, sys
for line in sys.stdin:
    event = json.loads(line)
    if event.get("event") == "message" and event.get("direction") == "received":
        print(int(event["text"])); break')
if ! [[ "$COUNT" =~ ^[1-9][0-9]*$ ]]; then
    echo "autobahn: could not read the case count from $URL/getCaseCount (got '$COUNT')" >&2
    exit 1
fi
echo "autobahn: $COUNT cases against $URL"
for i in $(seq 1 "$COUNT"); do
    # Each case ends with the server closing (or failing) the connection; the exit code is the case's business.
    timeout 120 "$BIN" connect "$URL/runCase?case=$i&agent=sockscope" --echo \
        >/dev/null 2>&1 || true
done
"$BIN" connect "$URL/updateReports?agent=sockscope" --close 1000 >/dev/null 2>&1 || true
sleep 1

python3 - "$WORK/reports/clients/index.json" <<'PY'
import collections, json, sys
results = json.load(open(sys.argv[1]))["sockscope"]
counts = collections.Counter(r["behavior"] for r in results.values())
closes = collections.Counter(r["behaviorClose"] for r in results.values())
print("autobahn: %d cases: %s" % (len(results), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
print("autobahn: close behaviour: %s" % ", ".join("%s %d" % kv for kv in sorted(closes.items())))
bad = ("FAILED", "UNIMPLEMENTED")
failed = sorted((k for k, r in results.items() if r["behavior"] in bad or r["behaviorClose"] in bad),
                key=lambda k: [int(p) for p in k.split(".")])
if failed:
    print("autobahn: FAILED or UNIMPLEMENTED cases: " + " ".join(failed))
    sys.exit(1)
PY
