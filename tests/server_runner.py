"""Run ``sipstack server`` as a real subprocess for tests: a free port pair,
accounts made with ``sipstack users``, stopped by its own handle."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 10.0


def free_port_pair() -> int:
    """A port P free for UDP and TCP, with P+1 free for TCP (TLS)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            if port >= 65534:
                continue
            try:
                with socket.socket() as t, socket.socket() as t2:
                    t.bind(("127.0.0.1", port))
                    t2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair")


def sipstack(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if password is not None:
        env["SIPSTACK_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "sipstack", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


@dataclass
class RunningServer:
    port: int
    data_dir: Path
    lines: list[str]

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"


@asynccontextmanager
async def server(
    tmp_path: Path,
    users: dict[str, str],
    config: str | None = None,
    extra: Sequence[str] = (),
) -> AsyncIterator[RunningServer]:
    """A running server with ``users``; ``config`` is TOML text for
    ``--config``; ``extra`` more command-line flags."""
    data = tmp_path / "data"
    extra = list(extra)
    if config is not None:
        path = tmp_path / "server.toml"
        path.write_text(config, encoding="utf-8")
        extra += ["--config", str(path)]
    for user, password in users.items():
        done = sipstack("users", "add", user, "--data-dir", str(data), password=password)
        assert done.returncode == 0, done.stderr
    port = free_port_pair()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sipstack", "server", "--data-dir", str(data),
        "--listen", f"127.0.0.1:{port}", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        while not any(line.startswith("data in") for line in lines):
            raw = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
            if not raw:
                err = await proc.stderr.read() if proc.stderr else b""
                raise AssertionError(f"the server exited: {err.decode()}")
            lines.append(raw.decode().strip())
        yield RunningServer(port, data, lines)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
