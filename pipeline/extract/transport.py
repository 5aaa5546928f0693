"""The export API's transport, under limits an adversarial server cannot stretch.

* **Retries** — one :class:`requests.Session` whose adapter retries connection errors, read
  timeouts and 429/5xx with exponential backoff, honouring ``Retry-After`` but never sleeping
  longer than ``retry_after_cap`` (urllib3 alone would wait up to six hours).
* **A deadline that really ends the extraction** — each request's timeouts are the configured
  ones or the time left, whichever is shorter, each connect attempt (a retry's too) is bounded
  by the time left then, and retries stop when it has passed. A server
  that answers one byte per second never trips a read timeout, so when the deadline passes a
  watchdog also shuts down every socket this source has open: a read blocked in the middle of
  the headers or of a body returns at once, and the source raises ``UpstreamUnavailable``.
* **Same-origin redirects** — requests does not follow redirects itself here; the source follows
  a redirect only within the export's origin (scheme, host and port).
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of a URL, the port made explicit; None when it has none."""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    return (scheme, host, port) if scheme in DEFAULT_PORTS and host else None


def origin_text(url: str) -> str:
    found = origin(url)
    return f"{found[0]}://{found[1]}:{found[2]}" if found else repr(url)


class Deadline:
    """The whole-extraction deadline (started by the first request), the last HTTP status the
    retries saw (shared by every copy urllib3 makes of the retry policy), and the watchdog that
    cuts this source's open connections when the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at: float | None = None
        self.last_status: int | None = None
        self.cut = False
        self._connections: weakref.WeakSet[HTTPConnection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        if self.ends_at is not None:
            return
        self.ends_at = time.monotonic() + self.seconds
        if self.seconds != float("inf"):
            self._timer = threading.Timer(self.seconds, self.cut_connections)
            self._timer.daemon = True
            self._timer.start()

    def left(self) -> float:
        if self.ends_at is None:
            return self.seconds
        return max(0.0, self.ends_at - time.monotonic())

    def expired(self) -> bool:
        return self.cut or (self.ends_at is not None and time.monotonic() >= self.ends_at)

    def track(self, connection: HTTPConnection) -> None:
        """A connection just opened: cut at the deadline (at once if it has already passed)."""
        with self._lock:
            self._connections.add(connection)
            if self.cut:
                _shut(connection)

    def cut_connections(self) -> None:
        with self._lock:
            self.cut = True
            for connection in list(self._connections):
                _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:  # the plain socket's shutdown, also under TLS: wakes a recv blocked in another thread
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _connect_within(connection: HTTPConnection, deadline: Deadline) -> None:
    """Bound a connection's connect timeout by the time left (urllib3 gives every retry of a
    request the connect timeout the request started with, so a connect that hangs overran
    the deadline by one connect timeout); none is tried once the deadline has passed."""
    left = deadline.left()
    if deadline.expired() or left <= 0:
        raise ConnectTimeoutError(connection, "导出接口的整体时限已到，不再连接")
    timeout = connection.timeout
    connection.timeout = min(timeout, left) if isinstance(timeout, int | float) else left


def _tracked_pools(deadline: Deadline) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pool classes whose connections connect within ``deadline`` and register with it
    once connected (to be cut when it passes)."""

    class TrackedHTTPConnection(HTTPConnection):
        def connect(self) -> None:
            _connect_within(self, deadline)
            super().connect()
            deadline.track(self)

    class TrackedHTTPSConnection(HTTPSConnection):
        def connect(self) -> None:
            _connect_within(self, deadline)
            super().connect()
            deadline.track(self)

    class TrackedHTTPPool(HTTPConnectionPool):
        ConnectionCls = TrackedHTTPConnection

    class TrackedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = TrackedHTTPSConnection

    return {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections (direct or through a proxy) the deadline can cut."""

    def __init__(self, deadline: Deadline, **kwargs: Any) -> None:
        self._deadline = deadline
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _tracked_pools(self._deadline)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _tracked_pools(self._deadline)
        return manager


class CappedRetry(Retry):
    """urllib3's Retry with ``Retry-After`` and backoff capped (and cut to the time left), and
    no retry once the extraction deadline has passed."""

    def __init__(
        self,
        *args: Any,
        retry_after_cap: float = 30.0,
        clock: Deadline | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap
        self.clock = clock or Deadline(float("inf"))

    def new(self, **kw: Any) -> CappedRetry:
        retry = super().new(**kw)
        retry.retry_after_cap, retry.clock = self.retry_after_cap, self.clock
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None  # an unreadable Retry-After falls back to the backoff
        if seconds is None:
            return None
        return min(seconds, self.retry_after_cap, self.clock.left())

    def get_backoff_time(self) -> float:
        return min(super().get_backoff_time(), self.clock.left())

    def increment(
        self,
        method: Any = None,
        url: Any = None,
        response: Any = None,
        error: Any = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> CappedRetry:
        if response is not None:
            self.clock.last_status = response.status
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def is_exhausted(self) -> bool:
        return super().is_exhausted() or self.clock.expired()


def adapter(
    deadline: Deadline, retries: int, backoff: float, retry_after_cap: float
) -> DeadlineAdapter:
    retry = CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        retry_after_cap=retry_after_cap,
        clock=deadline,
    )
    return DeadlineAdapter(deadline, max_retries=retry)
