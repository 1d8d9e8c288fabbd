"""A TCP proxy for tests: slows the hub's answers down and remembers the traffic.

Put between a client and a live hub, it makes a download last long enough to
be interrupted, and lets a test see the ``Range`` a client sent and the
``206`` the hub answered. Signed URLs keep pointing at the proxy, because the
hub builds them from the ``Host`` the client sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class SlowProxy:
    def __init__(self, target_port: int, rate: float | None = None) -> None:
        self.target_port = target_port
        #: Bytes per second from the hub to the client; None: as fast as it goes.
        self.rate = rate
        self.upstream = bytearray()  # everything clients sent
        self.downstream_heads: list[bytes] = []  # the first line of each hub answer
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SlowProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def shut():
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self._loop)
        self._thread.join(10)
        self._loop.close()

    def saw(self, needle: bytes) -> bool:
        return needle.lower() in bytes(self.upstream).lower()

    def answered(self, status: int) -> bool:
        return any(head.startswith(b"HTTP/1.1 %d" % status) for head in self.downstream_heads)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve():
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    async def _handle(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return

        async def client_to_hub():
            while data := await reader.read(65536):
                self.upstream += data
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def hub_to_client():
            while data := await up_reader.read(16384):
                if data.startswith(b"HTTP/1."):
                    self.downstream_heads.append(data.split(b"\r\n", 1)[0])
                writer.write(data)
                await writer.drain()
                if self.rate:
                    await asyncio.sleep(len(data) / self.rate)
            writer.close()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            await asyncio.gather(client_to_hub(), hub_to_client())
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()
