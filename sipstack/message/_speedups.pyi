"""Types of the optional C accelerator (``_speedups.c``)."""

from typing import Any

def scan_head(
    data: bytes | bytearray,
    start: int,
    end: int,
    keys: dict[str, str],
    max_lines: int,
    max_line_length: int,
    /,
) -> tuple[str, list[str], list[str], set[str], dict[str, object]] | None: ...
def setup(
    cseq: type, via: type, address: type, sip_uri: type, params: type, empty_params: object, /
) -> None: ...
def fill_views(lines: list[str], keys: list[str], cache: dict[str, object], /) -> None: ...
def address(value: str, /) -> Any: ...
def via(value: str, /) -> Any: ...
