"""WebSocket echo on hypercorn (ASGI) over HTTP/2 (RFC 8441) and HTTP/1.1: prints its port, then serves.

Usage: python_hypercorn_h2.py [CERT KEY]. With a certificate it serves TLS with ALPN h2 and http/1.1; without,
plain TCP, where HTTP/2 is h2c with prior knowledge. Hypercorn sends SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.

- Text "version" is answered with the HTTP version the server saw ("http/2" or "http/1.1").
- Text "headers" is answered with the request's headers as JSON (names as received).
- Text "close:CODE:REASON" closes with that code and reason.
- Everything else is echoed (text as text, binary as binary).
- Path /refuse is refused with 403 and the body "no entry here" (ASGI's websocket.http.response extension).
- The first subprotocol offered is selected.
"""
import asyncio
import json
import socket
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            if scope["path"] == "/refuse":
                await send({
                    "type": "websocket.http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"text/plain")],
                })
                await send({"type": "websocket.http.response.body", "body": b"no entry here"})
                return
            accept = {"type": "websocket.accept"}
            if scope.get("subprotocols"):
                accept["subprotocol"] = scope["subprotocols"][0]
            await send(accept)
        elif event["type"] == "websocket.receive":
            text = event.get("text")
            if text == "version":
                await send({"type": "websocket.send", "text": "http/" + scope["http_version"]})
            elif text == "headers":
                headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
                await send({"type": "websocket.send", "text": json.dumps(headers)})
            elif text is not None and text.startswith("close:"):
                _, code, reason = text.split(":", 2)
                await send({"type": "websocket.close", "code": int(code), "reason": reason})
                return
            elif text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": event.get("bytes")})
        elif event["type"] == "websocket.disconnect":
            return


async def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.loglevel = "WARNING"
    config.websocket_max_message_size = 64 * 1024 * 1024
    config.h2_max_inbound_frame_size = 64 * 1024
    if len(sys.argv) == 3:
        config.certfile, config.keyfile = sys.argv[1], sys.argv[2]
        config.alpn_protocols = ["h2", "http/1.1"]
    print(sock.getsockname()[1], flush=True)
    await serve(app, config)


if __name__ == "__main__":
    asyncio.run(main())
