#!/usr/bin/env python3
"""Benchmark OpenAI-compatible completion servers under concurrent streaming load.

Requires: Python 3.11 and httpx (`pip install httpx`; tested with httpx 0.29).
Usage: benchmark_server.py --server NAME=COMMAND_TEMPLATE [--server ...] [--model FILE ...]
           [--concurrency 1,4,8] [--rounds 3] [--json OUT]   (see --help)

What it measures: for every model file and every concurrency C, each server is
started fresh with --parallel C (the script launches and stops it itself),
waited for until `GET /health` returns 200, warmed with one short request, and
then C clients send at once ONE streaming `POST /v1/completions` each: the
prompt is a list of `--prompt-tokens` random token ids in [100, 30000) (new
ids for every client and round, so no prefix is shared), `max_tokens`
`--max-tokens`, `temperature: 0`, `ignore_eos: true`, `stream: true`,
`stream_options: {"include_usage": true}`. Per client it records the time to
first token (first SSE chunk with non-empty text), the time of the last
token, and the number of generated tokens (`usage.completion_tokens` when the
server reports it, else the number of chunks with text). Per round:

  aggregate tok/s = all clients' generated tokens / wall time from the first
                    request sent to the last client done
  TTFT            = median over clients
  decode tok/s    = median over clients of (tokens - 1) / (last - first token)

Servers run one after another, never together: for each round, model and
concurrency every server is measured in turn (the order rotates each round).
The reported figure is the median over `--rounds` rounds. Both servers get
the same prompts in a given round. The machine should be otherwise idle: before
each start the script waits (up to --wait-idle s) for idle CPUs, and it records
the CPU time other processes used during each measurement (`foreign_cpu`, a
fraction of all CPUs); table cells with a round where that reached 10% get a *.

Server commands are templates with the placeholders {model}, {port},
{parallel} (= C) and {context} (= C x --context-per-slot), for example

  --server 'llamacpp=/work/llama.cpp-0c1e570/build/bin/llama-server -m {model}
            --port {port} -t 2 --parallel {parallel} -c {context} --no-webui'
  --server 'swift=/work/main/.build/release/llama serve -m {model}
            --port {port} --parallel {parallel} --context 512'
"""
import argparse, asyncio, json, os, random, shlex, signal, socket, statistics, subprocess, sys, tempfile, time
import httpx

MODELS = ["/work/bench-models/tinyllama-q4_0.gguf", "/work/bench-models/tinyllama-q8_0.gguf"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", action="append", required=True, metavar="NAME=COMMAND_TEMPLATE")
    p.add_argument("--model", action="append", help=f"GGUF file; repeatable (default: {' '.join(MODELS)})")
    p.add_argument("--concurrency", default="1,4,8", help="comma-separated list (default 1,4,8)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--context-per-slot", type=int, default=512, help="{context} = parallel x this")
    p.add_argument("--port", type=int, default=8097)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--health-timeout", type=float, default=300)
    p.add_argument("--wait-idle", type=float, default=120,
                   help="before each start, wait up to this many seconds for the CPUs to be idle")
    p.add_argument("--log-dir", help="where server output goes (default: a new temporary directory)")
    p.add_argument("--json", metavar="OUT", help="write all raw figures here")
    a = p.parse_args()
    a.servers = []
    for s in a.server:
        name, sep, tmpl = s.partition("=")
        if not sep or not name or not tmpl:
            p.error(f"--server wants NAME=COMMAND_TEMPLATE, got {s!r}")
        a.servers.append((name, tmpl))
    a.model = a.model or MODELS
    a.concurrency = [int(c) for c in a.concurrency.split(",")]
    a.log_dir = a.log_dir or tempfile.mkdtemp(prefix="bench-server-")
    os.makedirs(a.log_dir, exist_ok=True)
    return a


class Server:
    """One server process, started in its own process group and stopped with it."""

    def __init__(self, name, template, args, model, parallel):
        fields = dict(model=model, port=args.port, parallel=parallel,
                      context=parallel * args.context_per_slot)
        self.argv = shlex.split(template.format_map(fields))
        with socket.socket() as s:  # a leftover server would answer /health in our place
            if s.connect_ex(("127.0.0.1", args.port)) == 0:
                raise RuntimeError(f"port {args.port} is already in use")
        self.base = f"http://127.0.0.1:{args.port}"
        self.log_path = os.path.join(args.log_dir, f"{name}-{os.path.basename(model)}-np{parallel}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    async def wait_healthy(self, client, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if (await client.get(self.base + "/health", timeout=2)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
        raise RuntimeError(f"no healthy server after {timeout} s; see {self.log_path}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


async def stream_completion(client, base, prompt, max_tokens, t0):
    """One streaming request; times are seconds since t0 (the round's start)."""
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True,
            "stream": True, "stream_options": {"include_usage": True}}
    first = last = None
    text_chunks = 0
    usage = None
    async with client.stream("POST", base + "/v1/completions", json=body) as r:
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {(await r.aread())[:500]!r}")
        async for line in r.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            now = time.perf_counter() - t0
            chunk = json.loads(data)
            if "error" in chunk:
                raise RuntimeError(f"server error: {chunk['error']}")
            if (chunk.get("usage") or {}).get("completion_tokens") is not None:
                usage = chunk["usage"]["completion_tokens"]
            if any(c.get("text") for c in chunk.get("choices") or []):
                text_chunks += 1
                first = now if first is None else first
                last = now
    done = time.perf_counter() - t0
    tokens = usage if usage is not None else text_chunks
    decode = (tokens - 1) / (last - first) if first is not None and last > first else None
    return dict(ttft_s=first, last_token_s=last, done_s=done, tokens=tokens,
                text_chunks=text_chunks, decode_tok_s=decode)


async def measure(client, base, prompts, max_tokens):
    t0 = time.perf_counter()
    clients = await asyncio.gather(*(stream_completion(client, base, p, max_tokens, t0) for p in prompts))
    wall = max(c["done_s"] for c in clients)
    total = sum(c["tokens"] for c in clients)
    ttfts = [c["ttft_s"] for c in clients if c["ttft_s"] is not None]
    decodes = [c["decode_tok_s"] for c in clients if c["decode_tok_s"] is not None]
    return dict(wall_s=wall, total_tokens=total, aggregate_tok_s=total / wall,
                median_ttft_ms=1000 * statistics.median(ttfts) if ttfts else None,
                median_decode_tok_s=statistics.median(decodes) if decodes else None, clients=clients)


def cpu_jiffies(pid=None):
    """(busy, total) CPU jiffies of the machine from /proc/stat, or (busy, 0) of one process."""
    if pid is not None:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12]), 0  # utime + stime
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)  # minus idle and iowait


