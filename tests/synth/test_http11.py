"""The synthesis client's HTTP/1.1 transport against a raw scripted server: framing, keep-alive, caps, hang-ups.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/synth/test_http11.py
"""

from __future__ import annotations

import asyncio

import pytest
from funreason.synth.teachers.http11 import BodyTooLarge, Http11Pool, HttpError


async def _serve(replies, seen):
    """A server answering each request (on any connection) with the next raw reply; `None` hangs up unanswered,
    `(reply, "close")` answers then closes the connection (as a server's keep-alive timeout does)."""
    queue = list(replies)

    async def handle(reader, writer):
        try:
            while queue:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
                )
                seen.append((head, await reader.readexactly(length)))
                reply = queue.pop(0)
                if reply is None:
                    break
                then_close = isinstance(reply, tuple)
                writer.write(reply[0] if then_close else reply)
                await writer.drain()
                if then_close:
                    await asyncio.sleep(0.05)  # the client has put the connection back in its pool by now
                    break
                if (
                    b"connection: close" in reply.lower()
                    or b"content-length" not in reply.lower()
                    and b"chunked" not in reply.lower()
                ):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"


def run(replies, posts, cap=1000):
    """POST `posts` bodies one after another; returns (results or exceptions, requests seen, connections made)."""
    seen, out = [], []

    async def go():
        server, url = await _serve(replies, seen)
        connections = 0
        original = asyncio.open_connection

        async def counting(*a, **kw):
            nonlocal connections
            connections += 1
            return await original(*a, **kw)

        asyncio.open_connection = counting
        try:
            pool = Http11Pool(url, {"Authorization": "Bearer k"})
            for body in posts:
                try:
                    out.append(await pool.post(body, cap))
                except (HttpError, BodyTooLarge, OSError) as e:
                    out.append(e)
            await pool.close()
        finally:
            asyncio.open_connection = original
            server.close()
        return connections

    connections = asyncio.run(go())
    return out, seen, connections


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def test_request_is_well_formed_and_connections_are_kept_alive():
    out, seen, connections = run([OK, OK, OK], [b'{"a":1}', b"[]", b"{}"])
    assert [o[:1] for o in out] == [(200,)] * 3 and out[0][2] == b"{}"
    assert out[0][1]["content-type"] == "application/json"
    head, body = seen[0]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Authorization: Bearer k" in head and b"Content-Length: 7" in head and body == b'{"a":1}'
    assert connections == 1


def test_chunked_and_until_close_bodies_are_read_whole():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n"
    until_close = b"HTTP/1.0 500 Oops\r\n\r\nserver error text"
    out, _, connections = run([chunked, until_close, OK], [b"1", b"2", b"3"])
    assert out[0][0] == 200 and out[0][2] == b"abcde"
    assert out[1][0] == 500 and out[1][2] == b"server error text"
    assert out[2][0] == 200
    assert connections == 2  # the body that ran to the end of its connection ended that connection


def test_connection_close_is_honoured_and_a_stale_connection_is_replaced():
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    out, seen, connections = run([closing, None, OK], [b"1", b"2", b"3"])
    assert out[0][2] == b"ok"
    # request 2 went on a new connection that the server dropped unanswered: an error, not a hang
    assert isinstance(out[1], HttpError)
    assert out[2][0] == 200 and connections == 3


def test_a_kept_alive_connection_closed_by_the_server_is_replaced_transparently():
    out, seen, connections = run([(OK, "close"), OK], [b"1", b"2"])
    assert [o[0] for o in out] == [200, 200] and len(seen) == 2 and connections == 2


def test_caps_and_broken_replies_raise():
    big_declared = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
    big_chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"3e8\r\n" + b"y" * 1000 + b"\r\n" + b"3e8\r\n"
    )
    garbage = b"SSH-2.0-OpenSSH\r\n\r\n"
    out, _, _ = run([big_declared, big_chunked, garbage], [b"1", b"2", b"3"])
    assert isinstance(out[0], BodyTooLarge) and isinstance(out[1], BodyTooLarge)
    assert isinstance(out[2], HttpError) and "status line" in str(out[2])


def test_refused_connection_is_an_os_error():
    async def go():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        pool = Http11Pool(f"http://127.0.0.1:{port}/x")
        with pytest.raises(OSError):
            await pool.post(b"{}", 100)

    asyncio.run(go())
