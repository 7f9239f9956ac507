"""Input and output of ``sipstack chat``.

Lines come either from a terminal — ``input()`` with readline (editing,
tab completion) in a reader thread, since readline offers Python no
non-blocking interface — or from a pipe or file, read with
``loop.add_reader`` where the loop can watch the descriptor and by a thread
otherwise.  Both hand lines to the event loop through a queue; neither ever
blocks it.

Output is whole lines.  While the user is editing a line at the prompt, a
status line is written above it and the prompt and the text typed so far are
drawn again, so that incoming messages do not garble the line being typed.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, TextIO

__all__ = [
    "COMMANDS",
    "Completer",
    "LineInput",
    "Screen",
    "StreamInput",
    "TerminalInput",
    "clean",
]

#: The commands, for completion and ``/help``: name, arguments, what it does.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("/msg", "<contact> [text]", "send text to a contact (plain lines then go there too)"),
    ("/status", "<availability>", "available, away, busy, dnd (do not disturb) or offline"),
    ("/note", "[text]", "set the note your watchers see (none clears it)"),
    ("/watch", "<contact>", "follow a contact's presence"),
    ("/access", "<contact> <level>",
     "what a contact sees of your presence: blocked, public, company, team, personal"),
    ("/call", "<contact>", "call a contact"),
    ("/answer", "", "answer the call that is ringing"),
    ("/hangup", "", "end the call (or cancel or decline a ringing one)"),
    ("/join", "<conversation>", "join a conversation (plain lines then go there)"),
    ("/leave", "", "leave the conversation"),
    ("/history", "[contact|on|off]", "show the saved messages, or keep them or not"),
    ("/log", "[on|off]", "client SIP log (headers only, never message bodies)"),
    ("/help", "", "this list"),
    ("/quit", "", "sign out and leave"),
)  # fmt: skip

STATUSES = ("available", "away", "busy", "dnd", "offline")
LEVELS = ("blocked", "public", "company", "team", "personal")
_ON_OFF = ("on", "off")

# A longer line from a pipe is cut into pieces of this size: input is
# bounded like everything else.
MAX_LINE = 16 * 1024
# Lines read ahead of the client; reading pauses above this.
MAX_QUEUED = 256

# Characters that would let remote text move the cursor, clear the screen
# or retitle the terminal (C0 and C1 controls, DEL); tab and newline stay.
_CONTROLS = {c: "\ufffd" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}


def clean(text: str) -> str:
    """``text`` from the network made safe to print on a terminal: control
    characters become U+FFFD, line ends are normalised to ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS)


class LineInput(Protocol):
    """Where the client's lines come from."""

    async def readline(self, prompt: str) -> str | None:
        """The next line without its line end, or None at the end of input."""
        ...

    def close(self) -> None:
        """Stop reading."""
        ...


class Completer:
    """Tab completion of commands, contacts, levels and statuses, for
    readline.  ``contacts`` returns the names to offer (read from the reader
    thread, so it must return a snapshot, not a collection being changed)."""

    def __init__(self, contacts: Callable[[], Sequence[str]]) -> None:
        self._contacts = contacts
        self._matches: list[str] = []

    def candidates(self, before: str) -> list[str]:
        """Completions of the last word of ``before`` (the line up to the
        cursor), each with the space that follows it."""
        words = before.split()
        if not words or before[-1].isspace():
            words.append("")  # completing a word not begun yet
        current = words[-1]
        if len(words) == 1:
            options: Sequence[str] = [c[0] for c in COMMANDS] if current.startswith("/") else ()
        else:
            options = self._argument(words[0], len(words) - 1)
        return [o + " " for o in options if o.startswith(current)]

    def _argument(self, command: str, position: int) -> Sequence[str]:
        if position == 1:
            if command in ("/msg", "/watch", "/call", "/access"):
                return self._contacts()
            if command == "/history":
                return [*_ON_OFF, *self._contacts()]
            if command == "/status":
                return STATUSES
            if command == "/log":
                return _ON_OFF
        if position == 2 and command == "/access":
            return LEVELS
        return ()

    def complete(self, text: str, state: int) -> str | None:
        """readline's completer protocol: the ``state``-th match for the
        word being completed."""
        if state == 0:
            import readline

            before = readline.get_line_buffer()[: readline.get_endidx()]
            self._matches = self.candidates(before)
        return self._matches[state] if state < len(self._matches) else None


def _setup_readline(completer: Completer) -> bool:
    """Tab completion through readline; False where there is no readline."""
    try:
        import readline
    except ImportError:
        return False
    readline.set_completer(completer.complete)
    # Only spaces separate words: contacts contain ':', '@', '-' and '.'
    # and commands begin with '/', all of which readline splits on by default.
    readline.set_completer_delims(" \t\n")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return True


