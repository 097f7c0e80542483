#!/usr/bin/env bash
# Failover through nginx: two server replicas on 127.0.0.1:8081 and :8082, nginx with
# Examples/Deploy/nginx.conf on :8080, a load of chat requests through nginx, and one
# replica killed with SIGKILL after a third of them. Prints how many requests succeeded
# and failed (by status or error) and the latency percentiles before and after the kill.
#
#   Scripts/failover_test.sh                       # 200 requests, concurrency 4
#   REQUESTS=60 CONCURRENCY=2 Scripts/failover_test.sh
#
# Environment:
#   LLAMA_SERVE_COMMAND  replica command template, {port} is replaced; default
#                        .build/release/llama serve -m $LLAMA_TEST_MODEL --host 127.0.0.1 --port {port} --parallel 2
#   LLAMA_TEST_MODEL     default ~/.cache/swift-llama/models/SmolLM2-135M-Instruct.Q4_1.gguf
#   LLAMA_API_KEY        sent as a Bearer token, if set (the replicas must use the same key)
#   REQUESTS (200), CONCURRENCY (4), STREAM_FRACTION (0.5: the share of streaming requests),
#   MAX_TOKENS (24), HEALTH_TIMEOUT (120 s), KEEP_TEMP (1: keep the temp dir with the logs)
#
# Exits 0 when the only failures are requests that were in flight on the killed replica or
# sent to it while the kernel tore it down, and every request started after that succeeded.
# Only loopback addresses are used; everything started is stopped on exit or Ctrl-C.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO_ROOT=$PWD
NGINX_CONF="$REPO_ROOT/Examples/Deploy/nginx.conf"
export LLAMA_TEST_MODEL="${LLAMA_TEST_MODEL:-$HOME/.cache/swift-llama/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
# (The default is in its own variable: the braces of {port} would end a ${VAR:-default}.)
DEFAULT_TEMPLATE='.build/release/llama serve -m $LLAMA_TEST_MODEL --host 127.0.0.1 --port {port} --parallel 2'
TEMPLATE="${LLAMA_SERVE_COMMAND:-$DEFAULT_TEMPLATE}"
REQUESTS="${REQUESTS:-200}"
CONCURRENCY="${CONCURRENCY:-4}"
STREAM_FRACTION="${STREAM_FRACTION:-0.5}"
MAX_TOKENS="${MAX_TOKENS:-24}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-120}"
PORTS=(8081 8082)
LB_PORT=8080

die() { echo "failover_test: $*" >&2; exit 2; }

