"""The export API's deadline holds when connecting hangs (a listen backlog full: no SYN-ACK):
urllib3 gave each retry the connect timeout the request began with, so the extraction overran
its deadline by one connect timeout. Each connect attempt is now bounded by the time left."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from pipeline.errors import UpstreamUnavailable
from pipeline.extract.http import HttpSource


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A port whose listen backlog is full and never accepted: a new connect() hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        probe.connect(("127.0.0.1", port))
        pytest.fail("the backlog did not fill: connect() did not hang on this kernel")
    except TimeoutError:
        pass
    finally:
        probe.close()
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def test_a_hanging_connect_ends_at_the_deadline(hanging_port):
    deadline, connect = 3.0, 2.5
    source = HttpSource(
        f"http://127.0.0.1:{hanging_port}",
        timeout=(connect, 30.0),
        retries=3,
        backoff=0.01,
        deadline_seconds=deadline,
    )
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="导出接口超过整体时限（3 秒）"):
        source.read_manifest()
    took = time.monotonic() - started
    assert deadline - 0.2 < took < deadline + 1.0, took  # before: 5 s (two connect timeouts)
