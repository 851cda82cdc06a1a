"""The figures of issue #14 for a real `dispatcher serve`, against a relay in its own process.

Per store (SQLite, PostgreSQL): launch → ready (`/healthz` answers 200); idle RSS and CPU; a
signed outage POST → both on-call pages accepted by the relay (`--rounds` times, the incident
cancelled and the outbox drained between rounds); with `DISPATCHER_MUNICIPAL_RELEASE=immediate`,
POST → the last of the 98 municipal notices and 3 vendor copies, interleaved round by round
with a bare aiosmtplib client sending the same 101 messages over as many connections to the same
relay; signed heartbeats over one keep-alive connection and with a connection per request (each
repeat of an `event_id` still one incident); and the CLI's `--help` and `incident list`. Every
figure is printed with the load average when it was taken: the machine is shared.

    python -m bench.daemon [--rounds 10] [--stores sqlite,postgresql] [--pg postgresql+psycopg://…]
    python -m bench.daemon --only heartbeats [--count 2000]   # the intake figures alone, ~1 min
    python -m bench.daemon --only start   # launch, idle and the CLI alone, ~1 min per store
    python -m bench.daemon --only pages|notices [--rounds 10]  # pages / the 98 notices alone

BENCH_LOG_LEVEL (default WARNING) is the daemons' DISPATCHER_LOG_LEVEL.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiosmtplib

from bench.crash_window import stamping_relay
from bench.inform_all import drop_pg, pg_database
from dispatcher.mailcatcher import free_port
from dispatcher.signals.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SECRET = "bench-" + "s" * 40
ONCALL = {"khs@medcom.dk", "ibs@medcom.dk"}  # contacts/escalation.csv
CONCURRENCY = 4  # the daemon's DISPATCHER_SEND_CONCURRENCY by default


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


class Relay:
    """The relay's stamps: (recipient, monotonic seconds) per accepted message."""

    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe

    def take(self, count: int, timeout: float = 60.0) -> list[tuple[str, float]]:
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            if not self.pipe.poll(max(deadline - time.monotonic(), 0)):
                raise AssertionError(f"relay got {len(got)} of {count} messages")
            rcpt, ns = self.pipe.recv()
            got.append((rcpt, ns / 1e9))  # CLOCK_MONOTONIC, as time.monotonic()
        return got

    def until(self, wanted: Callable[[list[tuple[str, float]]], bool]) -> list[tuple[str, float]]:
        got: list[tuple[str, float]] = []
        while not wanted(got):
            got += self.take(1)
        return got

    def flush(self, quiet: float = 0.5) -> int:
        count = 0
        while self.pipe.poll(quiet):
            self.pipe.recv()
            count += 1
        return count


@contextmanager
def relay() -> Iterator[tuple[int, Relay]]:
    with stamping_relay() as (port, pipe):
        yield port, Relay(pipe)


def env(url: str, smtp_port: int, http_port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DISPATCHER_DATABASE_URL": url,
        "DISPATCHER_SMTP_HOST": "127.0.0.1",
        "DISPATCHER_SMTP_PORT": str(smtp_port),
        "DISPATCHER_HTTP_PORT": str(http_port),
        "DISPATCHER_WEBHOOK_SECRET": SECRET,
        "DISPATCHER_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        **{f"DISPATCHER_{k.upper()}": v for k, v in extra.items()},
    }


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@contextmanager
def daemon(
    environment: dict[str, str], log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """A running `dispatcher serve`, and how long it took from launch to ready."""
    port = int(environment["DISPATCHER_HTTP_PORT"])
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatcher", "serve"], env=environment, stdout=out, stderr=out
        )
    try:
        while not healthy(port):
            if process.poll() is not None:
                raise AssertionError(f"serve exited {process.returncode}; see {log}")
            time.sleep(0.005)
        yield process, time.monotonic() - started
    finally:
        process.terminate()
        process.wait(30)


def signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    now = int(time.time())
    return raw, {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(now),
        SIGNATURE_HEADER: sign(SECRET.encode(), now, raw),
    }


def post(connection: http.client.HTTPConnection, body: dict[str, Any]) -> dict[str, Any]:
    raw, headers = signed(body)
    connection.request("POST", "/api/sds/signals", raw, headers)
    response = connection.getresponse()
    answer: dict[str, Any] = json.loads(response.read())
    assert response.status in (200, 201), (response.status, answer)
    return answer


def outage(tag: str) -> dict[str, Any]:
    return {
        "event_id": f"bench-{tag}",
        "service": "FMK",
        "kind": "outage",
        "severity": "down",
        "summary": "FMK svarer ikke",
        "details": "SDS undersøger fejlen.",
    }


def cancel(url: str, incident: int) -> None:
    """Cancel the incident from the CLI (another process, as duty staff would)."""
    environment = {**os.environ, "DISPATCHER_DATABASE_URL": url, "DISPATCHER_LOG_LEVEL": "ERROR"}
    subprocess.run(
        [sys.executable, "-m", "dispatcher", "incident", "cancel", str(incident), "--reason", "x"],
        env=environment,
        capture_output=True,
        check=True,
    )


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def report(what: str, values: list[float], unit: str = "ms") -> None:
    print(
        f"  {what:<44} p50 {pct(values, 50):8.1f} {unit}  p99 {pct(values, 99):8.1f} {unit}  "
        f"max {max(values):8.1f} {unit}  (n={len(values)}, load {load()})",
        flush=True,
    )


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """The user + system CPU time the process has used so far."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(process: subprocess.Popen[bytes], seconds: float) -> tuple[float, float]:
    """CPU % of one core and RSS MiB of the idle daemon over `seconds`."""
    before, began = cpu_seconds(process), time.monotonic()
    time.sleep(seconds)
    used = cpu_seconds(process) - before
    rss = next(
        int(line.split()[1]) / 1024
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return 100 * used / (time.monotonic() - began), rss


def intake(port: int, count: int, keep_alive: bool) -> tuple[float, list[float]]:
    """Signed heartbeats: requests per second and per-request milliseconds; each event sent
    twice, the repeat a duplicate."""
    times = []
    run = time.time_ns()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    began = time.perf_counter()
    for index in range(count):
        body = {
            "event_id": f"hb-{run}-{keep_alive}-{index // 2}",
            "service": "FMK",
            "kind": "heartbeat",
        }
        if not keep_alive:
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        started = time.perf_counter()
        answer = post(connection, body)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.get("duplicate", False) == (index % 2 == 1), answer
    connection.close()
    return count / (time.perf_counter() - began), times


def heartbeat_figures(process: subprocess.Popen[bytes], port: int, count: int) -> None:
    """`count` heartbeats kept alive, then as many with a connection each; with the daemon's
    CPU time per request, which the machine's load disturbs less than the rate."""
    for keep_alive, what in ((True, "keep-alive:    "), (False, "new connection:")):
        before = cpu_seconds(process)
        rate, times = intake(port, count, keep_alive=keep_alive)
        cpu = (cpu_seconds(process) - before) * 1000 / count
        report(f"heartbeats, {what} {rate:5.0f} req/s; each", times)
        print(f"  {'':<44} daemon CPU {cpu:.2f} ms per request", flush=True)


def heartbeats(store: str, url: str, count: int, folder: Path) -> None:
    """The intake figures alone, on a daemon of their own."""
    print(f"{store}:", flush=True)
    with relay() as (smtp_port, _stamps):
        http_port = free_port()
        with daemon(env(url, smtp_port, http_port), folder / f"{store}-heartbeats.log") as (
            process,
            _ready,
        ):
            intake(http_port, 20, keep_alive=True)  # warm up: imports, pools, caches
            heartbeat_figures(process, http_port, count)