async def wait_idle(limit, seconds=1.0):
    """Wait (up to `limit` s) until the machine is idle; return the busy fraction last seen."""
    deadline = time.monotonic() + limit
    while True:
        b0, t0 = cpu_jiffies()
        await asyncio.sleep(seconds)
        b1, t1 = cpu_jiffies()
        busy = (b1 - b0) / max(t1 - t0, 1)
        if busy < 0.1 or time.monotonic() > deadline:
            return busy


async def run_one(args, name, template, model, conc, prompts):
    busy = await wait_idle(args.wait_idle)
    if busy >= 0.1:
        print(f"WARNING: {busy:.0%} of the CPUs busy before starting {name}", file=sys.stderr)
    server = Server(name, template, args, model, conc)
    try:
        limits = httpx.Limits(max_connections=conc + 2, max_keepalive_connections=conc + 2)
        async with httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10), limits=limits) as client:
            await server.wait_healthy(client, args.health_timeout)
            warm = {"prompt": [random.randrange(100, 30000) for _ in range(8)], "max_tokens": 4,
                    "temperature": 0, "ignore_eos": True}
            (await client.post(server.base + "/v1/completions", json=warm)).raise_for_status()
            ours = (server.proc.pid, os.getpid())  # CPU time of anything else is foreign load
            m0, p0 = cpu_jiffies(), sum(cpu_jiffies(p)[0] for p in ours)
            r = await measure(client, server.base, prompts, args.max_tokens)
            m1, p1 = cpu_jiffies(), sum(cpu_jiffies(p)[0] for p in ours)
            foreign = (m1[0] - m0[0] - (p1 - p0)) / max(m1[1] - m0[1], 1)
            return dict(r, cpu_busy_before=busy, foreign_cpu=max(foreign, 0.0))
    finally:
        server.stop()


def median_of(rows, key):
    vals = [r[key] for r in rows if r[key] is not None]
    return statistics.median(vals) if vals else None


def fmt(x, digits=1):
    return "—" if x is None else f"{x:.{digits}f}"


def table(args, results):
    names = [n for n, _ in args.servers]
    head = ["Model", "C"]
    for n in names:
        head += [f"{n} tok/s", f"{n} TTFT ms", f"{n} decode tok/s/client"]
    if len(names) > 1:
        head.append(f"tok/s {names[0]}/{names[1]}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model in args.model:
        for conc in args.concurrency:
            row, agg = [os.path.basename(model), str(conc)], []
            for n in names:
                rs = [r for r in results if r["server"] == n and r["model"] == model and r["concurrency"] == conc]
                agg.append(median_of(rs, "aggregate_tok_s"))
                noisy = "*" if any(r["foreign_cpu"] >= 0.1 for r in rs) else ""
                row += [fmt(agg[-1]) + noisy, fmt(median_of(rs, "median_ttft_ms"), 0), fmt(median_of(rs, "median_decode_tok_s"))]
            if len(names) > 1:
                row.append(f"{agg[0] / agg[1]:.2f}" if agg[0] and agg[1] else "—")
            lines.append("| " + " | ".join(row) + " |")
    if any(r["foreign_cpu"] >= 0.1 for r in results):
        lines.append("\n\\* other processes used >= 10% of the CPUs during at least one round")
    return "\n".join(lines)


async def main():
    args = parse_args()
    print(f"server logs: {args.log_dir}", file=sys.stderr)
    results = []
    for rnd in range(args.rounds):
        order = args.servers[rnd % len(args.servers):] + args.servers[:rnd % len(args.servers)]
        for model in args.model:
            for conc in args.concurrency:
                rng = random.Random(f"{args.seed}/{rnd}/{model}/{conc}")
                prompts = [[rng.randrange(100, 30000) for _ in range(args.prompt_tokens)] for _ in range(conc)]
                for name, template in order:
                    r = await run_one(args, name, template, model, conc, prompts)
                    r.update(server=name, model=model, concurrency=conc, round=rnd + 1)
                    results.append(r)
                    short = [c["tokens"] for c in r["clients"] if c["tokens"] != args.max_tokens]
                    print(f"round {rnd + 1} {os.path.basename(model)} C={conc} {name}: "
                          f"{r['aggregate_tok_s']:.1f} tok/s, TTFT {fmt(r['median_ttft_ms'], 0)} ms, "
                          f"decode {fmt(r['median_decode_tok_s'])} tok/s/client, "
                          f"foreign CPU {r['foreign_cpu']:.0%}"
                          + (f"  WARNING: token counts {short} != {args.max_tokens}" if short else ""),
                          file=sys.stderr, flush=True)
    print(table(args, results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(config={k: v for k, v in vars(args).items() if k != "server"}, results=results), f, indent=1)


if __name__ == "__main__":
    asyncio.run(main())
