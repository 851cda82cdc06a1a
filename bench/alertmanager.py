"""The yardstick for the 98 notices: Debian's real `prometheus-alertmanager` mailing one alert
to 101 e-mail receivers (the 98 municipalities' and the 3 vendors' addresses of contacts/), to
the same kind of relay in its own process, on loopback.

Alertmanager runs with a throw-away config and data folder and no cluster listener; its route
sends every alert to all 101 receivers (`continue: true`, `group_wait: 0s`). Each round POSTs a
new alert to `/api/v2/alerts` and takes the time from before the POST to the first and the last
of the 101 messages at the relay.

    python -m bench.alertmanager [--rounds 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.daemon import load, pct, relay
from bench.inform_all import ROOT
from dispatcher.mailcatcher import free_port

BINARY = shutil.which("prometheus-alertmanager")


def addresses() -> list[str]:
    """The first address of each municipality and each vendor of contacts/."""
    found = []
    for name in ("municipalities.csv", "vendors.csv"):
        with (ROOT / "contacts" / name).open(encoding="utf-8", newline="") as source:
            found += [row["emails"].split(";")[0] for row in csv.DictReader(source)]
    return found


def config(smtp_port: int, to: list[str]) -> str:
    lines = [
        "global:",
        f"  smtp_smarthost: 127.0.0.1:{smtp_port}",
        "  smtp_from: fmk-beredskab@medcom.example",
        "  smtp_require_tls: false",
        "route:",
        "  receiver: r0",
        "  group_by: [alertname]",
        "  group_wait: 0s",
        "  group_interval: 1m",
        "  repeat_interval: 4h",
        "  routes:",
    ]
    lines += [f"    - receiver: r{i}\n      continue: true" for i in range(len(to))]
    lines.append("receivers:")
    lines += [f"  - name: r{i}\n    email_configs:\n      - to: {a}" for i, a in enumerate(to)]
    return "\n".join(lines) + "\n"


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1):
            return True
    except OSError:
        return False


def fire(port: int, name: str) -> None:
    alert = [
        {
            "labels": {"alertname": name, "service": "FMK", "severity": "critical"},
            "annotations": {"summary": "FMK svarer ikke", "description": "SDS undersøger."},
        }
    ]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/alerts",
        data=json.dumps(alert).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200, answer.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    assert BINARY is not None, "prometheus-alertmanager is not installed"
    to = addresses()
    print(f"load average at start {load()} (1/5/15 min); the machine is shared")
    with tempfile.TemporaryDirectory() as tmp, relay() as (smtp_port, stamps):
        folder = Path(tmp)
        (folder / "alertmanager.yml").write_text(config(smtp_port, to), encoding="utf-8")
        port = free_port()
        with (folder / "alertmanager.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    BINARY,
                    f"--config.file={folder / 'alertmanager.yml'}",
                    f"--storage.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            while not ready(port):
                assert process.poll() is None, (folder / "alertmanager.log").read_text()
                time.sleep(0.01)
            first, last = [], []
            for index in range(args.rounds):
                began = time.monotonic()
                fire(port, f"FMKDown{index}-{time.time_ns()}")
                got = stamps.take(len(to))
                first.append((min(t for _, t in got) - began) * 1000)
                last.append((max(t for _, t in got) - began) * 1000)
                stamps.flush()
        finally:
            process.terminate()
            process.wait(10)
    print(
        f"  Alertmanager, {len(to)} e-mail receivers: first p50 {statistics.median(first):.1f} "
        f"ms; last p50 {pct(last, 50):.1f} ms, p99 {pct(last, 99):.1f} ms, max "
        f"{max(last):.1f} ms (n={args.rounds}, load {load()})"
    )


if __name__ == "__main__":
    main()
