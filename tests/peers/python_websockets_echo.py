"""Echo server on the Python `websockets` library: prints its port, then echoes text as text, binary as binary.

A message "close:CODE:REASON" makes the server close the connection with that code and reason; "ping:DATA" makes
it send a ping with DATA and, once the pong arrives, the text "pong:DATA".
With arguments CERT KEY it serves wss:// with that certificate and selects the subprotocol "chat.v2" (or "chat.v1").
"""
import asyncio
import ssl
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        if isinstance(message, str) and message.startswith("close:"):
            _, code, reason = message.split(":", 2)
            await ws.close(int(code), reason)
            return
        if isinstance(message, str) and message.startswith("ping:"):
            data = message[len("ping:"):]
            pong = await ws.ping(data.encode())
            await pong
            await ws.send("pong:" + data)
            continue
        await ws.send(message)


async def main():
    options = {"max_size": None}
    if len(sys.argv) == 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        options["ssl"] = context
        options["subprotocols"] = ["chat.v2", "chat.v1"]
    async with serve(echo, "127.0.0.1", 0, **options) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