async def bare_client(port: int, messages: list[tuple[str, str, bytes]], concurrency: int) -> None:
    """What a plain aiosmtplib program does: `concurrency` connections, each taking the next
    message when it is free."""
    pending = list(reversed(messages))

    async def lane() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while pending:
            sender, rcpt, raw = pending.pop()
            await client.sendmail(sender, [rcpt], raw)
        await client.quit()

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def messages_of(url: str, incident: int) -> list[tuple[str, str, bytes]]:
    from sqlalchemy import select
    from sqlmodel import col

    from dispatcher.store.db import make_engine, transaction
    from dispatcher.store.tables import DeliveryRow, MessageRow, NoticeRow

    engine = make_engine(url)
    with transaction(engine) as session:
        rows = session.execute(
            select(col(MessageRow.envelope_from), col(DeliveryRow.recipient), col(MessageRow.raw))
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .join(NoticeRow, col(NoticeRow.id) == col(MessageRow.notice_id))
            .where(col(NoticeRow.incident_id) == incident, col(NoticeRow.kind) == "initial")
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


CLI_COMMANDS = {
    "dispatcher --help": ["--help"],
    "dispatcher incident list": ["incident", "list"],
    "dispatcher incident show 1": ["incident", "show", "1"],
    "dispatcher status": ["status"],
}


def cli(url: str, runs: int = 5) -> dict[str, tuple[list[float], list[float]]]:
    """Per CLI command, run as a subprocess (the commands interleaved): the wall-clock and the
    CPU (user + system) milliseconds of each run. The CPU time depends less on what else the
    shared machine does. `status` exits 1 when no replica leads, which is what it should say
    here."""
    environment = {**os.environ, "DISPATCHER_DATABASE_URL": url}
    times: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in CLI_COMMANDS}
    for _ in range(runs):
        for name, args in CLI_COMMANDS.items():
            cpu = _children_cpu()
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "dispatcher", *args],
                env=environment,
                capture_output=True,
                check=False,
            )
            times[name][0].append((time.perf_counter() - began) * 1000)
            times[name][1].append((_children_cpu() - cpu) * 1000)
            assert done.returncode in (0, 1), (name, done.stderr)
    return times


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_start(store: str, url: str, folder: Path) -> None:
    """Launch → ready on a fresh database (the migrations run) and again on the same database,
    now at the head (a restart: no Alembic); the idle daemon's CPU and memory; and the CLI
    against it, with one incident in the database for `incident show 1`."""
    with relay() as (smtp_port, _stamps):
        environment = env(url, smtp_port, free_port())
        port = int(environment["DISPATCHER_HTTP_PORT"])
        with daemon(environment, folder / f"{store}-start.log") as (_process, ready):
            print(
                f"  {'serve launch → ready, fresh database':<44} {ready * 1000:8.0f} ms  ", end=""
            )
            print(f"(load {load()})", flush=True)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            answer = post(connection, outage(f"{store}-start-{time.time_ns()}"))
            connection.close()
            cancel(url, int(answer["incident"]))
        with daemon(environment, folder / f"{store}-start.log") as (process, ready):
            print(
                f"  {'serve launch → ready, schema at head':<44} {ready * 1000:8.0f} ms  ", end=""
            )
            print(f"(load {load()})", flush=True)
            time.sleep(3)
            cpu, rss = idle(process, 20)
            print(f"  {'idle serve over 20 s':<44} {cpu:8.2f} % CPU  {rss:6.1f} MiB  ", end="")
            print(f"(load {load()})", flush=True)
            for name, (wall, cpu) in cli(url).items():
                report(name, wall)
                report("  of it CPU", cpu)


def bench_send(store: str, url: str, rounds: int, count: int, folder: Path) -> None:
    with relay() as (smtp_port, stamps):
        http_port = free_port()
        environment = env(url, smtp_port, http_port)
        with daemon(environment, folder / f"{store}.log") as (process, _ready):
            report(
                "POST → both on-call pages at the relay",
                pages(store, url, http_port, rounds, stamps),
            )
            heartbeat_figures(process, http_port, count)
    notices(store, url, rounds, folder)


