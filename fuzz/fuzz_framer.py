"""atheris harness for the stream framer.

The fuzz input is the stream; split points (and the limits used) are derived
from the same bytes, so a mutation changes both.  Asserts that:

* ``StreamFramer.feed`` raises nothing but ``SIPParseError``, and an errored
  framer keeps raising it;
* after every feed the framer holds at most ``limits.max_message_size`` bytes;
* the stream fed in one chunk, at the derived split points and (for short
  inputs) byte by byte gives the same messages, and fails or not alike
  (when it fails, messages completed in the failing chunk are not returned,
  so each coarser feeding sees a prefix of the byte-by-byte messages);
* every message framed parses on its own to the same bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import sys
import zlib

import atheris

with atheris.instrument_imports():
    from sipstack.errors import SIPParseError
    from sipstack.message import DEFAULT_LIMITS, Limits, Request, Response, StreamFramer, parse

SMALL_LIMITS = Limits(
    max_message_size=700, max_header_lines=20, max_line_length=200, max_uri_length=64,
    max_body_size=300,
)  # fmt: skip
BYTEWISE_MAX = 1024


def feed(data: bytes, cuts: list[int], limits: Limits) -> tuple[list[bytes], bool]:
    """Messages (as bytes) from feeding ``data`` split at ``cuts``, and
    whether the framer failed."""
    framer = StreamFramer(limits)
    out: list[bytes] = []
    bounds = [0, *sorted(set(cuts)), len(data)]
    for a, b in itertools.pairwise(bounds):
        try:
            events = framer.feed(data[a:b])
        except SIPParseError:
            try:
                framer.feed(b"\r\n")
            except SIPParseError:
                return out, True
            raise AssertionError("framer accepted data after an error") from None
        if framer.buffered > limits.max_message_size:
            raise AssertionError(f"framer buffers {framer.buffered} > {limits.max_message_size}")
        out += [bytes(e) for e in events if isinstance(e, Request | Response)]
    return out, False


def TestOneInput(data: bytes) -> None:
    seed = zlib.crc32(data)
    rng = random.Random(seed)
    limits = SMALL_LIMITS if seed & 1 else DEFAULT_LIMITS
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(1, 16)))

    one, err_one = feed(data, [], limits)
    split, err_split = feed(data, cuts, limits)
    if len(data) <= BYTEWISE_MAX:
        fine, err_fine = feed(data, list(range(len(data))), limits)
    else:
        fine, err_fine = split, err_split
    if not err_one == err_split == err_fine:
        raise AssertionError(f"error depends on chunking: {err_one} {err_split} {err_fine}")
    if not err_one:
        if not one == split == fine:
            raise AssertionError("messages depend on chunking")
    elif split != fine[: len(split)] or one != fine[: len(one)]:
        raise AssertionError("messages before the error depend on chunking")
    for m in fine:
        msg = parse(m, limits)  # a framed message must parse on its own
        if bytes(msg) != m:
            raise AssertionError("framed message does not serialise to its bytes")
        with contextlib.suppress(SIPParseError):
            msg.validate()


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
