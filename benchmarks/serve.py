"""``r2p serve`` under load: completions, profile writes and searches, and a soak. Prints JSON.

    python benchmarks/serve.py                          # everything, full sizes
    python benchmarks/serve.py --quick                  # small sizes: checks that it works
    python benchmarks/serve.py --parts latency --clients 1,8,32 --requests 400

Parts (``--parts``, comma-separated):

* ``latency``: requests/s and p50/p95 latency of ``POST /v1/chat/completions`` with 1, 8 and 32
  concurrent clients, on the fake engine (the server's own cost: HTTP, validation, store
  revision check, retrieval, the method's code) and on the embedded model (llama.cpp +
  SmolLM2); ``--method`` / ``--model-method`` choose the method (default ``rag``).
* ``store``: profile writes/s (batches of 1,000 items, and single-item writes from 8 clients)
  and search latency (the first search, which loads the profile and builds its index, then
  warm p50/p95) at 1,000 and 100,000 items per user, on SQLite and on PostgreSQL (a throwaway
  cluster, when ``initdb``/``pg_ctl`` are installed).
* ``soak``: 32 clients for ``--soak-s`` seconds mixing single-item writes, searches and
  completions (fake engine, SQLite); errors, lost writes (every acknowledged item is read
  back) and the server's resident memory over time.

The server runs as a separate ``r2p serve`` process on loopback (clients and server do not
share a GIL); clients are ``httpx`` async clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

QUESTION = "Suggest a plan for my Saturday."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(*args: str) -> Iterator[tuple[str, int]]:
    """An ``r2p serve`` process on a free loopback port: ``(base URL, pid)``."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "r2p.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "R2P_API_KEYS": ""})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.get(url + "/health", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read() if proc.stderr else ""
                    raise RuntimeError(f"server did not start: {err}") from None
                time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _ms(x: float) -> float:
    return round(1000 * x, 2)


async def _load(url: str, clients: int, total: int,
                request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
                ) -> dict[str, Any]:
    """``total`` requests from ``clients`` concurrent workers; latency and throughput."""
    lat: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
        async def worker() -> None:
            nonlocal errors
            for i in counter:
                t0 = time.perf_counter()
                try:
                    r = await request(http, i)
                    ok = r.status_code < 300
                except httpx.HTTPError:
                    ok = False
                lat.append(time.perf_counter() - t0)
                errors += not ok

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"clients": clients, "requests": total, "errors": errors,
            "requests_per_s": round(total / wall, 1), "p50_ms": _ms(_pct(lat, 0.5)),
            "p95_ms": _ms(_pct(lat, 0.95))}


