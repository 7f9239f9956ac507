"""Interceptors: an ordered pipeline of objects that see (and may change or
stop) every message of an endpoint and the lifecycle events above it; and
the built-ins of the client — the SIP log (never a body), the call log
(never content) and usage statistics (never a name)."""

from ._base import Interceptor, Pipeline
from ._call_log import CallLog, outcome_of
from ._client_log import ClientLog, mask_credentials
from ._statistics import LATENCY_BUCKETS_MS, Statistics

__all__ = [
    "LATENCY_BUCKETS_MS",
    "CallLog",
    "ClientLog",
    "Interceptor",
    "Pipeline",
    "Statistics",
    "mask_credentials",
    "outcome_of",
]
