"""A process's resident memory as Linux reports it in /proc/PID/status:

    rss(pid)            # VmRSS now, bytes
    peak = Peak(pid)    # from now on: the highest VmRSS (VmHWM after a reset, else sampled)
    ...
    peak.stop()         # bytes

Other systems have no /proc: the memory figures need Linux.
"""

from __future__ import annotations

import threading
from pathlib import Path

__all__ = ["MIB", "Peak", "rss", "status_bytes"]

MIB = 1024 * 1024
# Seconds between two samples when the kernel's high-water mark can't be reset.
SAMPLE = 0.002


def status_bytes(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM, …), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024
    raise LookupError(f"no {field} in /proc/{pid}/status")


def rss(pid: int) -> int:
    return status_bytes(pid, "VmRSS")


class Peak:
    """The highest resident memory of `pid` from its creation to `stop()`.

    Writing 5 to /proc/PID/clear_refs resets the kernel's high-water mark (VmHWM) to the RSS of
    the moment, so VmHWM afterwards is the exact peak. Where that is refused, a thread samples
    VmRSS every SAMPLE seconds (and may miss a peak shorter than that)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.sampled = False
        self._highest = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            self.sampled = True
            self._highest = rss(pid)
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stopping.wait(SAMPLE):
            self._highest = max(self._highest, rss(self.pid))

    def stop(self) -> int:
        if self._thread is None:
            return status_bytes(self.pid, "VmHWM")
        self._stopping.set()
        self._thread.join()
        return max(self._highest, rss(self.pid))
