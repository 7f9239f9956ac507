"""Types of the optional C accelerator (``_speedups.c``)."""

from typing import Any

def parse_head(
    data: bytes | bytearray,
    start: int,
    end: int,
    keys: dict[str, str],
    max_lines: int,
    max_line_length: int,
    max_uri_length: int,
    max_body_size: int,
    /,
) -> Any: ...
def setup(
    message: type,
    request: type,
    response: type,
    headers: type,
    cseq: type,
    via: type,
    address: type,
    sip_uri: type,
    params: type,
    content_type: type,
    event: type,
    empty_params: object,
    /,
) -> None: ...
def fill_views(
    lines: list[str], keys: list[str], cache: dict[str, object], typed: dict[str, str], /
) -> bool: ...
def address(value: str, /) -> Any: ...
def via(value: str, /) -> Any: ...
def sip_uri(value: str, /) -> Any: ...
