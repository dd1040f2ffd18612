"""The benchmark: signal-rest measured as a user runs it, on this machine.

    python -m signal_rest.bench            # every figure, full size (about a minute)
    python -m signal_rest.bench --short    # a few hundred messages each: a smoke run
    scripts/bench                          # the same, in the repo's venv

The sandbox runs as its own process (`signal-rest sandbox`), the service as another
(`signal-rest serve --signal-cli-url unix://…`), each figure's helpers (listeners, webhook
target) in processes of their own: everything talks over sockets, as in production.

Each figure is a function in `FIGURES` (see `run`) that gets the running `World` and the
`Options` and returns `Figure` rows and `Check`s (report.py); a figure measures its reference in
the same run where one applies, so the ratio and not the machine's speed is what is compared
with the goal. The
correctness checks (every message arrived, once, in order) are part of the output: the
benchmark exits with 1 when one fails, never because a goal is short.
"""
