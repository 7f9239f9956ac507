"""The README cannot rot.

- Its opening block holds exactly the install, run and test commands, and
  the test command is the one CI runs.
- A fresh virtual environment installs sipstack with the install command,
  runs the server with the run command (on a free port and its own data
  directory), creates two users with its own ``sipstack users add``, and two
  Peers exchange a message through it.  This needs PyPI or a local wheel
  cache; ``SIPSTACK_SKIP_VENV_TEST=1`` skips it, nothing else does.
- The embedding example runs against a real server and prints what the
  README says it prints; the configuration example loads; every option of
  the command line is named in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from peer_events import expect
from server_runner import free_port_pair, server

from sipstack.cli import build_parser
from sipstack.message import parse
from sipstack.server import load_config
from sipstack.ua import MessageReceived, Peer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SKIP_VENV = "SIPSTACK_SKIP_VENV_TEST"
EXAMPLE_MARKER = "<!-- readme-example:"
CONFIG_MARKER = "<!-- readme-config:"
# The password the README's two-minute path gives alice and bob.
PASSWORD = "secret"
# Creating the environment and installing (downloads included) may take a
# while on a slow network; every other step is quick.
INSTALL_TIMEOUT = 900.0
STEP_TIMEOUT = 120.0
SERVER_TIMEOUT = 30.0
# What a clone would not have: caches, build output, data of local runs.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".hypothesis", ".benchmarks", "sipstack-data",
    ".venv", "venv", "crashes", ".work", "*.so",
)  # fmt: skip

_FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme() -> str:
    return README.read_text(encoding="utf-8")


def blocks(text: str) -> list[tuple[int, str, str]]:
    """Every fenced code block: (offset, language, body)."""
    return [(m.start(), m.group(1), m.group(2)) for m in _FENCE.finditer(text)]


def block_after(marker: str) -> tuple[str, str]:
    """The code block right after the comment ``marker``, and the one after it."""
    text = readme()
    at = text.index(marker)
    following = [b for b in blocks(text) if b[0] > at]
    assert len(following) >= 2, f"no code block after {marker}"
    between = text[at : following[0][0]]
    assert between.count("\n") == 1, f"the block must follow {marker} directly"
    return following[0][2], following[1][2]


def commands() -> list[list[str]]:
    """The README's opening commands, split like a shell (comments dropped)."""
    text = readme()
    first_offset, lang, body = blocks(text)[0]
    assert lang == "sh"
    assert "\n## " not in text[:first_offset], "the commands must open the README"
    return [shlex.split(line, comments=True) for line in body.splitlines() if line.strip()]


def test_the_readme_opens_with_install_run_and_test_and_ci_runs_the_same() -> None:
    install, run, test = commands()  # exactly three
    pip = install[2:] if install[:3] == ["python", "-m", "pip"] else install
    assert pip[:3] in (["pip", "install", "-e"], ["pip", "install", "--editable"]), install
    extras = re.fullmatch(r"\.\[([\w,]+)\]", pip[3])
    assert extras is not None and "test" in extras.group(1).split(",")
    assert run == ["sipstack", "server"]
    assert test == ["python", "-m", "pytest"]
    # CI runs exactly the README's test command (no marker filter: the
    # slow fresh-environment test below runs there too), with the ci profile.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines()]
    assert shlex.join(test) in lines
    assert "export HYPOTHESIS_PROFILE=ci" in lines
    assert "-m" not in shlex.split(_pytest_addopts())


def _pytest_addopts() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["tool"]["pytest"]["ini_options"].get("addopts", ""))


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every long option of ``parser`` and its subcommands."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
        found |= {o for o in action.option_strings if o.startswith("--") and o != "--help"}
    return found


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def test_the_command_line_reference_names_every_command_and_option() -> None:
    text = readme()
    parser = build_parser()
    for name in _subcommands(parser):
        assert f"sipstack {name}" in text, f"sipstack {name} is not in the README"
    for option in _options(parser):
        assert re.search(rf"{re.escape(option)}\b", text), f"{option} is not in the README"


