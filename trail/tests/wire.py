"""A real HTTP server on 127.0.0.1 that answers with an httpx-style handler
(``handler(httpx.Request) -> httpx.Response``).

For tests of code that reaches a hub through more than httpx: trail's object
downloads use requests (trail/bodies.py), which httpx's ``MockTransport``
cannot answer. A handler's response whose body stream raises part-way is sent
as far as it got, with the full ``Content-Length`` it declared, and then the
connection is cut: a download that breaks in the middle.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

Handler = Callable[[httpx.Request], httpx.Response]

_running: list[ThreadingHTTPServer] = []


def serve(handler: Handler) -> str:
    """Start a server answering with ``handler``; return its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Exchange)
    server.daemon_threads = True
    server.handler = handler
    # shutdown() waits for the loop's next look at its flag: every 20 ms, not the default
    # 0.5 s, which every test that served something paid again at its teardown.
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    loop.daemon = True
    loop.start()
    _running.append(server)
    return f"http://127.0.0.1:{server.server_address[1]}"


def stop_all() -> None:
    while _running:
        server = _running.pop()
        server.shutdown()
        server.server_close()


class _Exchange(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = httpx.Request(
            self.command,
            f"http://{self.headers['Host']}{self.path}",
            headers=list(self.headers.items()),
            content=self.rfile.read(length) if length else b"",
        )
        response = self.server.handler(request)
        chunks, broken = _body(response)
        self.send_response(response.status_code)
        for name, value in response.headers.multi_items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        declared = response.headers.get("Content-Length")
        self.send_header("Content-Length", declared or str(sum(map(len, chunks))))
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk)
        self.wfile.flush()
        if broken:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format, *args) -> None:
        pass


def _body(response: httpx.Response) -> tuple[list[bytes], bool]:
    """The chunks of the response's body, and whether its stream broke after them."""
    if isinstance(response.stream, httpx.SyncByteStream):
        return [response.read()], False
    chunks: list[bytes] = []

    async def collect() -> None:
        async for chunk in response.stream:
            chunks.append(chunk)

    try:
        asyncio.run(collect())
    except httpx.HTTPError:
        return chunks, True
    return chunks, False
