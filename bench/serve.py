"""Serving under load: textbench-serve with and without dynamic batching, fp32 and int8,
beside the plain FastAPI + onnxruntime server a user would write (bench/serve_anchor.py),
at 1, 4, 16 and 64 concurrent clients, on loopback.

    python bench/serve.py                  # writes the "Serving" section of bench/RESULTS.md
    python bench/serve.py --quick --results /tmp/r.md   # tiny: checks that it runs

The model is the default one (the tutorial LSTM) trained for one epoch on 2,000 IMDB
reviews cut at 256 tokens (speed does not depend on how well it learned). It is asked
about two kinds of text: IMDB test reviews (most fill the 256 tokens: the model's compute
dominates) and MR sentences (about 20 tokens: the HTTP work dominates).
Every server runs with its runtime's default threads, as a user would start it; the load
comes from another process (aiohttp), each client sending its next request when the last
is answered, for a bounded number of requests or seconds, whichever ends first.
Requests/s and latency percentiles are per concurrency level; the ratios are measured
side by side in one run.
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
from bench.common import DEFAULT_DATA, RESULTS, write_section  # noqa: E402

LEVELS = (1, 4, 16, 64)
TEXTS = ("IMDB reviews", "MR sentences")
ANCHOR = "plain FastAPI + onnxruntime, one request at a time"
SERVERS = {  # textbench-serve's settings (the first row is the default)
    "textbench-serve, dynamic batching (default: up to 32 texts, no wait)": [],
    "textbench-serve, dynamic batching, waiting up to 5 ms": ["max_delay_ms=5"],
    "textbench-serve, no batching": ["max_batch=1"],
    "textbench-serve, dynamic batching, int8": ["quantize=dynamic"],
}


def environment(args: argparse.Namespace) -> dict[str, str]:
    """The commands' environment: the data directory the run's files lie in (eval, export
    and serve read a checkpoint's data there), and no network."""
    return {**os.environ, "TEXTBENCH_DATA_DIR": str(args.data_dir), "HF_HUB_OFFLINE": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train(work: Path, args: argparse.Namespace) -> Path:
    """The default model (the tutorial LSTM) trained one epoch on 2,000 IMDB reviews cut
    at 256 tokens (with --quick: on a little of the built-in data)."""
    run = work / "run"
    extra = (
        ["data.n_train=300", "data.n_test=100"]
        if args.quick
        else [
            "data=imdb",
            f"paths.data_dir={args.data_dir}",
            "data.max_samples=2000",
            "data.max_length=256",
        ]
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "textbench.cli.train",
            "trainer.max_epochs=1",
            "test=false",
            *extra,
            f"hydra.run.dir={run}",
        ],
        check=True,
        capture_output=True,
        cwd=work,
        env=environment(args),
    )
    return run


def texts_of(args: argparse.Namespace, kind: str, limit: int) -> list[str]:
    """Requests' texts: IMDB test reviews or MR sentences (built-in test sentences with
    --quick)."""
    if args.quick:
        from textbench.data.synthetic import load_wordorder

        return list(load_wordorder(n_train=1, n_test=limit, generator_seed=99)["test"]["text"])
    if kind == "MR sentences":
        lines = []
        for name in ("rt-polarity.pos", "rt-polarity.neg"):
            raw = (args.data_dir / "mr" / name).read_bytes()
            lines += raw.decode("latin-1").splitlines()
        return lines[:: len(lines) // limit][:limit]
    import pyarrow.parquet as pq

    table = pq.read_table(args.data_dir / "imdb" / "test.parquet", columns=["text"])
    return table.column("text").to_pylist()[:: len(table) // limit][:limit]


def start(command: list[str], port: int, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """A server process, once it answers /health (or /docs, the anchor's)."""
    import httpx

    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command} did not start in 180 s")


def load(port: int, clients: int, texts: list[str], requests: int, seconds: float) -> dict:
    """`clients` clients, each sending its next request when the last is answered; a
    failed request is counted and reported, never hidden. The client is aiohttp on uvloop:
    it shares the two cores with the server, and costs it less than httpx would."""
    import aiohttp
    import uvloop

    latencies: list[float] = []
    errors: list[str] = []
    sent = 0
    url = f"http://127.0.0.1:{port}/predict"

    async def run() -> float:
        nonlocal sent
        deadline = time.perf_counter() + seconds
        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

            async def client(i: int) -> None:
                nonlocal sent
                while sent < requests and time.perf_counter() < deadline:
                    sent += 1
                    text = texts[(sent * 7 + i) % len(texts)]
                    begun = time.perf_counter()
                    try:
                        async with http.post(url, json={"text": text}) as answer:
                            await answer.read()
                            answer.raise_for_status()
                    except (aiohttp.ClientError, TimeoutError) as error:
                        errors.append(f"{type(error).__name__}: {error}")
                        continue
                    latencies.append(time.perf_counter() - begun)

            began = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(clients)))
            return time.perf_counter() - began

    elapsed = uvloop.run(run())
    if errors:
        print(f"{len(errors)} failed requests at {clients} clients; first: {errors[0]}")
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99]) * 1000
    n = len(latencies)
    return {"rps": n / elapsed, "p50": p50, "p90": p90, "p99": p99, "n": n, "errors": len(errors)}


