"""What the figures were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["describe", "load"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load() -> str:
    """The 1-minute load average: other work on the machine shows in every figure."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "unknown"


def describe(load_before: str) -> str:
    """One line: CPU count and model, Python, the load, date (UTC)."""
    return (
        f"{os.cpu_count()} CPU ({_cpu_model()}), Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()}; load average "
        f"{load_before} before the run, {load()} after; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
