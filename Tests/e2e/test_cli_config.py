"""Command line and configuration (spec §1, §2): exit codes and error messages
that name the field's JSON path, the bad value and the allowed range."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import lifeline_bin


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    binary = lifeline_bin()
    if not binary.exists():
        pytest.fail(f"Lifeline binary {binary} not found: build it or set LIFELINE_BIN")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    base_env.update(env or {})
    return subprocess.run(
        [str(binary), *args],
        cwd=cwd,
        env=base_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
    )


def check_config(tmp_path: Path, config: dict | str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    return run_cli(["--check-config", "--config", str(path)], tmp_path, env)


VALID = {"upstream": {"url": "ws://127.0.0.1:9/base"}}


def test_version_exits_0(tmp_path):
    res = run_cli(["--version"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() or res.stderr.strip(), "--version printed nothing"


def test_help_exits_0(tmp_path):
    res = run_cli(["--help"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "--check-config" in res.stdout + res.stderr


def test_valid_config_prints_effective_json(tmp_path):
    res = check_config(tmp_path, VALID)
    assert res.returncode == 0, res.stderr
    effective = json.loads(res.stdout)
    assert effective["upstream"]["url"] == "ws://127.0.0.1:9/base"
    # Defaults from spec §2 are filled in.
    assert effective["listen"] == "127.0.0.1:8080"
    assert effective["upstream"]["ping_interval_seconds"] == 180
    assert effective["downstream"]["ping_interval_seconds"] == 30
    assert effective["limits"]["max_message_bytes"] == 16777216
    assert effective["upstream"]["on_close"] == "reconnect"


def test_environment_overrides_file(tmp_path):
    res = check_config(
        tmp_path,
        VALID,
        env={"LIFELINE_UPSTREAM_PING_INTERVAL_SECONDS": "12", "LIFELINE_LISTEN": "127.0.0.1:18080"},
    )
    assert res.returncode == 0, res.stderr
    effective = json.loads(res.stdout)
    assert effective["upstream"]["ping_interval_seconds"] == 12
    assert effective["listen"] == "127.0.0.1:18080"


def test_shipped_config_is_valid(tmp_path):
    shipped = Path(__file__).resolve().parents[2] / "config.json"
    if not shipped.exists():
        pytest.fail("the repository must ship config.json at its root (spec §2)")
    res = run_cli(["--check-config", "--config", str(shipped)], tmp_path)
    assert res.returncode == 0, res.stderr
    json.loads(res.stdout)


@pytest.mark.parametrize(
    "section,key,value,message",
    [
        ("upstream", "connect_timeout_seconds", 5000,
         "config error: upstream.connect_timeout_seconds = 5000 (must be between 0.1 and 3600)"),
        ("downstream", "max_connections", 0,
         "config error: downstream.max_connections = 0 (must be between 1 and 10000000)"),
        (None, "shutdown_grace_seconds", 4000,
         "config error: shutdown_grace_seconds = 4000 (must be between 0 and 3600)"),
        ("downstream", "handshake_timeout_seconds", 0.01,
         "config error: downstream.handshake_timeout_seconds = 0.01 (must be between 0.1 and 3600)"),
    ],
)
def test_out_of_range_value_exits_2_naming_path_value_range(tmp_path, section, key, value, message):
    config = json.loads(json.dumps(VALID))
    if section is None:
        config[key] = value
    else:
        config.setdefault(section, {})[key] = value
    res = check_config(tmp_path, config)
    assert res.returncode == 2, f"exit {res.returncode}, stderr: {res.stderr}"
    assert message in res.stderr, f"expected {message!r} in stderr:\n{res.stderr}"


def test_ping_interval_below_minimum(tmp_path):
    config = {"upstream": {"url": "ws://127.0.0.1:9", "ping_interval_seconds": 0.05}}
    res = check_config(tmp_path, config)
    assert res.returncode == 2, f"exit {res.returncode}, stderr: {res.stderr}"
    line = next((l for l in res.stderr.splitlines() if "upstream.ping_interval_seconds" in l), "")
    assert line.startswith("config error: upstream.ping_interval_seconds = 0.05 ("), res.stderr
    assert "0.1" in line and "86400" in line, line


def test_unknown_key_exits_2(tmp_path):
    config = {"upstream": {"url": "ws://127.0.0.1:9", "ping_intervall_seconds": 5}}
    res = check_config(tmp_path, config)
    assert res.returncode == 2, f"exit {res.returncode}, stderr: {res.stderr}"
    assert "upstream.ping_intervall_seconds" in res.stderr, res.stderr


def test_missing_upstream_url_exits_2(tmp_path):
    res = check_config(tmp_path, {"listen": "127.0.0.1:8080"})
    assert res.returncode == 2, f"exit {res.returncode}, stderr: {res.stderr}"
    assert "upstream.url" in res.stderr, res.stderr


def test_bad_enum_value_exits_2(tmp_path):
    res = check_config(tmp_path, {"upstream": {"url": "ws://127.0.0.1:9", "on_close": "explode"}})
    assert res.returncode == 2, f"exit {res.returncode}, stderr: {res.stderr}"
    assert "upstream.on_close" in res.stderr and "explode" in res.stderr, res.stderr


def test_malformed_json_exits_2(tmp_path):
    res = check_config(tmp_path, '{"upstream": {"url": ')
    assert res.returncode == 2, f"exit {res.returncode}, stderr: {res.stderr}"
    assert res.stderr.strip(), "no error message"


def test_bad_config_does_not_start_server(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"upstream": {"url": "ws://127.0.0.1:9"}, "workers": 0}))
    res = run_cli(["--config", str(path)], tmp_path)
    assert res.returncode == 2, f"exit {res.returncode}, stderr: {res.stderr}"
    assert "workers" in res.stderr, res.stderr


def test_port_in_use_exits_1(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        path = tmp_path / "config.json"
        path.write_text(json.dumps({"listen": f"127.0.0.1:{port}", "admin_listen": None,
                                    "upstream": {"url": "ws://127.0.0.1:9"}}))
        res = run_cli(["--config", str(path)], tmp_path)
    assert res.returncode == 1, f"exit {res.returncode}, stderr: {res.stderr}"
