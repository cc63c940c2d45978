"""Fixtures for Lifeline's end-to-end tests: real peers on loopback.

* ``upstream``      a recording websockets echo server (echo_upstream.Upstream).
* ``ticker``        a recording broadcast ticker, 500 msgs/s (ticker_upstream.Ticker).
* ``lifeline``      a factory: ``lifeline(upstream_url, {overrides}, nofile=N)`` writes a
                    temporary config.json (spec §2 key names), starts
                    ``$LIFELINE_BIN --config FILE`` with stderr captured to a file,
                    waits until its port accepts, and returns a handle. Every
                    process started is SIGTERMed at teardown, SIGKILLed after 3 s,
                    whether the test passed or not.
* ``closed_port``   a loopback port nothing listens on.
* ``silent_server`` a TCP listener that accepts and never answers.

When a test fails, the stderr of each Lifeline it started is attached to the
report (section "lifeline stderr").
"""

from __future__ import annotations

import copy
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from echo_upstream import Upstream  # noqa: E402
from ticker_upstream import Ticker  # noqa: E402


def lifeline_bin() -> Path:
    path = Path(os.environ.get("LIFELINE_BIN", ROOT / ".build" / "debug" / "lifeline"))
    if not path.is_absolute():
        path = ROOT / path
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host.strip("[]"), port), timeout=0.2).close()
        return True
    except OSError:
        return False


def deep_merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class Lifeline:
    proc: subprocess.Popen
    port: int
    host: str  # as written in "listen": 127.0.0.1 or [::1]
    config: dict
    config_path: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return "<no stderr file>"

    def log_events(self) -> list[dict]:
        events = []
        for line in self.stderr().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        return events

    def events(self, name: str) -> list[dict]:
        """The JSON log events called `name`, in order."""
        return [e for e in self.log_events() if e.get("event") == name]

    def wait_for_event(self, name: str, timeout: float = 5.0, count: int = 1) -> list[dict]:
        """Poll stderr until `count` events called `name` were logged (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(name)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {count}x {name!r} log event within {timeout} s; stderr:\n{self.stderr()[-4000:]}")
            time.sleep(0.01)

    def rewrite_config(self, overrides: dict[str, Any] | None = None, text: str | None = None) -> None:
        """Replace the config file (for SIGHUP): the current config with `overrides`
        merged in, or `text` verbatim (e.g. an invalid file)."""
        if text is None:
            self.config = deep_merge(self.config, overrides or {})
            text = json.dumps(self.config, indent=2)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config_path)  # atomic: a reload never reads half a file

    def assert_alive(self) -> None:
        code = self.proc.poll()
        assert code is None, f"lifeline exited with code {code}; stderr:\n{self.stderr()[-4000:]}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, ll in enumerate(getattr(item, "_lifelines", [])):
            text = ll.stderr()
            if len(text) > 20000:
                text = "... (cut) ...\n" + text[-20000:]
            report.sections.append((f"lifeline stderr #{i + 1} (port {ll.port}, exit {ll.proc.poll()})", text))


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = Upstream().start()
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture
def ticker() -> Iterator[Ticker]:
    tk = Ticker().start()
    try:
        yield tk
    finally:
        tk.stop()


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections, reads nothing, never answers."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                held.append(conn)
            except socket.timeout:
                continue
            except OSError:
                return

    t = threading.Thread(target=accept_loop, name="silent-server", daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        srv.close()


@pytest.fixture
def lifeline(request, tmp_path) -> Iterator[Callable[..., Lifeline]]:
    """Factory: lifeline(upstream_url, overrides=None) -> running Lifeline."""
    started: list[Lifeline] = []
    request.node._lifelines = started
    binary = lifeline_bin()

    def start(upstream_url: str, overrides: dict[str, Any] | None = None, nofile: int | None = None) -> Lifeline:
        """`nofile`: start Lifeline with RLIMIT_NOFILE (soft and hard) set to it."""
        if not binary.exists():
            pytest.fail(f"Lifeline binary {binary} not found: build it or set LIFELINE_BIN")
        port = free_port()
        config = deep_merge(
            {
                "listen": f"127.0.0.1:{port}",
                "admin_listen": None,
                "log": {"level": "info", "format": "json"},
                "upstream": {"url": upstream_url},
            },
            overrides or {},
        )
        host, _, listen_port = config["listen"].rpartition(":")
        port = int(listen_port)
        n = len(started) + 1
        config_path = tmp_path / f"config-{n}.json"
        config_path.write_text(json.dumps(config, indent=2))
        stderr_path = tmp_path / f"lifeline-{n}.stderr"
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                [str(binary), "--config", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                cwd=tmp_path,
                env={k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")},
                preexec_fn=None if nofile is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))),
            )
        ll = Lifeline(proc, port, host, config, config_path, stderr_path)
        started.append(ll)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"lifeline exited with code {proc.returncode} before listening; stderr:\n{ll.stderr()}")
            if port_accepts(port, host):
                return ll
            time.sleep(0.02)
        pytest.fail(f"lifeline did not accept on {host}:{port} within 10 s; stderr:\n{ll.stderr()}")

    try:
        yield start
    finally:
        for ll in started:
            ll.stop()