def pages_only(store: str, url: str, rounds: int, folder: Path) -> None:
    """The pages figure alone, on a daemon of its own."""
    print(f"{store}:", flush=True)
    with relay() as (smtp_port, stamps):
        http_port = free_port()
        with daemon(env(url, smtp_port, http_port), folder / f"{store}-pages.log"):
            report(
                "POST → both on-call pages at the relay",
                pages(store, url, http_port, rounds, stamps),
            )


def pages(store: str, url: str, http_port: int, rounds: int, stamps: Relay) -> list[float]:
    """Signed outage POST → both on-call pages at the relay, ms, `rounds` times."""
    times = []
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
    for index in range(rounds):
        began = time.monotonic()
        answer = post(connection, outage(f"{store}-page-{time.time_ns()}-{index}"))
        got = stamps.until(lambda g: {r for r, _ in g} >= ONCALL)
        times.append((max(t for r, t in got if r in ONCALL) - began) * 1000)
        cancel(url, int(answer["incident"]))
        stamps.flush()
    connection.close()
    return times


def notices(store: str, url: str, rounds: int, folder: Path) -> None:
    """POST → the last of the 98 notices and 3 vendor copies (release immediate), round by
    round against the bare client sending the same 101 messages over as many connections."""
    with relay() as (smtp_port, stamps):
        http_port = free_port()
        environment = env(url, smtp_port, http_port, municipal_release="immediate")
        ours, bare, posts = [], [], []
        with daemon(environment, folder / f"{store}-immediate.log"):
            connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
            for index in range(rounds):
                began = time.monotonic()
                answer = post(connection, outage(f"{store}-all-{time.time_ns()}-{index}"))
                posts.append((time.monotonic() - began) * 1000)
                got = stamps.take(2 + 101)  # the pages, then the notice (vendors in it)
                ours.append((max(t for _, t in got) - began) * 1000)
                messages = messages_of(url, int(answer["incident"]))
                assert len(messages) == 101, len(messages)
                cancel(url, int(answer["incident"]))
                stamps.flush()
                began = time.monotonic()
                asyncio.run(bare_client(smtp_port, messages, CONCURRENCY))
                got = stamps.take(101)
                bare.append((max(t for _, t in got) - began) * 1000)
            connection.close()
        report("the outage POST alone (release immediate)", posts)
        report("POST → last of 98 notices + 3 copies", ours)
        report(f"bare aiosmtplib, {CONCURRENCY} connections, 101 msgs", bare)
        print(f"  ratio (p50): {pct(ours, 50) / pct(bare, 50):.2f}x the bare client")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--only",
        choices=["heartbeats", "start", "pages", "notices"],
        help="run only these figures (start: launch → ready, idle, the CLI)",
    )
    parser.add_argument("--count", type=int, default=400, help="heartbeats per figure")
    args = parser.parse_args()
    print(f"load average at start {load()} (1/5/15 min); the machine is shared")

    def run(store: str, url: str, folder: Path) -> None:
        if args.only == "heartbeats":
            heartbeats(store, url, args.count, folder)
            return
        if args.only == "pages":
            pages_only(store, url, args.rounds, folder)
            return
        print(f"{store}:", flush=True)
        if args.only == "notices":
            notices(store, url, args.rounds, folder)
            return
        bench_start(store, url, folder)
        if args.only is None:
            bench_send(store, url, args.rounds, args.count, folder)

    with tempfile.TemporaryDirectory() as tmp:
        for store in args.stores.split(","):
            if store == "sqlite":
                run(store, f"sqlite:///{Path(tmp) / 'bench.db'}", Path(tmp))
                continue
            name, url = pg_database(args.pg)
            try:
                run(store, url, Path(tmp))
            finally:
                drop_pg(args.pg, name)


if __name__ == "__main__":
    main()
