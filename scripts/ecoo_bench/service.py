"""The service in its own gunicorn processes, its memory, and the load generator."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from ecoo.anvil import free_port

# -- the service in its own processes ----------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _status_kb(pid: int, field_name: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


class ServiceProcess:
    """``gunicorn 'ecoo.service:create_app()'`` on 127.0.0.1 with gthread workers."""

    def __init__(self, env: dict[str, str], workers: int, threads: int, log_file: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "gunicorn",
            "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
            "--bind", f"127.0.0.1:{self.port}", "--timeout", "300", "--graceful-timeout", "10",
            "--log-level", "warning", "ecoo.service:create_app()",
        ]  # fmt: skip
        self.command = command
        with open(log_file, "ab") as output:
            self.process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {log_file}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=5) as response:
                    if json.loads(response.read())["status"] == "ok":
                        break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"the service did not answer within 90 s; see {log_file}")

    def pids(self) -> list[int]:
        return [self.process.pid, *_children(self.process.pid)]

    def rss_kb(self) -> int:
        return sum(_status_kb(pid, "VmRSS") for pid in self.pids())

    def pss_kb(self) -> int:
        """Proportional set size: shared pages counted once across the processes."""
        total = 0
        for pid in self.pids():
            try:
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            match = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
            total += int(match.group(1)) if match else 0
        return total

    def cpu_seconds(self) -> dict[int, float]:
        """User + system CPU seconds of each process so far (/proc/<pid>/stat)."""
        out = {}
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def hwm_kb(self) -> dict[int, int]:
        return {pid: _status_kb(pid, "VmHWM") for pid in self.pids()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """CPU seconds each service process spent between two readings, busiest first."""
    return sorted((round(after[pid] - before.get(pid, 0.0), 2) for pid in after), reverse=True)


class RssSampler:
    """Samples the summed VmRSS of the service's processes every 50 ms while running."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self.service.rss_kb())
            self.peak_pss_kb = max(self.peak_pss_kb, self.service.pss_kb())
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- the load generator ------------------------------------------------------------------------


@dataclass
class LoadResult:
    elapsed: float
    latencies: list[float]
    statuses: dict[int, int]
    bodies: list[bytes] = field(default_factory=list)


async def _load(
    method: str,
    urls: Sequence[str],
    bodies: Sequence[bytes] | None,
    concurrency: int,
    requests: int,
    headers: dict[str, str],
    keep_bodies: bool,
) -> LoadResult:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    kept: list[bytes] = []
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as session:

        async def worker() -> None:
            for i in counter:
                data = bodies[i % len(bodies)] if bodies else None
                start = time.perf_counter()
                async with session.request(method, urls[i % len(urls)], data=data, headers=headers) as response:
                    body = await response.read()
                latencies.append(time.perf_counter() - start)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if keep_bodies:
                    kept.append(body)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return LoadResult(elapsed, latencies, statuses, kept)


def load(
    method: str,
    urls: str | Sequence[str],
    bodies: Sequence[bytes] | None = None,
    *,
    concurrency: int = 1,
    requests: int = 1,
    headers: dict[str, str] | None = None,
    keep_bodies: bool = False,
) -> LoadResult:
    url_list = [urls] if isinstance(urls, str) else list(urls)
    return asyncio.run(_load(method, url_list, bodies, concurrency, requests, headers or {}, keep_bodies))


JSON = {"Content-Type": "application/json"}


def check_all_valid(result: LoadResult, expected: int) -> None:
    if result.statuses != {200: len(result.latencies)}:
        raise RuntimeError(f"unexpected HTTP statuses {result.statuses}")
    valid = sum(body.count(b'"verdict":"VALID"') for body in result.bodies)
    if valid != expected:
        raise RuntimeError(f"{valid} VALID verdicts, expected {expected}")