class TerminalInput:
    """Lines typed at a terminal, with readline's editing and completion.

    ``input()`` runs in a daemon thread.  It is asked for one line at a
    time: while the client works on a line, nobody is at the prompt, so
    output needs no redrawing and a quit never leaves readline half-way
    through a line.
    """

    def __init__(self, completer: Completer) -> None:
        self.line_editing = _setup_readline(completer)
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._go = threading.Event()
        self._prompt = "> "
        #: True while ``input()`` waits at the prompt (read by :class:`Screen`).
        self.at_prompt = False
        self._done = False
        threading.Thread(target=self._run, name="sipstack-chat-input", daemon=True).start()

    @property
    def prompt(self) -> str:
        """The prompt being shown."""
        return self._prompt

    def _run(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            line: str | None
            self.at_prompt = True
            try:
                line = input(self._prompt)
            except (EOFError, OSError, ValueError):
                # Ctrl-D, or the terminal went away: the end of input.
                line = None
            finally:
                self.at_prompt = False
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:  # the loop is gone: the client has quit
                return
            if line is None:
                return

    async def readline(self, prompt: str) -> str | None:
        """The next line typed after ``prompt`` (None after Ctrl-D)."""
        if self._done:
            return None
        self._prompt = prompt
        self._go.set()
        line = await self._lines.get()
        if line is None:
            self._done = True
        return line

    def close(self) -> None:
        """Nothing to release: the thread waits for a go that never comes."""


class StreamInput:
    """Lines from a pipe or a file (a script), read as they arrive.

    Reading pauses while :data:`MAX_QUEUED` lines wait for the client, so a
    long script is not read into memory all at once.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._lines: collections.deque[str | None] = collections.deque()
        self._ready = asyncio.Event()
        self._eof = False
        self._paused = False
        self._watching = False
        self._room = threading.Event()  # the reader thread may read
        self._room.set()
        try:
            self._loop.add_reader(fd, self._readable)
            self._watching = True
        except (OSError, ValueError, NotImplementedError):
            # epoll cannot watch a regular file (EPERM), and a Windows
            # proactor loop watches no descriptors at all: read in a thread.
            threading.Thread(target=self._run, name="sipstack-chat-input", daemon=True).start()

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self._feed(data)

    def _run(self) -> None:
        while True:
            self._room.wait()
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                data = b""
            try:
                self._loop.call_soon_threadsafe(self._feed, data)
            except RuntimeError:  # the loop is gone: the client has quit
                return
            if not data:
                return
            # Wait for the loop to decide whether there is room for more.
            self._room.clear()
            self._loop.call_soon_threadsafe(self._resume)

    def _feed(self, data: bytes) -> None:
        if self._eof:
            return
        text = self._decoder.decode(data, final=not data)
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        while len(self._partial) > MAX_LINE:
            complete.append(self._partial[:MAX_LINE])
            self._partial = self._partial[MAX_LINE:]
        for line in complete:
            self._lines.append(line.removesuffix("\r"))
        if not data:
            if self._partial:
                self._lines.append(self._partial.removesuffix("\r"))
                self._partial = ""
            self._lines.append(None)
            self._eof = True
            self._stop_watching()
        elif len(self._lines) >= MAX_QUEUED:
            self._pause()
        if self._lines:
            self._ready.set()

    def _pause(self) -> None:
        self._paused = True
        if self._watching:
            self._loop.remove_reader(self._fd)
        else:
            self._room.clear()

    def _resume(self) -> None:
        if self._eof or len(self._lines) >= MAX_QUEUED:
            self._paused = True
            return
        self._paused = False
        if self._watching:
            self._loop.add_reader(self._fd, self._readable)
        else:
            self._room.set()

    def _stop_watching(self) -> None:
        if self._watching:
            self._watching = False
            with contextlib.suppress(OSError, ValueError, RuntimeError):
                self._loop.remove_reader(self._fd)

    async def readline(self, prompt: str) -> str | None:
        """The next line of the script (None at its end)."""
        while not self._lines:
            self._ready.clear()
            await self._ready.wait()
        line = self._lines.popleft()
        if line is None:
            self._lines.appendleft(None)  # the end stays the end
        elif self._paused and len(self._lines) < MAX_QUEUED // 2:
            self._resume()
        return line

    def close(self) -> None:
        """Stop watching the descriptor."""
        self._eof = True
        self._stop_watching()


class Screen:
    """The client's output: whole lines, flushed at once.

    With a :class:`TerminalInput` at its prompt, a line is written over the
    prompt and the prompt is drawn again below it with what the user has
    typed so far.
    """

    def __init__(self, out: TextIO, terminal: TerminalInput | None = None) -> None:
        self._out = out
        self._terminal = terminal

    def end_prompting(self) -> None:
        """From now on write plainly; leave a prompt on screen behind."""
        terminal, self._terminal = self._terminal, None
        if terminal is not None and terminal.at_prompt:
            self._out.write("\n")
            self._out.flush()

    def line(self, text: str) -> None:
        """Write one line (several when ``text`` holds line ends)."""
        terminal = self._terminal
        if terminal is not None and terminal.at_prompt:
            typed = ""
            if terminal.line_editing:
                import readline

                typed = readline.get_line_buffer()
            # Carriage return and erase-line, the line, then the prompt
            # again: readline still believes it is on screen, and now it is.
            self._out.write(f"\r\x1b[2K{text}\n{terminal.prompt}{typed}")
        else:
            self._out.write(text + "\n")
        self._out.flush()
