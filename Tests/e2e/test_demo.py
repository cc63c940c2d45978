"""`lifeline demo` (spec §9): ticker, Lifeline and client in one process on loopback.

The demo prints a status line per second and a summary; it exits 0 only when the
client saw every sequence number exactly once across Lifeline's upstream rotations.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from conftest import lifeline_bin


def demo_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}


def start_demo(*args: str) -> subprocess.Popen:
    binary = lifeline_bin()
    if not binary.exists():
        pytest.fail(f"Lifeline binary {binary} not found: build it or set LIFELINE_BIN")
    return subprocess.Popen(
        [str(binary), "demo", *args],
        env=demo_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"lifeline demo still running after {timeout} s\nstdout:\n{out}\nstderr:\n{err}")


def summary_number(out: str, pattern: str) -> int:
    match = re.search(pattern, out, re.MULTILINE)
    assert match, f"no {pattern!r} in the demo output:\n{out}"
    return int(match.group(1))


def test_demo_ten_seconds_no_gap_no_duplicate():
    started = time.monotonic()
    proc = start_demo("--duration", "10")
    out, err = finish(proc, timeout=25)
    elapsed = time.monotonic() - started
    context = f"stdout:\n{out}\nstderr:\n{err}"
    assert proc.returncode == 0, context
    assert elapsed < 20, context
    status_lines = [line for line in out.splitlines() if re.match(r"t=\d+s\s", line)]
    assert len(status_lines) >= 8, context
    assert summary_number(out, r"^gaps = (\d+)") == 0, context
    assert summary_number(out, r"^duplicates = (\d+)") == 0, context
    assert summary_number(out, r"^rotations\s+(\d+)") >= 1, context
    assert summary_number(out, r"^messages\s+(\d+) received") >= 1000, context
    assert summary_number(out, r"^pings\s+(\d+) downstream") > 0, context
    assert summary_number(out, r"^pings\s+\d+ downstream \(\d+ pongs\), (\d+) upstream") > 0, context
    assert "OK: no gap and no duplicate" in out, context


def test_demo_interrupted_prints_summary_and_exits_zero():
    proc = start_demo()  # default length, 15 s: stopped early by SIGINT (Ctrl-C)
    assert proc.stdout is not None
    status_seen = 0
    deadline = time.monotonic() + 10
    while status_seen < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()  # lines are flushed one by one, so a pipe sees them live
        if not line:
            break
        if line.startswith("t="):
            status_seen += 1
    assert status_seen == 2, "no live status lines before the interrupt"
    proc.send_signal(signal.SIGINT)
    out, err = finish(proc, timeout=5)
    context = f"stdout:\n{out}\nstderr:\n{err}"
    assert proc.returncode == 0, context
    assert "interrupted" in out, context
    assert summary_number(out, r"^gaps = (\d+)") == 0, context
    assert summary_number(out, r"^duplicates = (\d+)") == 0, context
    assert summary_number(out, r"^messages\s+(\d+) received") > 0, context
