"""HTTP JSON-RPC server on loopback for the dev chain, and an in-process web3 provider.

Plain `http.server` with one thread per connection: requests are serialised by the chain's lock
anyway, and keep-alive (HTTP/1.1) lets clients reuse one connection for a stream of calls.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ordex.devchain.rpc import DevChainRpc

MAX_BODY_BYTES = 32 * 1024 * 1024


class _RpcHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RpcHttpServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every call.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY_BYTES:
            self._send(400, b'{"error":"a JSON-RPC body is required"}')
            return
        body = self.rfile.read(length)
        answer = self.server.rpc.handle_body(body)
        self._send(200, answer if answer is not None else b"")

    def do_GET(self) -> None:
        # A liveness probe: a real node answers GET with an error too, but a 200 is handier.
        self._send(200, b'{"status":"ok"}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per call would drown the logs


class _RpcHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], rpc: DevChainRpc) -> None:
        super().__init__(address, _RpcHandler)
        self.rpc = rpc


class RpcServer:
    """Serves `rpc` on http://host:port/ from a background thread."""

    def __init__(self, rpc: DevChainRpc, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _RpcHttpServer((host, port), rpc)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="devchain-rpc",
            daemon=True,
        )
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until `stop` or an exception (e.g. KeyboardInterrupt)."""
        self._serving = True
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        # shutdown() waits for a serve_forever loop: only ask when one ran (it returns at
        # once if that loop already ended).
        if self._serving or self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class InProcessProvider(JSONBaseProvider):
    """A web3 provider that calls the dev chain's RPC methods directly (no HTTP)."""

    def __init__(self, rpc: DevChainRpc) -> None:
        super().__init__()
        self.rpc = rpc

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params or [])}
        answer = self.rpc.handle_one(json.loads(json.dumps(request, default=_json_default)))
        assert answer is not None
        return answer  # type: ignore[return-value]

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    raise TypeError(f"cannot encode {type(value).__name__}")
