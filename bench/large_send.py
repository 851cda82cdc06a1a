"""The large send: one outage to 98 municipalities with 100 contacts each and the 3 vendors
(9,803 recipients), from a real `dispatcher serve` to a relay in its own process, against a
bare aiosmtplib client sending the same messages over as many connections to the same relay in
the same run.

The registry is the shipped one with each municipality's address replaced by `--contacts`
addresses at its domain, written to a temporary folder (never to contacts/). The daemon runs
with `DISPATCHER_MUNICIPAL_RELEASE=immediate`, so the signed outage POST queues the notice: the
figures are the POST's own time (the trigger: render, build and store every row), the time
from before the POST to the last message at the relay, the daemon's peak RSS (`VmHWM`), and the
bare client's time for the same 9,803 (read from the database). `--profile FILE.svg` records a
py-spy flamegraph of the daemon from the POST to the last message.

    python -m bench.large_send [--contacts 100] [--rounds 1] [--stores sqlite,postgresql]
        [--profile docs/profiles/large-send.svg]
    python -m bench.large_send --quick      # 10 contacts each (983 recipients), SQLite only
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import http.client
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.daemon import (
    CONCURRENCY,
    bare_client,
    daemon,
    env,
    load,
    messages_of,
    outage,
    post,
    relay,
)
from bench.inform_all import ROOT, drop_pg, pg_database
from dispatcher.mailcatcher import free_port

PAGES = 2  # the on-call staff are paged by the same POST


def big_registry(folder: Path, contacts: int) -> Path:
    """The shipped registry with `contacts` addresses per municipality, in `folder`."""
    target = folder / "contacts"
    shutil.copytree(ROOT / "contacts", target)
    path = target / "municipalities.csv"
    with path.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            domain = row["emails"].split(";")[0].rpartition("@")[2]
            row["emails"] = ";".join(f"fmk-{i:03d}@{domain}" for i in range(contacts))
            writer.writerow(row)
    return target


def peak_rss(pid: int) -> float:
    """The process's peak resident set (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def profiler(pid: int, svg: Path) -> subprocess.Popen[bytes]:
    svg.parent.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "--rate", "100", "-o", str(svg), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def one_round(url: str, args: argparse.Namespace, folder: Path, contacts: Path) -> None:
    """A daemon on a fresh database sends the notice; then the bare client sends the same."""
    recipients = 98 * args.contacts + 3
    with relay() as (smtp_port, stamps):
        http_port = free_port()
        environment = env(
            url,
            smtp_port,
            http_port,
            municipal_release="immediate",
            contacts_dir=str(contacts),
            log_level="ERROR",
        )
        with daemon(environment, folder / "large.log") as (process, _):
            connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=120)
            spy = profiler(process.pid, Path(args.profile)) if args.profile else None
            began = time.monotonic()
            answer = post(connection, outage(f"large-{time.time_ns()}"))
            posted = time.monotonic() - began
            got = stamps.take(PAGES + recipients, timeout=1800)
            ours = max(t for _, t in got) - began
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            rss = peak_rss(process.pid)
            connection.close()
        messages = messages_of(url, int(answer["incident"]))
        assert len(messages) == recipients, len(messages)
        # In a thread: the stamps must be read meanwhile, or the relay blocks on a full pipe.
        client = threading.Thread(
            target=asyncio.run, args=(bare_client(smtp_port, messages, CONCURRENCY),)
        )
        began = time.monotonic()
        client.start()
        bare = max(t for _, t in stamps.take(recipients, timeout=1800)) - began
        client.join()
    print(
        f"  POST (trigger) {posted * 1000:.0f} ms; POST → last at the relay {ours:.2f} s "
        f"({recipients / ours:.0f} msg/s); bare client {bare:.2f} s; ratio {ours / bare:.2f}x; "
        f"daemon peak RSS {rss:.0f} MiB (load {load()})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100, help="addresses per municipality")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--profile", help="write a py-spy flamegraph (SVG) of the daemon here")
    parser.add_argument("--quick", action="store_true", help="10 contacts, SQLite, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.contacts, args.stores, args.rounds = 10, "sqlite", 1
    print(f"load average at start {load()} (1/5/15 min); the machine is shared", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        contacts = big_registry(Path(tmp), args.contacts)
        for store in args.stores.split(","):
            print(f"{store}: {98 * args.contacts + 3} recipients, {CONCURRENCY} connections")
            for index in range(args.rounds):
                folder = Path(tmp) / f"{store}-{index}"
                folder.mkdir()
                if store == "sqlite":
                    one_round(f"sqlite:///{folder / 'bench.db'}", args, folder, contacts)
                    continue
                name, url = pg_database(args.pg)
                try:
                    one_round(url, args, folder, contacts)
                finally:
                    drop_pg(args.pg, name)


if __name__ == "__main__":
    main()
