"""The supervisor's command server, driven round by round: clients that cannot stall it."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lxcpy.errors import LxcError
from lxcpy.runtime import loop as loopmod
from lxcpy.runtime.commands import listen
from lxcpy.runtime.loop import Client, CommandServer, Loop, Reply


class Server:
    def __init__(self, path: str, dispatch: Callable[[dict[str, Any], Client], Any]) -> None:
        self.path = path
        self.loop = Loop()
        self.server = CommandServer(self.loop, listen(path, 64), dispatch)

    def run_until(self, done: Callable[[], bool], timeout: float = 5.0) -> float:
        """Serve until ``done()``; the seconds it took. Fails the test after ``timeout``."""
        start = time.monotonic()
        while not done():
            assert time.monotonic() - start < timeout, "the server never got there"
            now = time.monotonic()
            soonest = self.server.expire(now)
            self.loop.run_once(0.05 if soonest is None else max(0.0, min(0.05, soonest - now)))
        return time.monotonic() - start

    def client(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.path)
        return sock


def handler(request: dict[str, Any], client: Client) -> dict[str, Any] | Reply:
    op = request.get("op")
    if op == "state":
        return {"state": "RUNNING"}
    if op == "fail":
        raise LxcError("refused", 3)
    if op == "fd":
        r, w = os.pipe()
        os.write(w, b"through the fd")
        os.close(w)
        client.held = True
        return Reply({"ok": True}, [r])
    raise LxcError(f"unknown request {op!r}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(str(tmp_path / "s.sock"), handler)
    try:
        yield srv
    finally:
        srv.server.close()
        srv.loop.close()


def read_line(srv: Server, sock: socket.socket) -> dict[str, Any]:
    sock.setblocking(False)
    buf = bytearray()

    def got_line() -> bool:
        try:
            buf.extend(sock.recv(65536))
        except BlockingIOError:
            pass
        return buf.endswith(b"\n")

    srv.run_until(got_line)
    return json.loads(buf)


def test_request_reply_and_errors(server: Server) -> None:
    with server.client() as c:
        c.sendall(b'{"op": "state"}\n')
        assert read_line(server, c) == {"state": "RUNNING"}
        c.sendall(b'{"op": "fail"}\n')
        assert read_line(server, c) == {"error": "refused", "code": 3}
        c.sendall(b"not json\n")
        assert "bad request" in read_line(server, c)["error"]


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    with server.client() as c:
        c.sendall(b'{"op": "state"}\n{"op": "fail"}\n{"op": "state"}\n')
        c.setblocking(False)
        buf = bytearray()

        def three() -> bool:
            try:
                buf.extend(c.recv(65536))
            except BlockingIOError:
                pass
            return buf.count(b"\n") == 3

        server.run_until(three)
        replies = [json.loads(line) for line in buf.splitlines()]
        assert [r.get("state", r.get("error")) for r in replies] == ["RUNNING", "refused",
                                                                      "RUNNING"]


def test_a_client_that_does_not_read_stalls_nobody(server: Server,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loopmod, "SEND_TIMEOUT", 0.5)
    stuck = server.client()
    stuck.setblocking(False)
    server.run_until(lambda: len(server.server.clients) == 1)
    (ours,) = server.server.clients.values()  # the server's end of the stuck connection
    request = b'{"op": "state"}\n' * 1000
    # it sends requests and never reads: its replies fill its socket, then ours
    for _ in range(2000):
        try:
            stuck.send(request)
        except BlockingIOError:
            pass
        server.loop.run_once(0)
        if ours.outbox:
            break
    assert ours.outbox, "the replies never backed up"
    # meanwhile another client is answered at once
    with server.client() as other:
        other.sendall(b'{"op": "state"}\n')
        start = time.monotonic()
        assert read_line(server, other) == {"state": "RUNNING"}
        assert time.monotonic() - start < 0.5
    # and the stuck one is dropped once its reply waited SEND_TIMEOUT
    took = server.run_until(lambda: ours.fd not in server.server.clients, 5)
    assert took < 2.0
    stuck.close()


def test_an_unfinished_request_is_dropped(server: Server,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loopmod, "REQUEST_TIMEOUT", 0.3)
    with server.client() as slow:
        slow.sendall(b'{"op": "sta')
        server.run_until(lambda: len(server.server.clients) == 1)
        server.run_until(lambda: not server.server.clients, 3)
        slow.settimeout(2)
        assert slow.recv(100) == b""


def test_a_huge_request_is_refused(server: Server) -> None:
    with server.client() as big:
        big.setblocking(False)
        data = b"x" * (loopmod.MAX_REQUEST + 70000)
        view = memoryview(data)
        reply = bytearray()

        def answered() -> bool:
            nonlocal view
            if view:
                try:
                    view = view[big.send(view):]
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    view = view[:0] if not server.server.clients else view
            try:
                reply.extend(big.recv(100))
            except BlockingIOError:
                pass
            except ConnectionResetError:
                return True
            return reply.endswith(b"\n")

        server.run_until(answered)
        assert b"request too long" in reply


def test_reply_carries_a_descriptor_and_holds_the_client(server: Server) -> None:
    with server.client() as c:
        c.sendall(b'{"op": "fd"}\n')
        c.setblocking(False)
        got: list[Any] = []

        def received() -> bool:
            try:
                got.append(socket.recv_fds(c, 100, 1))
            except BlockingIOError:
                pass
            return bool(got)

        server.run_until(received)
        data, fds, _flags, _addr = got[0]
        assert json.loads(data) == {"ok": True}
        assert os.read(fds[0], 100) == b"through the fd"
        os.close(fds[0])
        client = server.server.clients[next(iter(server.server.clients))]
        assert client.held and client.deadline is None  # no idle timeout for a holder


def test_close_flushes_and_closes_everyone(server: Server) -> None:
    c = server.client()
    server.run_until(lambda: len(server.server.clients) == 1)
    server.server.close()
    c.settimeout(2)
    assert c.recv(100) == b""
    c.close()


def test_a_refused_client_reads_why_then_eof(server: Server,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loopmod, "peer_refusal", lambda _conn, _depth: "not you")
    with server.client() as c:
        server.run_until(lambda: not server.server.clients or any(
            cl.shut for cl in server.server.clients.values()))
        # refused before it wrote a byte: its request still goes out (no EPIPE) ...
        c.sendall(b'{"op": "state"}\n' * 100)
        # ... and it reads the reason, then EOF; nothing it sent was answered
        assert read_line(server, c) == {"error": "not you", "code": 1}
        c.settimeout(2)
        assert c.recv(100) == b""
    server.run_until(lambda: not server.server.clients)  # its EOF: then it is closed


def test_a_failing_callback_loses_its_fd_not_the_loop() -> None:
    loop = Loop()
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    seen: list[bytes] = []

    def broken() -> None:
        raise RuntimeError("bug")

    loop.watch(r1, read=broken)
    loop.watch(r2, read=lambda: seen.append(os.read(r2, 10)))
    os.write(w1, b"x")
    os.write(w2, b"y")
    loop.run_once(1)
    assert r1 not in loop.callbacks and seen == [b"y"]
    loop.close()
    for fd in (r1, w1, r2, w2):
        os.close(fd)
