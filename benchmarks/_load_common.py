"""Shared parts of the load benchmarks: the node-server subprocess, /proc sampling, stats and plots."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

_TICKS = os.sysconf("SC_CLK_TCK")


def proc_sample(pid: int) -> tuple[float, float]:
    """Return ``(RSS MiB, CPU seconds user+system)`` of process ``pid`` from /proc."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / _TICKS


class ProcMonitor(threading.Thread):
    """Sample RSS and CPU of ``pid`` every ``period`` seconds into ``samples`` (t, rss_mib, cpu_percent)."""

    def __init__(self, pid: int, period: float = 1.0):
        super().__init__(daemon=True)
        self.pid, self.period, self.samples, self.stop = pid, period, [], threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        last_t, last_cpu = time.monotonic(), proc_sample(self.pid)[1]
        while not self.stop.wait(self.period):
            try:
                rss, cpu = proc_sample(self.pid)
            except (FileNotFoundError, StopIteration, ProcessLookupError):
                return
            now = time.monotonic()
            self.samples.append((now - self.t0, rss, 100.0 * (cpu - last_cpu) / max(now - last_t, 1e-9)))
            last_t, last_cpu = now, cpu


def start_server(module_args: list[str], env_extra: dict | None = None) -> subprocess.Popen:
    """Start ``python <this benchmark> --serve ...`` in its own process (the nodes under test)."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen([sys.executable, *module_args], env=env)


def wait_until_connected(ready, timeout: float, what: str) -> None:
    """Poll ``ready()`` until it holds, then give discovery one more second; ``TimeoutError`` naming ``what``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ready():
            time.sleep(1.0)
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up")


def percentiles(values, qs=(50, 95, 99)) -> dict:
    """Return ``{"p50": ..., ...}`` in ms of latencies given in seconds (empty -> NaN)."""
    arr = np.asarray(values, dtype=np.float64) * 1e3
    out = {f"p{q}": float(np.percentile(arr, q)) if arr.size else float("nan") for q in qs}
    out["max"] = float(arr.max()) if arr.size else float("nan")
    return out


def memory_growth(samples, warmup_s: float) -> dict:
    """RSS after warm-up: first, last, max and the fitted slope (MiB/min)."""
    after = [(t, r) for t, r, _ in samples if t >= warmup_s]
    if len(after) < 2:
        return {}
    t, r = np.array(after).T
    slope = float(np.polyfit(t, r, 1)[0]) * 60.0
    return {"rss_first_mib": float(r[0]), "rss_last_mib": float(r[-1]), "rss_max_mib": float(r.max()),
            "rss_slope_mib_per_min": slope}


def plot(path: str, latencies, samples, title: str) -> None:
    """Latency over time (scatter + rolling p95) and RSS/CPU over time, one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    if latencies:
        t, lat = np.array(latencies).T
        ax1.plot(t, lat * 1e3, ",", alpha=0.3, label="per message")
        order = np.argsort(t)
        window = max(len(t) // 100, 1)
        p95 = [np.percentile(lat[order][max(0, i - window):i + 1], 95) * 1e3 for i in range(len(t))]
        ax1.plot(t[order], p95, "r-", lw=1, label="rolling p95")
        ax1.set_yscale("log")
    ax1.set_ylabel("end-to-end latency (ms)")
    ax1.legend(loc="upper right")
    ax1.set_title(title)
    if samples:
        st, rss, cpu = np.array(samples).T
        ax2.plot(st, rss, "b-", label="RSS (MiB)")
        ax2.set_ylabel("RSS (MiB)")
        ax3 = ax2.twinx()
        ax3.plot(st, cpu, "g-", alpha=0.5, label="CPU (%)")
        ax3.set_ylabel("CPU (% of one core)")
    ax2.set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_json(path: str, data: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            out[int(pid)] = (head.split("(", 1)[1], int(fields[11]) + int(fields[12]))
        except (OSError, IndexError, ValueError):
            continue
    return out


def machine_load(seconds: float = 1.0, top: int = 4) -> dict:
    """How busy the machine is: load averages, busy share of all CPUs and the top processes over ``seconds``.

    Benchmarks on a shared machine record this before and after, so their figures
    can be read against the load they were taken under.
    """
    def busy():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values) - values[3] - values[4], sum(values)
    (b0, t0), procs0 = busy(), _cpu_ticks()
    time.sleep(seconds)
    (b1, t1), procs1 = busy(), _cpu_ticks()
    shares = sorted(((100.0 * (ticks - procs0[pid][1]) / _TICKS / seconds, name) for pid, (name, ticks)
                     in procs1.items() if pid in procs0 and ticks > procs0[pid][1]), reverse=True)[:top]
    return {"loadavg": list(os.getloadavg()), "cpus": os.cpu_count(),
            "busy_percent_of_all_cpus": round(100.0 * (b1 - b0) / max(t1 - t0, 1), 1),
            "top_processes_percent_of_one_core": [[name, round(share, 1)] for share, name in shares]}


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of every thread of ``pid``, by thread id."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / _TICKS
        except (OSError, IndexError, ValueError):
            continue
    return out


def busy_loops(count: int) -> list:
    """Start ``count`` processes that each spin one core: the other work of a busy robot computer."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
