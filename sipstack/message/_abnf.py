"""Grammar fragments of RFC 3261 §25 (and its extensions) as compiled patterns.

Every pattern here is linear on any input: alternatives start with disjoint
characters and no quantified group can match the same text two ways, so an
attacker cannot make them backtrack.
"""

from __future__ import annotations

import re

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~"
TOKEN = re.compile(rf"[{TOKEN_CHARS}]+")

# word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" /
#        "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}" )
# Call-ID = word [ "@" word ]
# (possessive: "@" ends a word and is not in it, so nothing is given back)
CALL_ID = re.compile(
    r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]++(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]++)?+"
)

# Controls that may never appear in the header section (HT, CR and LF are
# handled by the line splitter).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (case-insensitive, §7.1)
SIP_VERSION = re.compile(r"[Ss][Ii][Pp]/[0-9]+\.[0-9]+")

# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")

# hostname / IPv4address (loosely: labels of alphanum, "-" and "_", as deployed)
HOST_CHARS = re.compile(r"[A-Za-z0-9_\-.]+")


def is_hostname(text: str) -> bool:
    """hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 §25.1),
    with "_" allowed as deployed.  A plain character class plus two string
    checks costs a fraction of a pattern that repeats per label."""
    return HOST_CHARS.fullmatch(text) is not None and text[0] != "." and ".." not in text


IPV6_REFERENCE = re.compile(r"\[[0-9A-Fa-f:.]+\]")
PORT = re.compile(r"[0-9]{1,5}")

# paramchar = param-unreserved / unreserved / escaped
_PARAMCHARS = re.compile(r"[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+")
# A "%" not followed by two hex digits.
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def is_paramchars(text: str) -> bool:
    """1*paramchar: param-unreserved / unreserved / escaped."""
    return _PARAMCHARS.fullmatch(text) is not None and (
        "%" not in text or BAD_ESCAPE.search(text) is None
    )


# hname / hvalue of URI headers (hvalue may be empty)
_HCHARS = re.compile(r"[A-Za-z0-9\-_.!~*'()\[\]/?:+$%]*")


def is_hchars(text: str) -> bool:
    """*( hnv-unreserved / unreserved / escaped ): URI header names and values."""
    return _HCHARS.fullmatch(text) is not None and (
        "%" not in text or BAD_ESCAPE.search(text) is None
    )


# sent-protocol = protocol-name SLASH protocol-version SLASH transport (SLASH may carry SWS)
VIA_HEAD = re.compile(
    rf"([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*\.?)(?:[ \t]*:[ \t]*([0-9]{1,5}))?[ \t]*"
)

# media-type = m-type SLASH m-subtype *(SEMI m-parameter)
MEDIA_TYPE = re.compile(rf"([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]*")


# rfc1123-date = wkday "," SP date1 SP time SP "GMT"
SIP_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"
)
