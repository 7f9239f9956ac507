"""Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3) and
detecting merged requests (§8.2.2.2).

A key is a tuple; the endpoint keeps a dict from key to transaction.
"""

from __future__ import annotations

from ..message import Request, Response, Via

__all__ = ["client_key", "merge_key", "response_key", "server_key"]

MAGIC_COOKIE = "z9hG4bK"
ClientKey = tuple[str, str]
ServerKey = tuple[str, ...]


def client_key(request: Request) -> ClientKey:
    """The key of the client transaction that sends ``request``: the branch
    of the Via it carries and its method (§17.1.3)."""
    branch = request.top_via.branch
    if branch is None:
        raise ValueError("a request sent by a client transaction needs a Via branch")
    return branch, request.method


def response_key(response: Response) -> ClientKey | None:
    """The client transaction a response belongs to: the top Via branch and
    the CSeq method (§17.1.3); None when the Via has no branch."""
    branch = response.top_via.branch
    return None if branch is None else (branch, response.cseq.method)


def _sent_by(via: Via) -> str:
    port = via.port if via.port is not None else (5061 if via.transport == "TLS" else 5060)
    return f"{via.host.lower()}:{port}"


def server_key(request: Request, method: str | None = None) -> ServerKey:
    """The server transaction ``request`` belongs to (§17.2.3).

    With an RFC 3261 branch: branch, sent-by and method, where an ACK
    matches the INVITE it acknowledges.  Without the magic cookie, the RFC
    2543 rule: Request-URI, From tag, Call-ID, CSeq number, top Via and
    method.  ``method`` overrides the method, e.g. ``"INVITE"`` to find the
    transaction a CANCEL cancels (§9.2).
    """
    via = request.top_via
    m = method or ("INVITE" if request._method == "ACK" else request._method)
    branch = via.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE):
        return ("3261", branch, _sent_by(via), m)
    # RFC 2543 fallback.  The To tag is left out: an ACK carries the tag of
    # the response, which the INVITE did not have.
    return (
        "2543",
        str(request.uri),
        request.from_addr.tag or "",
        request.call_id,
        str(request.cseq.seq),
        str(via),
        m,
    )


def merge_key(request: Request) -> tuple[str, str, int, str] | None:
    """For a request outside a dialog (no To tag): From tag, Call-ID and
    CSeq.  A second request with the same merge key but another transaction
    key arrived over another path: answer it 482 Loop Detected (§8.2.2.2).
    """
    if request.to_tag is not None:
        return None
    cseq = request.cseq
    return (request.from_tag or "", request.call_id, cseq.seq, cseq.method)
