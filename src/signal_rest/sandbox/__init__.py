"""A simulated Signal network served as signal-cli's JSON-RPC daemon (multi-account mode)."""

from __future__ import annotations

from .daemon import RECEIVE_MODES, SandboxDaemon
from .runner import run

__all__ = ["RECEIVE_MODES", "SandboxDaemon", "run"]