def measure(
    name: str, command: list[str], port: int, args: argparse.Namespace, work: Path, texts: list[str]
) -> dict[int, dict]:
    process = start(command, port, work, environment(args))
    try:
        load(port, 4, texts, 50, 10)  # warm-up: first calls, connections
        results = {}
        for level in args.levels:
            results[level] = load(port, level, texts, args.requests, args.seconds)
            print(f"{name}, {level} clients: {results[level]}", flush=True)
        return results
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--requests", type=int, default=2000, help="at most, per level")
    parser.add_argument("--seconds", type=float, default=15, help="at most, per level")
    parser.add_argument("--quick", action="store_true", help="tiny: checks that it runs")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.quick and not (args.data_dir / "imdb" / "test.parquet").is_file():
        parser.error(f"IMDB not found under {args.data_dir}; pass --data-dir (or --quick).")
    args.levels = LEVELS[:2] if args.quick else LEVELS
    if args.quick:
        args.requests, args.seconds = 40, 5
    serve = str(Path(sys.executable).with_name("textbench-serve"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = train(work, args)
        subprocess.run(
            [sys.executable, "-m", "textbench.cli.export", f"ckpt={run}", f"out={work / 'export'}"],
            check=True,
            capture_output=True,
            cwd=work,
            env=environment(args),
        )
        results = {}
        for kind in TEXTS[:1] if args.quick else TEXTS:
            texts = texts_of(args, kind, 500)
            servers = {}
            for name, settings in SERVERS.items():
                port = free_port()
                command = [serve, f"ckpt={run}", f"port={port}", *settings]
                servers[name] = measure(f"{kind}: {name}", command, port, args, work, texts)
            port = free_port()
            anchor = [
                sys.executable,
                str(BENCH / "serve_anchor.py"),
                str(work / "export"),
                str(port),
            ]
            servers[ANCHOR] = measure(f"{kind}: anchor", anchor, port, args, work, texts)
            results[kind] = servers
    write_section("Serving", report(results, args), args.results)


def report(results: dict[str, dict[str, dict[int, dict]]], args: argparse.Namespace) -> str:
    tables = []
    for kind, servers in results.items():
        rows = []
        for name, levels in servers.items():
            for level, m in levels.items():
                ratio = m["rps"] / servers[ANCHOR][level]["rps"]
                rows.append(
                    f"| {name} | {level} | {m['rps']:,.0f} | {m['p50']:.1f} | {m['p90']:.1f} | "
                    f"{m['p99']:.1f} | {m['n']} | {m['errors']} | **{ratio:.2f}** |"
                )
        tables.append(
            f"{kind}:\n\n| server | clients | requests/s | p50 (ms) | p90 (ms) | p99 (ms) | "
            "answered | failed | vs plain |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            + "\n".join(rows)
        )
    return (
        "`python bench/serve.py`: the default model (the tutorial LSTM: 2 bidirectional "
        "layers, hidden 256) trained one epoch on 2,000 IMDB reviews cut at 256 tokens, "
        "asked about IMDB test reviews (most fill the 256 tokens) and MR sentences (about "
        "20 tokens), one text a request, over loopback. Every server runs with its "
        "runtime's default threads; the clients (aiohttp) run in another process on the "
        f"same cores; per level at most {args.requests} requests or {args.seconds:g} s. "
        "The last column is requests/s against the plain server at the same "
        "concurrency.\n\n" + "\n\n".join(tables)
    )


if __name__ == "__main__":
    main()
