"""Interceptors: an ordered pipeline of objects that see (and may change or
stop) every message of an endpoint and the lifecycle events above it; and
the built-ins — so far the client SIP log, which never records a body."""

from ._base import Interceptor, Pipeline
from ._client_log import ClientLog, mask_credentials

__all__ = ["ClientLog", "Interceptor", "Pipeline", "mask_credentials"]
