"""A minimal asyncio HTTP/1.1 client for POSTing JSON to one server over kept-alive connections.

    pool = Http11Pool("http://127.0.0.1:8000/v1/chat/completions", headers={"Authorization": "Bearer ..."})
    status, headers, body = await pool.post(b'{"model": ...}', max_bytes=8 << 20)   # headers: lower-case keys
    await pool.post(body, max_bytes, {"X-Session-ID": "traj-7"})                     # + this request's headers
    await pool.close()

Why not aiohttp or httpx: synthesis against a fast teacher server is bound by the client's one Python thread, and
a request costs ~0.14 ms of CPU here against ~0.3 ms through aiohttp and ~1 ms through httpx
(benchmarks/synth_throughput.py). It speaks only what an OpenAI-compatible server needs: POST, Content-Length
or chunked bodies, keep-alive, TLS. Proxies are not spoken: the teacher uses aiohttp when one applies.

Errors: `HttpError` (the server broke the protocol or hung up) and `BodyTooLarge`; OSError for connection
failures. The caller puts a deadline around `post` (a cancelled request's connection is dropped, never reused).
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 64 * 1024


class HttpError(Exception):
    """The server's reply is not HTTP/1.x as spoken here, or the connection ended mid-reply."""


class BodyTooLarge(Exception):
    def __init__(self, size: int | None, cap: int):
        super().__init__(f"body {'of ' + str(size) + ' bytes ' if size is not None else ''}over cap {cap} bytes")


class Http11Pool:
    def __init__(self, url: str, headers: dict[str, str] | None = None, connect_timeout: float = 10.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.connect_timeout = connect_timeout
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = self.host if parts.port is None else f"{self.host}:{parts.port}"
        if ":" in self.host:  # an IPv6 literal goes in brackets in the Host header
            host = f"[{self.host}]" + (f":{parts.port}" if parts.port else "")
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}", "Content-Type: application/json", "Accept: */*"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self._fixed = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._head = self._fixed + b"Content-Length: "
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(
        self, body: bytes, max_bytes: int, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        head = self._head
        if headers:  # per-request headers go before Content-Length, which the fixed head ends with
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
            head = self._fixed + extra + b"Content-Length: "
        request = head + b"%d\r\n\r\n" % len(body) + body
        while self._idle:
            reader, writer = self._idle.pop()
            try:
                return await self._exchange(reader, writer, request, max_bytes)
            except _StaleConnection:
                continue  # the server closed a kept-alive connection before reading this request: use another
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.tls, limit=MAX_HEADER_BYTES), self.connect_timeout
        )
        try:
            return await self._exchange(reader, writer, request, max_bytes)
        except _StaleConnection:
            raise HttpError("the server closed the connection without replying") from None

    async def _exchange(self, reader, writer, request: bytes, max_bytes: int):
        keep = False
        try:
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as e:
                if not e.partial:
                    raise _StaleConnection from None
                raise HttpError("the connection ended inside the response headers") from None
            except (ConnectionResetError, BrokenPipeError):
                raise _StaleConnection from None
            except asyncio.LimitOverrunError:
                raise HttpError(f"response headers over {MAX_HEADER_BYTES} bytes") from None
            status, headers, version = _parse_head(head)
            body = await _read_body(reader, headers, max_bytes)
            keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            if "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", ""):
                keep = False  # the body ran to the end of the connection
            return status, headers, body
        except asyncio.IncompleteReadError:
            raise HttpError("the connection ended inside the response body") from None
        finally:
            if keep:
                self._idle.append((reader, writer))
            else:
                writer.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()


class _StaleConnection(Exception):
    pass


def _parse_head(head: bytes) -> tuple[int, dict[str, str], str]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, parts[0]


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], cap: int) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks, size = [], 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                n = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HttpError(f"bad chunk size line {line[:40]!r}") from None
            if n == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
                    pass
                return b"".join(chunks)
            size += n
            if size > cap:
                raise BodyTooLarge(None, cap)
            chunks.append(await reader.readexactly(n))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HttpError(f"bad Content-Length {length[:40]!r}")
        if int(length) > cap:
            raise BodyTooLarge(int(length), cap)
        return await reader.readexactly(int(length))
    chunks, size = [], 0
    while chunk := await reader.read(65536):
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(None, cap)
        chunks.append(chunk)
    return b"".join(chunks)
