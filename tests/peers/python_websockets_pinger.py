"""A server on the Python `websockets` library that pings every 0.5 s and closes the connection (1011) when a
pong does not come within 1 s: prints its port, then echoes. For testing `--no-auto-pong`."""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    async with serve(echo, "127.0.0.1", 0, ping_interval=0.5, ping_timeout=1) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