def _profile(n: int, tag: str = "p", start: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(n + start)
    words = ("hiking coffee jazz python garden chess rain bikes pasta travel books mountains "
             "piano soccer tea movies sushi camping yoga paint").split()
    return [{"id": f"{tag}{i}", "text": " ".join(rng.choices(words, k=12)),
             "timestamp": 1_700_000_000 + i} for i in range(start, start + n)]


def _completion(method: str, max_tokens: int) -> Callable[[httpx.AsyncClient, int],
                                                          Awaitable[httpx.Response]]:
    def req(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return http.post("/v1/chat/completions", json={
            "model": method, "user": "ann", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": f"{QUESTION} ({i % 7})"}]})
    return req


def latency(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    engines = [("fake", ["--backend", "fake"], args.method, args.requests)]
    if not args.no_model:
        engines.append(("embedded", ["--backend", "llamacpp"], args.model_method,
                        args.model_requests))
    for name, flags, method, total in engines:
        with server(*flags, "--store", str(tmp / f"lat-{name}.sqlite")) as (url, _pid):
            httpx.post(url + "/v1/users/ann/items",
                       json={"items": _profile(50)}).raise_for_status()
            req = _completion(method, args.max_tokens)
            asyncio.run(_load(url, 1, min(total, 5), req))  # warm-up
            rows = [asyncio.run(_load(url, c, max(total, c), req)) for c in args.clients]
        out[name] = {"method": method, "levels": rows}
    fake = out["fake"]["levels"]
    one = next((r for r in fake if r["clients"] == 1), fake[0])
    out["fake_p50_ms_one_client"] = one["p50_ms"]
    return out


def store_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    stores: list[tuple[str, str, Any]] = [("sqlite", str(tmp / "store.sqlite"), None)]
    try:
        from r2p.serve.tempdb import TempPostgres, pg_bindir

        if pg_bindir() is not None and not args.no_postgres:
            pg = TempPostgres().start()
            stores.append(("postgresql", pg.url, pg))
    except Exception as exc:  # noqa: BLE001 - reported, the SQLite part still runs
        print(f"postgresql skipped: {exc}", file=sys.stderr)
    out: dict[str, Any] = {}
    try:
        for name, where, _pg in stores:
            rows = []
            with server("--backend", "fake", "--store", where) as (url, _pid):
                for size in args.sizes:
                    rows.append(_store_size(url, size, name))
                rows.append(asyncio.run(_single_writes(url, args.single_writes)))
            out[name] = rows
    finally:
        for _n, _w, pg in stores:
            if pg is not None:
                pg.stop()
    return out


def _store_size(url: str, size: int, tag: str) -> dict[str, Any]:
    user = f"u{size}"
    with httpx.Client(base_url=url, timeout=600) as http:
        t0 = time.perf_counter()
        for start in range(0, size, 1000):
            batch = _profile(min(1000, size - start), start=start)
            http.post(f"/v1/users/{user}/items", json={"items": batch}).raise_for_status()
        write_s = time.perf_counter() - t0
        q = {"query": "coffee and mountains with jazz", "k": 4}
        t0 = time.perf_counter()
        http.post(f"/v1/users/{user}/search", json=q).raise_for_status()
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(20):
            t0 = time.perf_counter()
            http.post(f"/v1/users/{user}/search", json=q).raise_for_status()
            warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        http.delete(f"/v1/users/{user}").raise_for_status()
        erase = time.perf_counter() - t0
    return {"store": tag, "items": size, "batch_writes_items_per_s": round(size / write_s),
            "search_first_ms": _ms(cold), "search_p50_ms": _ms(_pct(warm, 0.5)),
            "search_p95_ms": _ms(_pct(warm, 0.95)), "erase_user_ms": _ms(erase)}


async def _single_writes(url: str, total: int) -> dict[str, Any]:
    def req(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return http.post(f"/v1/users/w{i % 8}/items",
                         json={"items": [{"id": f"s{i}", "text": f"single write {i}"}]})
    r = await _load(url, 8, total, req)
    return {"single_item_writes": r}


def _rss_mb(pid: int) -> float:
    try:
        import psutil

        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except Exception:  # noqa: BLE001 - psutil missing or the process gone
        return float("nan")


async def _soak(url: str, pid: int, seconds: float, clients: int) -> dict[str, Any]:
    acked: dict[str, set[str]] = {f"s{c}": set() for c in range(clients)}
    counts = {"write": 0, "search": 0, "completion": 0}
    errors: list[str] = []
    rss: list[float] = []
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        async def worker(c: int) -> None:
            rng = random.Random(c)
            user, n = f"s{c}", 0
            while time.monotonic() < end:
                kind = rng.choices(["write", "search", "completion"], [2, 1, 1])[0]
                if not acked[user]:
                    kind = "write"
                try:
                    if kind == "write":
                        item = f"i{c}-{n}"
                        n += 1
                        r = await http.post(f"/v1/users/{user}/items", json={"items": [
                            {"id": item, "text": f"soak item {n} hiking coffee"}]})
                        if r.status_code == 201:
                            acked[user].add(item)
                    elif kind == "search":
                        r = await http.post(f"/v1/users/{user}/search",
                                            json={"query": "hiking", "k": 4})
                    else:
                        r = await http.post("/v1/chat/completions", json={
                            "model": "rag", "user": user, "max_tokens": 16,
                            "messages": [{"role": "user", "content": QUESTION}]})
                    if r.status_code >= 300:
                        errors.append(f"{kind}: {r.status_code}")
                except httpx.HTTPError as exc:
                    errors.append(f"{kind}: {type(exc).__name__}")
                counts[kind] += 1

        async def sampler() -> None:
            while time.monotonic() < end:
                rss.append(_rss_mb(pid))
                await asyncio.sleep(max(0.5, seconds / 20))

        await asyncio.gather(sampler(), *(worker(c) for c in range(clients)))
        lost = 0
        for user, ids in acked.items():
            seen: set[str] = set()
            after = None
            while True:
                params: dict[str, Any] = {"limit": 1000, **({"after": after} if after else {})}
                page = (await http.get(f"/v1/users/{user}/items", params=params)).json()
                seen |= {i["id"] for i in page["data"]}
                if not page["has_more"]:
                    break
                after = page["data"][-1]["id"]
            lost += len(ids - seen)
    half = len(rss) // 2
    return {"seconds": seconds, "clients": clients, "requests": counts,
            "errors": len(errors), "error_kinds": sorted(set(errors))[:10],
            "acknowledged_writes": sum(len(v) for v in acked.values()), "lost_writes": lost,
            "rss_mb": {"first": rss[0] if rss else None, "last": rss[-1] if rss else None,
                       "max": max(rss) if rss else None,
                       "second_half_growth": round(rss[-1] - rss[half], 1) if rss else None}}


def soak(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    with server("--backend", "fake", "--store", str(tmp / "soak.sqlite")) as (url, pid):
        return asyncio.run(_soak(url, pid, args.soak_s, 32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="latency,store,soak")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes (seconds, not minutes): checks that everything works")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--requests", type=int, default=400,
                    help="completions per level on the fake engine")
    ap.add_argument("--model-requests", type=int, default=32,
                    help="completions per level on the embedded model")
    ap.add_argument("--method", default="rag", help="method on the fake engine")
    ap.add_argument("--model-method", default="rag", help="method on the embedded model")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--sizes", default="1000,100000", help="items per user (store part)")
    ap.add_argument("--single-writes", type=int, default=400)
    ap.add_argument("--soak-s", type=float, default=60.0)
    ap.add_argument("--no-model", action="store_true", help="skip the embedded model")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        args.requests, args.model_requests, args.single_writes = 40, 4, 40
        args.sizes, args.soak_s = [1000, 5000], 6.0
        args.clients = [c for c in args.clients if c <= 8] or [1]
    parts = {"latency": latency, "store": store_part, "soak": soak}
    result: dict[str, Any] = {"cpus": os.cpu_count(), "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="r2p-serve-bench-") as tmp:
        for name in [p.strip() for p in args.parts.split(",") if p.strip()]:
            t0 = time.perf_counter()
            result[name] = parts[name](args, Path(tmp))
            result[name + "_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