def test_the_configuration_example_loads(tmp_path: Path) -> None:
    toml, _ = block_after(CONFIG_MARKER)
    path = tmp_path / "server.toml"
    path.write_text(toml, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.domains == ["example.com"]
    assert cfg.policy.effective("archive")
    assert not cfg.policy.user_may_change("client-log")


async def test_the_embedding_example_runs_against_a_server(tmp_path: Path) -> None:
    code, expected = block_after(EXAMPLE_MARKER)
    assert 'SERVER = "sip:127.0.0.1:5060"' in code
    assert f'password="{PASSWORD}"' in code
    async with server(tmp_path, {"alice": PASSWORD, "bob": PASSWORD}) as srv:
        script = tmp_path / "readme_example.py"
        script.write_text(code.replace("127.0.0.1:5060", f"127.0.0.1:{srv.port}"), "utf-8")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(script), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(proc.communicate(), STEP_TIMEOUT)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert not err, err.decode()
    assert out.decode().splitlines() == expected.splitlines()


# -- a fresh machine -----------------------------------------------------------------------
def _run(
    argv: list[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{shlex.join(argv)} took more than {timeout:.0f} s") from exc
    assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return str(done.stdout)


def _in_venv(venv: Path, argv: list[str]) -> list[str]:
    """``argv`` with its program taken from the environment's ``bin``."""
    program = venv / "bin" / argv[0]
    assert program.exists(), f"{argv[0]} is not in the fresh environment"
    return [str(program), *argv[1:]]


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get(SKIP_VENV) == "1", reason=f"{SKIP_VENV}=1: the fresh-environment test skipped"
)
async def test_a_fresh_environment_installs_serves_and_two_peers_chat(tmp_path: Path) -> None:
    install, run, _ = commands()
    # The checkout as a clone would have it, so that the checkout itself is
    # left alone (an editable install writes metadata into its source).
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=STEP_TIMEOUT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    _run(_in_venv(venv, install), timeout=INSTALL_TIMEOUT, cwd=clone, env=env)

    # The environment has its own sipstack (from the clone) and the tools of
    # the test command.
    where = _run(
        _in_venv(venv, ["python", "-c", "import sipstack; print(sipstack.__file__)"]),
        timeout=STEP_TIMEOUT, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert Path(where.strip()).resolve().is_relative_to(clone.resolve())
    _run(_in_venv(venv, ["python", "-m", "pytest", "--version"]), timeout=STEP_TIMEOUT, env=env)
    # With a C compiler at hand the install built the accelerator.
    accelerated = _run(
        _in_venv(venv, ["python", "-c", "import sipstack.message as m; print(m.ACCELERATED)"]),
        timeout=STEP_TIMEOUT, cwd=tmp_path, env=env,
    )  # fmt: skip
    if shutil.which("cc") and not os.environ.get("SIPSTACK_NO_EXTENSIONS"):
        assert accelerated.strip() == "True"

    data = tmp_path / "data"
    for name in ("alice", "bob"):
        added = _run(
            _in_venv(venv, ["sipstack", "users", "add", name, "--data-dir", str(data)]),
            timeout=STEP_TIMEOUT, cwd=tmp_path, env={**env, "SIPSTACK_PASSWORD": PASSWORD},
        )  # fmt: skip
        assert f"added {name}@localhost" in added

    port = free_port_pair()
    proc = await asyncio.create_subprocess_exec(
        *_in_venv(venv, run), "--data-dir", str(data), "--listen", f"127.0.0.1:{port}",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None and proc.stderr is not None
        while not any(line.startswith("data in") for line in lines):
            raw = await asyncio.wait_for(proc.stdout.readline(), SERVER_TIMEOUT)
            if not raw:
                err = await asyncio.wait_for(proc.stderr.read(), SERVER_TIMEOUT)
                raise AssertionError(f"the server exited: {err.decode()}")
            lines.append(raw.decode().strip())
        assert f"listening on udp:127.0.0.1:{port}" in lines
        assert f"listening on tls:127.0.0.1:{port + 1}" in lines

        registrar = f"sip:127.0.0.1:{port}"

        def user(name: str) -> Peer:
            return Peer(
                f"sip:{name}@localhost", password=PASSWORD, register=True,
                registrar=registrar, proxy=f"{registrar};lr",
            )  # fmt: skip

        async with asyncio.timeout(SERVER_TIMEOUT):
            async with user("alice") as alice, user("bob") as bob:
                text = "hello from a fresh machine"
                await alice.message("sip:bob@localhost", text)
                got = await expect(bob, MessageReceived)
                assert (got.sender, got.text) == ("sip:alice@localhost", text)
                await bob.message(got.sender, "hello back")
                back = await expect(alice, MessageReceived)
                assert (back.sender, back.text) == ("sip:bob@localhost", "hello back")

        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), SERVER_TIMEOUT)
        assert proc.returncode == 0, err.decode()
        assert "stopping" in out.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_installs_and_parses_without_a_c_compiler(tmp_path: Path) -> None:
    """The accelerator is optional: with no compiler the build of it fails,
    the install goes on, and the pure-Python parser answers."""
    if os.environ.get(SKIP_VENV):
        pytest.skip(f"{SKIP_VENV} is set")
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE)
    venv = tmp_path / "venv"
    # The dependencies come from this environment; only sipstack is built.
    _run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], timeout=STEP_TIMEOUT
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SIPSTACK_NO_EXTENSIONS")}
    env["CC"] = "/bin/false"
    env["VIRTUAL_ENV"] = str(venv)
    _run(
        _in_venv(venv, ["pip", "install", "--no-deps", "--quiet", "."]),
        timeout=INSTALL_TIMEOUT, cwd=clone, env=env,
    )  # fmt: skip
    code = (
        "import sys, sipstack.message as m; msg = m.parse(sys.stdin.buffer.read());"
        "print(m.ACCELERATED, msg.call_id, m.__file__)"
    )
    data = (ROOT / "bench" / "corpus" / "message.sip").read_bytes()
    out = subprocess.run(
        _in_venv(venv, ["python", "-c", code]), input=data, capture_output=True, cwd=tmp_path,
        env=env, timeout=STEP_TIMEOUT, check=True,
    )  # fmt: skip
    accelerated, call_id, where = out.stdout.decode().split()
    assert accelerated == "False"
    assert Path(where).resolve().is_relative_to(venv.resolve())
    assert call_id == parse(data).call_id
