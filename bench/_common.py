"""Shared helpers of the benchmarks: argument parsing, statistics and output."""

import argparse
import json
import statistics
import subprocess
import time
from collections.abc import Callable


def parser(description: str) -> argparse.ArgumentParser:
    """Return an argument parser with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="PATH", help="write the figures as one JSON object")
    return p


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Run ``fn`` ``repeat`` times; return the durations in milliseconds."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def percentile(values: list[float], p: float) -> float:
    """Return the p-th percentile (0-100) of ``values``."""
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def p99_by_window(points: list[tuple[float, float]], seconds: float) -> list[float]:
    """Return the p99 of the (when, ms) points in each window of ``seconds`` from the
    earliest; a window with none is 0 (the start and finish bursts apart from the rest)."""
    if not points:
        return []
    first = min(at for at, _ in points)
    windows: dict[int, list[float]] = {}
    for at, ms in points:
        windows.setdefault(int((at - first) // seconds), []).append(ms)
    return [round(percentile(windows.get(i, [0.0]), 99), 1) for i in range(max(windows) + 1)]


def summarise(name: str, ms: list[float]) -> dict:
    """Return median and p99 of ``ms`` under snake_case names with units."""
    return {
        f"{name}_p50_ms": round(statistics.median(ms), 3),
        f"{name}_p99_ms": round(percentile(ms, 99), 3),
    }


def report(figures: dict, json_path: str | None) -> None:
    """Print the figures as a table and optionally write them as JSON."""
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    if json_path:
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=2)


def stop_process(proc: subprocess.Popen, timeout: float) -> None:
    """Stop a process gracefully (SIGTERM), or kill it if it lingers past ``timeout`` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