command -v nginx >/dev/null || die "nginx is not installed (apt-get install nginx)"
command -v curl >/dev/null || die "curl is not installed"
[ -f "$NGINX_CONF" ] || die "$NGINX_CONF is missing"
first_word=$(eval "set -- $TEMPLATE"; echo "$1")
if [[ "$first_word" == */* ]]; then [ -x "$first_word" ] || die "server binary $first_word does not exist (build it or set LLAMA_SERVE_COMMAND)"
else command -v "$first_word" >/dev/null || die "server binary $first_word is not on PATH"; fi
[[ "$TEMPLATE" != *'$LLAMA_TEST_MODEL'* ]] || [ -f "$LLAMA_TEST_MODEL" ] || die "model file $LLAMA_TEST_MODEL does not exist"
for port in "${PORTS[@]}" "$LB_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then die "port $port is already in use"; fi
done

TMP=$(mktemp -d /tmp/llama-failover.XXXXXX)
REPLICA_PIDS=()
NGINX_PID=""

stop_pid() {  # SIGTERM, up to 10 s, then SIGKILL
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    [ -n "$NGINX_PID" ] && stop_pid "$NGINX_PID"
    for pid in "${REPLICA_PIDS[@]}"; do stop_pid "$pid"; done
    if [ "${KEEP_TEMP:-0}" = 1 ]; then echo "logs kept in $TMP"; else rm -rf "$TMP"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP

echo "replica command: $TEMPLATE"
for port in "${PORTS[@]}"; do
    command_line=${TEMPLATE//\{port\}/$port}
    # exec: the PID is the server's own, so that SIGKILL hits the server.
    bash -c "exec $command_line" >"$TMP/replica-$port.log" 2>&1 </dev/null &
    REPLICA_PIDS+=($!)
done

mkdir -p "$TMP/nginx"
nginx -p "$TMP/nginx" -c "$NGINX_CONF" -g 'daemon off;' >"$TMP/nginx.out" 2>&1 &
NGINX_PID=$!

auth=()
[ -n "${LLAMA_API_KEY:-}" ] && auth=(-H "Authorization: Bearer $LLAMA_API_KEY")
deadline=$((SECONDS + HEALTH_TIMEOUT))
for i in 0 1; do
    port=${PORTS[$i]}
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$port/health")" = 200 ]; do
        if ! kill -0 "${REPLICA_PIDS[$i]}" 2>/dev/null; then
            tail -n 30 "$TMP/replica-$port.log" >&2; die "replica on :$port exited before it was ready"
        fi
        [ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$TMP/replica-$port.log" >&2; die "replica on :$port not healthy after ${HEALTH_TIMEOUT}s"; }
        sleep 0.5
    done
    echo "replica :$port ready (pid ${REPLICA_PIDS[$i]})"
done
until [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$LB_PORT/health")" = 200 ]; do
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx.out" "$TMP/nginx/error.log" >&2 2>/dev/null; die "nginx exited"; }
    [ "$SECONDS" -lt "$deadline" ] || die "nginx on :$LB_PORT not answering"
    sleep 0.2
done
echo "nginx :$LB_PORT ready (pid $NGINX_PID); replica to kill: :${PORTS[0]} (pid ${REPLICA_PIDS[0]})"

set +e
python3 - "$REQUESTS" "$CONCURRENCY" "$STREAM_FRACTION" "$MAX_TOKENS" "${REPLICA_PIDS[0]}" "$LB_PORT" "${PORTS[0]}" <<'PYTHON'
import http.client, json, os, random, signal, socket, sys, threading, time
from collections import Counter

requests, concurrency = int(sys.argv[1]), int(sys.argv[2])
stream_fraction, max_tokens = float(sys.argv[3]), int(sys.argv[4])
victim, port, victim_port = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
api_key = os.environ.get("LLAMA_API_KEY")
questions = ["What is the capital of France?", "Name three colours.", "What is 2 + 2?",
             "Say hello in Spanish.", "What is the largest planet?"]
rng = random.Random(1234)
plan = [(rng.choice(questions), rng.random() < stream_fraction) for _ in range(requests)]

lock = threading.Lock()
next_index = 0
completed = 0
kill_time = None
dead_time = None  # when the killed replica's port first refused a connection
results = []  # (start, end, streaming, outcome) with outcome "ok" or a failure description


def one_request(question, stream):
    body = json.dumps({"model": "default", "messages": [{"role": "user", "content": question}],
                       "max_tokens": max_tokens, "temperature": 0, "stream": stream}).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", "/v1/chat/completions", body, headers)
        response = connection.getresponse()
        if response.status != 200:
            response.read()
            return f"HTTP {response.status}"
        if not stream:
            data = json.loads(response.read())
            return "ok" if data["choices"][0]["message"]["content"] is not None else "no content"
        done = False
        for raw in response:
            line = raw.decode("utf-8", "replace").strip()
            if line == "data: [DONE]":
                done = True
                break
            if line.startswith("data: "):
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    return f"stream error: {chunk['error'].get('message', '')[:60]}"
        return "ok" if done else "stream ended without [DONE]"
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        return f"{type(error).__name__}"
    finally:
        connection.close()


def port_closed(port):
    # Not the process state: a killed multi-threaded process shows as a zombie before its
    # last thread has closed the sockets.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def watch_victim():
    global dead_time
    deadline = time.monotonic() + 30
    while not port_closed(victim_port) and time.monotonic() < deadline:
        time.sleep(0.002)
    dead_time = time.monotonic()


def worker():
    global next_index, completed, kill_time
    while True:
        with lock:
            if next_index >= len(plan):
                return
            question, stream = plan[next_index]
            next_index += 1
        start = time.monotonic()
        outcome = one_request(question, stream)
        end = time.monotonic()
        with lock:
            results.append((start, end, stream, outcome))
            completed += 1
            if kill_time is None and completed >= len(plan) // 3:
                os.kill(victim, signal.SIGKILL)
                kill_time = time.monotonic()
                threading.Thread(target=watch_victim, daemon=True).start()
                print(f"SIGKILL sent to pid {victim} after {completed} completed requests", flush=True)


began = time.monotonic()
threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
for t in threads:
    t.start()
try:
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
except KeyboardInterrupt:
    print("load interrupted", flush=True)
    os._exit(130)
total_time = time.monotonic() - began


def percentiles(latencies):
    if not latencies:
        return "no requests"
    latencies = sorted(latencies)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    return (f"n={len(latencies)} p50={pick(0.50):.3f}s p90={pick(0.90):.3f}s p99={pick(0.99):.3f}s "
            f"max={latencies[-1]:.3f}s")


# A SIGKILLed process keeps its sockets open (and its listening socket completes
# handshakes) until the kernel has torn it down; a POST that nginx sends in that window
# fails, and by design is not retried. So requests are grouped by the kill and by that
# teardown, and only those that started after the teardown must all succeed.
teardown_end = dead_time if dead_time is not None else kill_time
before = [r for r in results if kill_time is None or r[1] < kill_time]
in_flight = [r for r in results if kill_time is not None and r[0] < kill_time <= r[1]]
teardown = [r for r in results if kill_time is not None and kill_time <= r[0] < teardown_end]
after = [r for r in results if kill_time is not None and r[0] >= teardown_end]
ok = [r for r in results if r[3] == "ok"]
failed = Counter(r[3] for r in results if r[3] != "ok")

print(f"\n{len(results)} requests in {total_time:.1f} s, concurrency {concurrency}, "
      f"{sum(r[2] for r in results)} streaming")
if kill_time is not None and dead_time is not None:
    print(f"the killed replica's port refused connections {(dead_time - kill_time) * 1000:.0f} ms after the kill")
print(f"succeeded: {len(ok)}")
print(f"failed:    {sum(failed.values())}" + "".join(f"\n  {n} x {what}" for what, n in failed.most_common()))
for name, group in (("before the kill", before), ("in flight at the kill", in_flight),
                    ("started in its teardown", teardown), ("after the teardown", after)):
    good = [r[1] - r[0] for r in group if r[3] == "ok"]
    bad = sum(1 for r in group if r[3] != "ok")
    print(f"{name:>23}: {len(group)} requests, {bad} failed; latency of successes {percentiles(good)}")
if after:
    first_ok = min((r[1] for r in after if r[3] == "ok"), default=None)
    if first_ok is not None:
        print(f"first success that started after the teardown ended {first_ok - kill_time:.3f} s after the kill")

problems = []
if kill_time is None:
    problems.append("the replica was never killed")
elif dead_time is None:
    problems.append("the killed replica did not go away")
if any(r[3] != "ok" for r in before):
    problems.append("requests failed before the kill")
if any(r[3] != "ok" for r in after):
    problems.append("requests that started after the killed replica was gone failed")
print("RESULT: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
sys.exit(1 if problems else 0)
PYTHON
status=$?
set -e

survivor_pid=${REPLICA_PIDS[1]}
if kill -0 "$survivor_pid" 2>/dev/null; then echo "surviving replica :${PORTS[1]} still running"
else echo "surviving replica :${PORTS[1]} is NOT running"; status=1; fi
echo "nginx error.log lines about upstreams: $(grep -c upstream "$TMP/nginx/error.log" 2>/dev/null || true)"
exit "$status"
