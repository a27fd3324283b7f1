"""Bounded load on `narrator serve` over loopback, the way podcast players fetch episodes.

    python bench/load.py                          # 50 clients for 20 s on the seed, narrated into a temporary folder
    python bench/load.py --clients 100 --seconds 60 --folder output

Each client keeps one connection alive and asks, again and again, for a byte
range of an episode's MP3 (1 byte to 256 KiB; one request in ten open-ended,
"bytes=N-", as a player resuming near the end does) and now and then of its
captions. Every answer is checked: 206, the Content-Range asked for, and the
very bytes of the file. An error is a failed request, another status or wrong
bytes. Prints requests per second, throughput, latency percentiles and errors;
nothing is asserted, but the exit status is 1 when there were errors.

Client and server share the machine, so on few cores the figures are the
pair's, not the server's alone: the client's and the server's CPU time are
printed to show which one was busy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "north-korea-troops-morale.txt"
MAX_RANGE_BYTES = 256 * 1024
START_TIMEOUT_S = 60


@dataclass
class Tally:
    requests: int = 0
    latencies_s: list[float] = field(default_factory=list)
    """Of the requests that were answered."""
    bytes_received: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.99)
    (2.0, 4.0)
    """
    if not sorted_values:
        return float("nan")
    rank = max(1, round(share * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def start_server(folder: Path) -> tuple[subprocess.Popen[str], str]:
    """`narrator serve FOLDER --port 0`; returns the process and its http://127.0.0.1:PORT/."""
    command = [sys.executable, "-m", "narrator", "serve", str(folder), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], START_TIMEOUT_S)
    line = process.stderr.readline() if ready else ""
    found = re.search(r" at (http://\S+/) ", line)
    if not found:
        process.kill()
        raise SystemExit(f"narrator serve did not start: {line}{process.stderr.read()}")
    return process, found.group(1)


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def fetch(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, name: str, spec: str
) -> tuple[int, dict[str, str], bytes]:
    """One GET with a Range header on a kept-alive connection: status, headers (lower-case names), body.

    A deliberately small HTTP/1.1 client, so that the client's own work weighs
    little beside the server's: the server always sends Content-Length for files.
    """
    writer.write(f"GET /{name} HTTP/1.1\r\nHost: {host}\r\nRange: {spec}\r\n\r\n".encode("ascii"))
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split(b" ", 2)[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def client(base: str, files: dict[str, bytes], deadline: float, tally: Tally, rng: random.Random) -> None:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    names = list(files)
    weights = [1 if name.endswith(".vtt") else 9 for name in names]
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.perf_counter() < deadline:
        name = rng.choices(names, weights)[0]
        data = files[name]
        if rng.random() < 0.1:
            first = rng.randrange(max(1, len(data) - MAX_RANGE_BYTES), len(data))
            last, spec = len(data) - 1, f"bytes={first}-"
        else:
            first = rng.randrange(len(data))
            last = min(len(data) - 1, first + rng.randint(1, MAX_RANGE_BYTES) - 1)
            spec = f"bytes={first}-{last}"
        started = time.perf_counter()
        tally.requests += 1
        try:
            if connection is None:
                connection = await asyncio.open_connection(host, port)
            status, headers, body = await fetch(*connection, host, name, spec)
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            tally.error(type(exc).__name__)
            if connection is not None:
                connection[1].close()
            connection = None
            continue
        tally.latencies_s.append(time.perf_counter() - started)
        tally.bytes_received += len(body)
        if status != 206:
            tally.error(f"status {status}")
        elif headers.get("content-range") != f"bytes {first}-{last}/{len(data)}":
            tally.error("wrong Content-Range")
        elif body != data[first : last + 1]:
            tally.error("wrong bytes")
        if headers.get("connection", "").lower() == "close":
            connection[1].close()
            connection = None
    if connection is not None:
        connection[1].close()


async def load(base: str, files: dict[str, bytes], clients: int, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(base, files, deadline, tally, random.Random(n)) for n in range(clients)))
    return tally, time.perf_counter() - started


def narrate_seed(folder: Path) -> None:
    print(f"narrating {SEED.name} into {folder} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "narrator", "narrate", str(SEED), "-o", str(folder), "-q"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--seconds", type=float, default=20, help="how long to load the server (default 20)")
    parser.add_argument("--folder", type=Path, help="a podcast folder to serve (default: the seed, narrated)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="narrator-load-") as work:
        folder = args.folder
        if folder is None:
            folder = Path(work) / "podcast"
            narrate_seed(folder)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".mp3", ".vtt")}
        if not any(name.endswith(".mp3") for name in files):
            raise SystemExit(f"{folder} has no episodes to fetch")
        process, base = start_server(folder)
        try:
            asyncio.run(load(base, files, clients=min(args.clients, 4), seconds=1))  # warm up
            cpu_before, client_before = server_cpu_s(process.pid), time.process_time()
            tally, elapsed = asyncio.run(load(base, files, clients=args.clients, seconds=args.seconds))
            server_cpu = server_cpu_s(process.pid) - cpu_before
            client_cpu = time.process_time() - client_before
        finally:
            process.send_signal(signal.SIGINT)
            try:
                status = process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                status = process.wait()

    latencies = sorted(tally.latencies_s)
    requests = tally.requests
    errors = sum(tally.errors.values())
    rows = [
        ("server", f"narrator serve on {base} ({os.cpu_count()} CPUs, client in the same machine)"),
        ("files", ", ".join(f"{name} ({len(data):,} bytes)" for name, data in files.items())),
        ("clients", f"{args.clients}, one keep-alive connection each, for {elapsed:.1f} s"),
        ("requests", f"{requests:,}"),
        ("requests/s", f"{requests / elapsed:,.1f}"),
        ("throughput", f"{tally.bytes_received / elapsed / 1e6:,.1f} MB/s"),
        ("latency p50", f"{percentile(latencies, 0.50) * 1000:.1f} ms"),
        ("latency p95", f"{percentile(latencies, 0.95) * 1000:.1f} ms"),
        ("latency p99", f"{percentile(latencies, 0.99) * 1000:.1f} ms"),
        ("latency max", f"{(latencies[-1] if latencies else float('nan')) * 1000:.1f} ms"),
        ("errors", f"{errors}" + (f" {tally.errors}" if errors else "")),
        ("CPU", f"server {server_cpu:.1f} s, client {client_cpu:.1f} s over {elapsed:.1f} s"),
        ("load average", " ".join(f"{n:.2f}" for n in os.getloadavg()) + " (1, 5, 15 min, other work included)"),
        ("server exit", f"{status} after Ctrl-C"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 1 if errors or status != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
