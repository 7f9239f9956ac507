"""Types of the optional C accelerator (``_speedups.c``)."""

def scan_head(
    data: bytes | bytearray,
    start: int,
    end: int,
    keys: dict[str, str],
    max_lines: int,
    max_line_length: int,
    /,
) -> tuple[str, list[str], list[str], set[str], dict[str, object]] | None: ...
def setup(cseq_type: type, via_type: type, /) -> None: ...
