"""Load from Debian's `wrk` (`apt-get install wrk`), with a Lua script that checks every answer:
each of wrk's threads counts the answers whose status is not the expected one or whose body
lacks a needle (`response` hook, per-thread counters), and `done` adds them up and prints them
as one JSON line.

    load = run(root, port, "POST", "/v2/send", body, connections=64, seconds=10.0,
               status=201, needle=b"timestamp")

wrk stops at its deadline with requests in flight: their answers are not counted (at most one
per connection), though the server may well carry them out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from signal_rest.bench.loadgen import Load
from signal_rest.bench.processes import BenchError

__all__ = ["SCRIPT", "available", "run"]

MARK = "bench-wrk-result "

# wrk's Lua: `init` runs in each thread with the arguments after `--`: the expected status, the
# needle, and for a POST its JSON body.
SCRIPT = """
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = tonumber(args[1])
  needle = args[2]
  if args[3] then
    wrk.method = "POST"
    wrk.body = args[3]
    wrk.headers["Content-Type"] = "application/json"
  end
  answered, bad, sample = 0, 0, ""
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= expected or not string.find(body, needle, 1, true) then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 200) end
  end
end

local function quoted(text)
  return '"' .. string.gsub(text, '[%c"\\\\]', function(c)
    return string.format("\\\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local total, wrong, samples = 0, 0, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("answered")
    wrong = wrong + thread:get("bad")
    local s = thread:get("sample")
    if s ~= "" then table.insert(samples, quoted(s)) end
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"answered": %d, "bad": %d, "samples": [%s], "seconds": %f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\\n',
    "MARK", total, wrong, table.concat(samples, ", "), summary.duration / 1e6,
    e.connect, e.read, e.write, e.timeout))
end
""".replace("MARK", MARK)


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    root: Path,
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    *,
    connections: int,
    seconds: float,
    status: int,
    needle: bytes,
) -> Load:
    script = root / "bench-wrk.lua"
    script.write_text(SCRIPT)
    threads = max(1, min(os.cpu_count() or 1, connections))
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s"]
    argv += ["-s", str(script), f"http://127.0.0.1:{port}{path}", "--", str(status)]
    argv += [needle.decode()]
    if method == "POST":
        argv.append((body or b"").decode())
    elif method != "GET":
        raise ValueError(f"wrk.run: GET or POST, not {method}")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not end within {seconds + 60:g} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result = json.loads(lines[-1][len(MARK) :])
    errors = [f"{n} socket {kind} errors" for kind, n in result["errors"].items() if n]
    return Load(
        answered=result["answered"],
        bad=result["bad"],
        samples=result["samples"],
        seconds=result["seconds"],
        errors=errors,
    )
