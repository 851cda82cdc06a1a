"""HTTP clients for tests against a real server on loopback.

A client that keeps idle connections for reuse races the server's keep-alive timeout: when the
server closes an idle connection just as the client sends its next request on it, the request
fails with `httpx.ReadError` or `RemoteProtocolError` (issue #16; tests/e2e/test_keepalive.py
reproduces it). These clients keep no idle connection, so every request has a connection of
its own, opened for it, and that race cannot happen. On loopback a new connection costs well
under a millisecond. They do not retry: a retry would hide a server that drops requests.
"""

from __future__ import annotations

import httpx

NO_REUSE = httpx.Limits(max_keepalive_connections=0)


def client(base_url: str = "", *, timeout: float = 10.0) -> httpx.AsyncClient:
    """An async client that opens a new connection for every request."""
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=NO_REUSE)
