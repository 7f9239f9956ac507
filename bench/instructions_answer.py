"""Instructions per answered MESSAGE on sipstack's endpoint, counted by valgrind.

The load benchmark (``bench_message_load.py``) measures rates, which move
by ±30% between runs on a shared machine; this counts the work behind one
answered MESSAGE, which does not move.  An endpoint with a MESSAGE handler
answering 200 is fed SIPp-shaped datagrams straight into its UDP receive
path (parse, Via stamp, transaction match and creation, handler, response,
serialisation, compaction of the completed transaction); only the two
system calls are left out (the reply is handed to a no-op).  The count with
``N`` messages minus the count with none, divided by ``N``:

    python bench/instructions_answer.py                # N = 2000
    python bench/instructions_answer.py --client-log   # and with the SIP log on

The client SIP log's target: at most 10% of the endpoint's throughput.  It
is counted written here (in the endpoint's process) and offloaded
(``ClientLog(offload=True)``: the endpoint's process only captures each
record, a writer process formats and writes on another core; that
process's own count is shown beside it).
"""

from __future__ import annotations

import argparse
import shutil
import sys

from instructions import ROOT, callgrind_instructions, callgrind_processes

CHILD = """
import asyncio, sys
sys.path.insert(0, {root!r})
from sipstack.endpoint import Endpoint
n = int(sys.argv[1])
TEMPLATE = (
    "MESSAGE sip:service@127.0.0.1:5060 SIP/2.0\\r\\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK-{{n}}-1-0;rport\\r\\n"
    "Max-Forwards: 70\\r\\n"
    'From: "sipp" <sip:sipp@127.0.0.1:5071>;tag={{n}}SIPpTag001\\r\\n'
    "To: <sip:service@127.0.0.1:5060>\\r\\n"
    "Call-ID: {{n}}-1@127.0.0.1\\r\\n"
    "CSeq: 1 MESSAGE\\r\\n"
    "User-Agent: SIPp\\r\\n"
    "Content-Type: text/plain\\r\\n"
    "Content-Length: 27\\r\\n\\r\\n"
    "Hello from SIPp, call 1.\\r\\n\\r\\n"
)
datagrams = [TEMPLATE.format(n=i).encode() for i in range(n + 50)]

async def main():
    async with Endpoint(["udp:127.0.0.1:0"]) as ep:
        ep.route("MESSAGE", lambda incoming: incoming.respond(200))
        log = None
        if {log!r}:
            import tempfile
            from sipstack.interceptors import ClientLog, Pipeline
            out = tempfile.mkdtemp()
            log = ClientLog(out + "/sip.jsonl", text_path=out + "/sip.log", offload={offload!r})
            Pipeline(ep, [log])
        transports = ep.transports
        transports.sendto = lambda data, addr: None
        udp = transports.udp_socket_for("127.0.0.1")
        for data in datagrams:  # 50 to warm up, then n
            transports._datagram(udp, data, ("127.0.0.1", 5071))
        if log is not None:
            log.close()  # everything written (and the writer started) in every run

asyncio.run(main())
"""


def main(argv: list[str] | None = None) -> int:
    """Print instructions per answered MESSAGE."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-n", type=int, default=2000, help="messages to answer (default 2000)")
    p.add_argument(
        "--client-log", action="store_true",
        help="also measure with the client SIP log on (JSON lines + text), and the ratio",
    )  # fmt: skip
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2

    def per_message(log: bool, offload: bool = False) -> list[float]:
        script = CHILD.format(root=str(ROOT), log=log, offload=offload)
        if not offload:
            total = callgrind_instructions(script, str(args.n)) - callgrind_instructions(
                script, "0"
            )
            return [total / args.n]
        many = callgrind_processes(script, str(args.n), children=True)
        none = callgrind_processes(script, "0", children=True)
        return [(a - b) / args.n for a, b in zip(many, none, strict=False)]

    (plain,) = per_message(False)
    print(f"instructions per answered MESSAGE: {plain:,.0f}")
    if args.client_log:
        (logged,) = per_message(True)
        print(
            f"with the client SIP log written here: {logged:,.0f} (+{logged / plain - 1:.0%}; "
            "each message is logged twice, request in and response out)"
        )
        main, *writer = per_message(True, offload=True)
        print(
            f"with the client SIP log offloaded: {main:,.0f} (+{main / plain - 1:.0%}) "
            f"in the endpoint's process; the writer process: {sum(writer):,.0f} per MESSAGE"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
