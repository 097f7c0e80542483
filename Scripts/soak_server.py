#!/usr/bin/env python3
"""Soak test of a running `llama serve` (or any server with the same OpenAI-style API).

For --duration seconds (default 300), --clients threads send a mix of
  - chat completions, streaming and not, and text completions;
  - streaming and non-streaming requests whose client disconnects at a random moment
    (half of them with a TCP reset);
  - malformed JSON bodies (expect 400), huge bodies (--huge-mb, default 20 MB: expect 413),
    wrong API keys (expect 401 when the server has --api-key), unknown routes (expect 404).
Every 10 s it samples the server's RSS (from /proc/PID/status, --pid) and the busy-slot
gauge of /metrics. At the end it waits for the server to go idle and prints the requests
by kind and outcome, whether the server is still alive, the busy-slot gauge after idle
(must be 0) and the RSS at the start, its maximum and at the end.

Exit status: 0 when the server is alive and healthy and no slot is left busy; 1 on a
crash (the process is gone, or /health stops answering 200) or a leaked slot (the gauge
not 0 after --idle-timeout); 2 on a usage error. Unexpected statuses (for example a 500
for malformed JSON) are listed but do not change the exit status unless --strict.

Only standard library; only the given server (use a loopback address).

    Scripts/soak_server.py --url http://127.0.0.1:8080 --pid "$(pgrep -f 'llama serve')" --api-key KEY
    # llama.cpp's llama-server (started with --metrics):
    Scripts/soak_server.py --url http://127.0.0.1:8080 --pid PID --metric llamacpp:requests_processing
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict

# Prometheus gauge: the number of slots generating now (llama-server: llamacpp:requests_processing).
DEFAULT_SLOTS_BUSY_METRIC = "llama_slots_busy"
METRICS_PATH = "/metrics"
HEALTH_PATH = "/health"

QUESTIONS = ["What is the capital of France?", "Name three colours.", "What is 2 + 2?",
             "Write a haiku about the sea.", "Explain what a CPU does in one sentence.",
             "List the days of the week.", "Say hello in Spanish."]


class Server:
    def __init__(self, url: str, api_key: str | None, timeout: float):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise SystemExit(f"soak_server: --url must be http://HOST:PORT, not {url!r}")
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.api_key = api_key
        self.timeout = timeout

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def headers(self, key: str | None = "default", content_type: bool = True) -> dict:
        headers = {"Content-Type": "application/json"} if content_type else {}
        key = self.api_key if key == "default" else key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def simple(self, method: str, path: str, body: bytes | None = None, key: str | None = "default",
               timeout: float | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            connection.request(method, path, body, self.headers(key))
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def parse_gauge(text: str, name: str) -> float | None:
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line.strip())
        if match and match.group(1) == name:
            total += float(match.group(3))
            found = True
    return total if found else None


def read_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] != "Z"  # not a zombie
    except FileNotFoundError:
        return False


class Soak:
    def __init__(self, args):
        self.args = args
        self.server = Server(args.url, args.api_key, args.request_timeout)
        self.lock = threading.Lock()
        self.outcomes: Counter = Counter()  # (kind, outcome) -> count
        self.unexpected: Counter = Counter()
        self.latencies = defaultdict(list)  # kind -> seconds, successful requests
        self.stop_at = 0.0
        self.stopping = threading.Event()
        self.samples = []  # (t, rss_kb, busy)
        self.huge_in_flight = threading.Semaphore(1)
        self.model = "default"

    # --- recording -------------------------------------------------------------------------

    def record(self, kind: str, outcome: str, expected: set[str], seconds: float | None = None):
        with self.lock:
            self.outcomes[(kind, outcome)] += 1
            if outcome not in expected:
                self.unexpected[(kind, outcome)] += 1
            elif seconds is not None:
                self.latencies[kind].append(seconds)

    # --- request kinds -----------------------------------------------------------------------

    def chat_body(self, rng, stream: bool, max_tokens: int | None = None) -> dict:
        return {"model": self.model, "messages": [{"role": "user", "content": rng.choice(QUESTIONS)}],
                "max_tokens": max_tokens or rng.randint(4, self.args.max_tokens), "stream": stream,
                "temperature": rng.choice([0, 0.7, 1.0]), "seed": rng.randint(0, 1 << 30)}

    def normal(self, rng, kind: str):
        stream = kind.endswith("stream")
        if kind.startswith("completion"):
            path = "/v1/completions"
            body = {"model": self.model, "prompt": rng.choice(QUESTIONS), "stream": stream,
                    "max_tokens": rng.randint(4, self.args.max_tokens), "temperature": 0.7}
        else:
            path, body = "/v1/chat/completions", self.chat_body(rng, stream)
        start = time.monotonic()
        connection = self.server.connection()
        try:
            connection.request("POST", path, json.dumps(body).encode(), self.server.headers())
            response = connection.getresponse()
            if response.status != 200:
                response.read()
                outcome = f"HTTP {response.status}"
            elif not stream:
                data = json.loads(response.read())
                outcome = "ok" if data.get("choices") else "no choices"
            else:
                outcome = "stream ended without [DONE]"
                for raw in response:
                    line = raw.strip()
                    if line == b"data: [DONE]":
                        outcome = "ok"
                        break
                    if line.startswith(b"data: ") and b'"error"' in line[:20]:
                        outcome = "error event in stream"
                        break
        except (OSError, http.client.HTTPException, ValueError) as error:
            outcome = type(error).__name__
        finally:
            connection.close()
        self.record(kind, outcome, {"ok", "HTTP 429", "HTTP 503"}, time.monotonic() - start)

    def disconnect(self, rng, kind: str):
        """A client that goes away: mid-stream after a few events, or before a non-streaming answer."""
        stream = kind == "disconnect-stream"
        body = self.chat_body(rng, stream, max_tokens=rng.randint(64, 400))
        connection = self.server.connection()
        outcome = "disconnected"
        try:
            connection.request("POST", "/v1/chat/completions", json.dumps(body).encode(), self.server.headers())
            if stream:
                response = connection.getresponse()
                if response.status != 200:
                    outcome = f"HTTP {response.status}"
                else:
                    for _ in range(rng.randint(1, 12)):
                        if not response.readline():
                            outcome = "ended before the disconnect"
                            break
            else:
                time.sleep(rng.uniform(0.05, 1.5))
            if rng.random() < 0.5 and connection.sock is not None:
                # SO_LINGER 0: close() sends a TCP reset instead of a FIN.
                connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
        finally:
            connection.close()
        self.record(kind, outcome, {"disconnected", "ended before the disconnect", "HTTP 429", "HTTP 503"})

    def malformed(self, rng, kind: str):
        bodies = [b'{"model": "x", "messages": [', b"not json at all", b'{"messages": "should be a list"}',
                  b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"messages": [{"role": "user"}], "max_tokens": "ten"}']
        try:
            status, _ = self.server.simple("POST", "/v1/chat/completions", rng.choice(bodies))
            outcome = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
        self.record(kind, outcome, {"HTTP 400"})

    def huge(self, rng, kind: str):
        if not self.huge_in_flight.acquire(blocking=False):
            return self.malformed(rng, "malformed-json")
        try:
            size = self.args.huge_mb << 20
            # Valid JSON padded with whitespace: only a size limit rejects it (and the client
            # does not spend minutes tokenizing it if the server has none).
            head = json.dumps({"model": self.model, "messages": [{"role": "user", "content": "hi"}],
                               "max_tokens": 4}).encode()
            body = head[:-1] + b" " * size + b"}"
            connection = self.server.connection()
            try:
                connection.putrequest("POST", "/v1/chat/completions")
                for key, value in {**self.server.headers(), "Content-Length": str(len(body))}.items():
                    connection.putheader(key, value)
                connection.endheaders()
                try:
                    view = memoryview(body)
                    for offset in range(0, len(body), 1 << 20):
                        connection.send(view[offset:offset + (1 << 20)])
                except OSError:
                    pass  # the server may answer 413 and close before the upload ends
                try:
                    response = connection.getresponse()
                    response.read()
                    outcome = f"HTTP {response.status}"
                except (OSError, http.client.HTTPException):
                    outcome = "closed during upload"
            finally:
                connection.close()
        finally:
            self.huge_in_flight.release()
        self.record(kind, outcome, {"HTTP 413", "closed during upload"})

    def wrong_key(self, rng, kind: str):
        body = json.dumps(self.chat_body(rng, False, max_tokens=4)).encode()
        key = rng.choice(["wrong-key", None, "Bearer", "x" * 300])
        try:
            status, _ = self.server.simple("POST", "/v1/chat/completions", body, key=key)
            outcome = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
        expected = {"HTTP 401"} if self.args.api_key else {"HTTP 200"}
        self.record(kind, outcome, expected)

    def unknown_route(self, rng, kind: str):
        method, path = rng.choice([("GET", "/v1/nope"), ("POST", "/v2/chat/completions"), ("GET", "/admin"),
                                   ("POST", "/v1/chat/completions/extra"), ("GET", "/%2e%2e/etc/passwd")])
        try:
            status, _ = self.server.simple(method, path, b"{}" if method == "POST" else None)
            outcome = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
        self.record(kind, outcome, {"HTTP 404", "HTTP 405", "HTTP 400"})

    # --- driving -------------------------------------------------------------------------------

    KINDS = [  # (kind, weight)
        ("chat", 6), ("chat-stream", 6), ("completion", 1), ("completion-stream", 1),
        ("disconnect-stream", 3), ("disconnect-nonstream", 1),
        ("malformed-json", 1), ("huge-body", 0.2), ("wrong-key", 1), ("unknown-route", 1),
    ]

    def client_loop(self, index: int):
        rng = random.Random(self.args.seed * 1000 + index)
        kinds, weights = zip(*self.KINDS)
        handlers = {"chat": self.normal, "chat-stream": self.normal, "completion": self.normal,
                    "completion-stream": self.normal, "disconnect-stream": self.disconnect,
                    "disconnect-nonstream": self.disconnect, "malformed-json": self.malformed,
                    "huge-body": self.huge, "wrong-key": self.wrong_key, "unknown-route": self.unknown_route}
        while time.monotonic() < self.stop_at and not self.stopping.is_set():
            kind = rng.choices(kinds, weights)[0]
            try:
                handlers[kind](rng, kind)
            except Exception as error:  # a bug in this script must not end the soak silently
                self.record(kind, f"client exception {type(error).__name__}: {error}", set())

    def busy_gauge(self) -> float | None:
        try:
            status, body = self.server.simple("GET", METRICS_PATH, timeout=10)
        except (OSError, http.client.HTTPException):
            return None
        if status != 200:
            return None
        return parse_gauge(body.decode("utf-8", "replace"), self.args.metric)

    def health(self) -> int | str:
        try:
            return self.server.simple("GET", HEALTH_PATH, timeout=10)[0]
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__

    def sample(self, began: float):
        rss = read_rss_kb(self.args.pid) if self.args.pid else None
        busy = self.busy_gauge()
        self.samples.append((time.monotonic() - began, rss, busy))
        rss_text = f"{rss / 1024:.1f} MB" if rss is not None else "n/a"
        total = sum(self.outcomes.values())
        print(f"[{time.monotonic() - began:6.0f} s] RSS {rss_text}, busy slots {busy}, requests {total}", flush=True)

    def run(self) -> int:
        args = self.args
        if args.pid and not process_alive(args.pid):
            print(f"soak_server: no process {args.pid}", file=sys.stderr)
            return 2
        status = self.health()
        if status != 200:
            print(f"soak_server: GET {HEALTH_PATH} answered {status}, not 200", file=sys.stderr)
            return 2
        try:
            status, body = self.server.simple("GET", "/v1/models")
            if status == 200:
                self.model = json.loads(body)["data"][0]["id"]
        except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError):
            pass
        if self.busy_gauge() is None:
            print(f"soak_server: warning: gauge {args.metric!r} not found in {METRICS_PATH} (set --metric); "
                  f"a leaked slot cannot be detected", flush=True)

        began = time.monotonic()
        self.stop_at = began + args.duration
        self.sample(began)
        threads = [threading.Thread(target=self.client_loop, args=(i,), daemon=True) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        crashed = False
        try:
            next_sample = began + args.sample_interval
            while any(t.is_alive() for t in threads):
                time.sleep(0.5)
                if args.pid and not process_alive(args.pid):
                    print(f"server process {args.pid} is gone", flush=True)
                    crashed = True
                    self.stopping.set()
                    break
                if time.monotonic() >= next_sample:
                    self.sample(began)
                    next_sample += args.sample_interval
        except KeyboardInterrupt:
            print("interrupted: stopping the clients", flush=True)
            self.stopping.set()
        for thread in threads:
            thread.join(args.request_timeout + 5)
        load_seconds = time.monotonic() - began

        # Idle: every client is done, so every slot should be freed soon.
        idle_busy = None
        if not crashed:
            deadline = time.monotonic() + args.idle_timeout
            while True:
                idle_busy = self.busy_gauge()
                if idle_busy == 0 or time.monotonic() >= deadline:
                    break
                time.sleep(0.5)
        final_health = self.health()
        alive = (process_alive(args.pid) if args.pid else True) and final_health == 200
        self.sample(began)
        return self.report(load_seconds, alive, final_health, idle_busy, crashed)

    def report(self, load_seconds: float, alive: bool, final_health, idle_busy, crashed: bool) -> int:
        args = self.args
        total = sum(self.outcomes.values())
        print(f"\n=== soak: {total} requests in {load_seconds:.0f} s with {args.clients} clients "
              f"({total / max(load_seconds, 1e-9):.1f}/s) ===")
        print("requests by kind and outcome (! = unexpected):")
        for (kind, outcome), count in sorted(self.outcomes.items()):
            mark = "!" if (kind, outcome) in self.unexpected else " "
            print(f"  {mark} {kind:<22} {outcome:<32} {count}")
        for kind, values in sorted(self.latencies.items()):
            if kind in ("chat", "chat-stream", "completion", "completion-stream") and values:
                values.sort()
                pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
                print(f"  latency {kind:<18} p50 {pick(0.5):.2f} s  p90 {pick(0.9):.2f} s  max {values[-1]:.2f} s")
        unexpected = sum(self.unexpected.values())
        print(f"unexpected outcomes: {unexpected}")
        print(f"server alive: {'yes' if alive else 'NO'} (process {'alive' if not args.pid or process_alive(args.pid) else 'gone'}, "
              f"GET {HEALTH_PATH}: {final_health})")
        print(f"busy-slot gauge {args.metric} after idle: {idle_busy}")
        rss = [s[1] for s in self.samples if s[1] is not None]
        if rss:
            print(f"RSS: start {rss[0] / 1024:.1f} MB, max {max(rss) / 1024:.1f} MB, end {rss[-1] / 1024:.1f} MB")
        else:
            print("RSS: n/a (no --pid)")
        busy_seen = [s[2] for s in self.samples if s[2] is not None]
        if busy_seen:
            print(f"busy-slot gauge during the run: max {max(busy_seen):g}")

        failures = []
        if crashed or not alive:
            failures.append("the server crashed or is unhealthy")
        if idle_busy is None:
            failures.append(f"busy-slot gauge {args.metric!r} unavailable after the run")
        elif idle_busy != 0:
            failures.append(f"{idle_busy:g} slot(s) still busy {args.idle_timeout:.0f} s after the load stopped")
        if args.strict and unexpected:
            failures.append(f"{unexpected} unexpected outcomes (--strict)")
        print("RESULT: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
        return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="server root (a trailing /v1 is removed)")
    parser.add_argument("--pid", type=int, help="the server's process id, for RSS and crash detection")
    parser.add_argument("--api-key", default=os.environ.get("LLAMA_API_KEY"), help="default: $LLAMA_API_KEY")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--metric", default=DEFAULT_SLOTS_BUSY_METRIC, help="busy-slot gauge name")
    parser.add_argument("--sample-interval", type=float, default=10.0)
    parser.add_argument("--idle-timeout", type=float, default=30.0, help="seconds to wait for 0 busy slots")
    parser.add_argument("--huge-mb", type=int, default=20, help="size of the huge bodies in MB")
    parser.add_argument("--max-tokens", type=int, default=48, help="largest max_tokens of normal requests")
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strict", action="store_true", help="also fail on unexpected statuses")
    args = parser.parse_args()
    args.url = re.sub(r"/v1/?$", "", args.url.rstrip("/"))
    if args.pid is None:
        print("soak_server: warning: no --pid: RSS is not sampled and a crash is seen only through /health",
              flush=True)
    return Soak(args).run()


if __name__ == "__main__":
    sys.exit(main())
