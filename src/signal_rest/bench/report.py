"""What a figure yields, and the table it is printed as.

Figure("webhook deliveries/s", "2,310/s", "target alone: 9,800/s", "≥ 2,000/s", ok=True)
Check("webhook: 10,000 of 10,000 once, in order", ok=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Check", "Figure", "Outcome", "render", "to_json"]


@dataclass(frozen=True)
class Figure:
    """One row of the table. `ok` is None when the figure was not measured (skipped)."""

    figure: str
    measured: str
    reference: str
    goal: str
    ok: bool | None

    @property
    def verdict(self) -> str:
        return {True: "OK", False: "SHORT", None: "SKIPPED"}[self.ok]


@dataclass(frozen=True)
class Check:
    """A correctness check: it must hold whatever the speed."""

    check: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    """What one figure function returns."""

    figures: list[Figure]
    checks: list[Check]


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return [line.rstrip() for line in lines]


def render(outcomes: Sequence[Outcome], machine: str) -> str:
    figures = [f for o in outcomes for f in o.figures]
    checks = [c for o in outcomes for c in o.checks]
    rows = [("figure", "measured", "reference", "goal", "result")]
    rows += [(f.figure, f.measured, f.reference, f.goal, f.verdict) for f in figures]
    lines = _table(rows)
    lines += ["", "correctness:"]
    for check in checks:
        detail = f" ({check.detail})" if check.detail else ""
        lines.append(f"  {'OK  ' if check.ok else 'FAIL'} {check.check}{detail}")
    lines += ["", f"machine: {machine}"]
    return "\n".join(lines)


def to_json(outcomes: Sequence[Outcome], machine: str) -> dict[str, Any]:
    return {
        "machine": machine,
        "figures": [{**asdict(f), "result": f.verdict} for o in outcomes for f in o.figures],
        "checks": [asdict(c) for o in outcomes for c in o.checks],
    }
