"""Every example runs (as a subprocess, with a timeout) and says what it
should: examples that rot fail the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(name: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_peers_chat() -> None:
    out = run("two_peers_chat.py")
    assert "bob got from sip:alice@127.0.0.1: Hi Bob, lunch at noon?" in out
    assert "alice got from sip:bob@127.0.0.1: Sure, see you there." in out
