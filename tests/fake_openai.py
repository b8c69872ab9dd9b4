"""A loopback OpenAI-compatible HTTP server with scripted replies, latency and faults, for tests and benchmarks.

    from tests.fake_openai import FakeOpenAIServer, Fault

    def responder(endpoint, request):          # endpoint: "completions" | "chat/completions"
        if endpoint == "completions":
            return "[ls()]"                     # a str becomes the reply text, wrapped in the endpoint's schema
        return Fault(status=500)                # or a scripted fault

    with FakeOpenAIServer(responder, latency=0.05) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")    # server.base_url ends in /v1
        ...
        server.requests                          # [(endpoint, request_json), ...] in arrival order
        server.sessions                          # the X-Session-ID header of each (None when absent)

    with FakeOpenAIServer(responder, latency=0.05, concurrency=8) as server:   # at most 8 answered at once
        server.latency = 0.5                     # slow it down mid-run
        server.stop()                            # kill it: open connections are cut, new ones refused

Serves GET /v1/models (model name `fake-model` unless `models=` says otherwise), POST /v1/completions and
POST /v1/chat/completions on 127.0.0.1 with an ephemeral port, in a background thread (one thread per request,
so concurrency is real). A responder may return:
  - a `str`: the generated text (usage counts whitespace-separated words);
  - a `dict`: sent as the JSON body as is (for hand-made responses);
  - a `Fault`: `status` (an HTTP error with an OpenAI-style error body), `delay` (seconds before answering),
    `body` (raw bytes instead of a JSON reply: malformed or huge bodies), `hang` (never answer until the server
    stops; clients see a timeout), `then` (what to send after `delay`, e.g. a normal text).
A `responder` that raises makes a 500 reply. `latency` adds a fixed delay to every POST. `concurrency` caps the
requests handled at once (the others wait their turn, as in a vLLM server's queue). The default responder
replies "" to everything (a model that has nothing to say).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    status: int | None = None  # HTTP status to answer with (e.g. 429, 500, 503)
    delay: float = 0.0  # seconds to wait before answering
    body: bytes | None = None  # raw response body (malformed JSON, a huge payload...), sent with `status` or 200
    hang: bool = False  # never answer (until the server stops)
    then: Any = None  # after `delay`, answer with this (str | dict) instead
    headers: dict | None = None  # extra response headers (e.g. {"retry-after": "0"})


Responder = Callable[[str, dict], Any]


def _words(text: str) -> int:
    return len(text.split())


def completion_body(endpoint: str, request: dict, text: str) -> dict:
    """The OpenAI response schema for `text` on `endpoint`."""
    now = int(time.time())
    model = request.get("model", "fake-model")
    if endpoint == "chat/completions":
        prompt = " ".join(str(m.get("content", "")) for m in request.get("messages", []))
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        obj = "chat.completion"
    else:
        prompt = request.get("prompt", "")
        prompt = prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
        obj = "text_completion"
    usage = {"prompt_tokens": _words(prompt), "completion_tokens": _words(text)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {"id": f"fake-{now}", "object": obj, "created": now, "model": model, "choices": [choice], "usage": usage}


class _QuietServer(ThreadingHTTPServer):
    # The default listen backlog (5) drops connections when 64 clients connect at once.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # Clients that hang up mid-reply (a refused 10 MB body, a cancelled hang) are expected here.
        pass


class FakeOpenAIServer:
    def __init__(
        self,
        responder: Responder | None = None,
        latency: float = 0.0,
        models: list[str] | None = None,
        concurrency: int | None = None,
    ):
        self.responder = responder or (lambda endpoint, request: "")
        self.latency = latency
        self.models = models or ["fake-model"]
        self.requests: list[tuple[str, dict]] = []
        self.sessions: list[str | None] = []
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this, header and body go out in separate segments and Nagle + delayed ACK stall ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def setup(self):
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self):
                with server._lock:
                    server._connections.discard(self.connection)
                super().finish()

            def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _dead(self) -> bool:
                if server._stop.is_set():  # stopped: hang up without a word
                    self.close_connection = True
                    return True
                return False

            def do_GET(self):
                if self._dead():
                    return
                if self.path.rstrip("/") == "/v1/models":
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in server.models]
                    self._send(200, json.dumps({"object": "list", "data": data}).encode())
                else:
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())

            def do_POST(self):
                if self._dead():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                endpoint = self.path.rstrip("/").removeprefix("/v1/")
                if endpoint not in ("completions", "chat/completions"):
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())
                    return
                try:
                    request = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(400, json.dumps({"error": {"message": "request body is not JSON"}}).encode())
                    return
                with server._lock:
                    server.requests.append((endpoint, request))
                    server.sessions.append(self.headers.get("X-Session-ID"))
                if server._slots is not None:
                    server._slots.acquire()
                try:
                    if server.latency:
                        server._stop.wait(server.latency)
                    try:
                        reply = server.responder(endpoint, request)
                    except Exception as e:
                        self._send(500, json.dumps({"error": {"message": f"responder raised {e!r}"}}).encode())
                        return
                    self._reply(endpoint, request, reply)
                finally:
                    if server._slots is not None:
                        server._slots.release()

            def _reply(self, endpoint: str, request: dict, reply: Any) -> None:
                if isinstance(reply, Fault):
                    if reply.hang:
                        server._stop.wait()
                        return
                    if reply.delay:
                        server._stop.wait(reply.delay)
                    if reply.body is not None:
                        self._send(reply.status or 200, reply.body, reply.headers)
                    elif reply.status is not None:
                        err = {"error": {"message": f"fake fault {reply.status}", "type": "fake", "code": reply.status}}
                        self._send(reply.status, json.dumps(err).encode(), reply.headers)
                    else:
                        self._reply(endpoint, request, "" if reply.then is None else reply.then)
                    return
                body = reply if isinstance(reply, dict) else completion_body(endpoint, request, str(reply))
                self._send(200, json.dumps(body).encode())

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-openai")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop as a killed server does, at once: open connections (kept-alive, or waiting for a reply) are cut,
        a request that still arrives is dropped unanswered, and new connections are refused."""
        self._stop.set()  # from here on handlers answer nothing
        self._cut_connections()
        if self._server is not None:
            self._server.shutdown()  # waits for the accept loop's next poll (up to 0.5 s)
            self._server.server_close()
            self._server = None
        self._cut_connections()

    def _cut_connections(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by its handler
                pass

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"
