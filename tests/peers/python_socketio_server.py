"""Socket.IO server from python-socketio (Engine.IO 4, connect with EIO=4) as an ASGI app on uvicorn.

Prints only its port. WebSocket transport only, ping_interval 1 s, ping_timeout 1.5 s, path /socket.io/ (env
SIO_PATH changes it). The same behaviour as node_socketio_server.js:
- namespace "/": emits "welcome" {"id": sid} from the connect handler (python-socketio may send it before the
  CONNECT reply); "echo" sends its args back (as the ack when one is asked, else as an "echo" event); "bin" emits
  "bin" ("file", b"\\x00\\x01\\x02\\x03\\xff") and acks b"\\x09\\x08\\x07"; "sum" acks a+b.
- namespace "/admin": the handshake auth must be {"token": "secret"}, else the connection is refused with
  "not authorized"; emits "hello-admin" "ok" on connection; "echo" as in "/".
"""
import asyncio
import contextvars
import os
import socket

import socketio
import uvicorn

# Whether the event being handled asked for an ack: python-socketio acks with the handler's return value but does
# not tell the handler whether the client asked for one, so _handle_event (which sees the packet id) records it.
ack_wanted = contextvars.ContextVar("ack_wanted", default=False)


class Server(socketio.AsyncServer):
    async def _handle_event(self, eio_sid, namespace, id, data):
        ack_wanted.set(id is not None)  # copied into the handler's task
        return await super()._handle_event(eio_sid, namespace, id, data)


sio = Server(async_mode="asgi", ping_interval=1, ping_timeout=1.5, transports=["websocket"])


def on_echo(namespace):
    async def echo(sid, *args):
        if ack_wanted.get():
            return args  # a tuple: acked as that many arguments
        await sio.emit("echo", args, to=sid, namespace=namespace)  # a tuple: emitted as that many arguments

    return echo


@sio.on("connect")
async def connect(sid, environ, auth):
    await sio.emit("welcome", {"id": sid}, to=sid)


@sio.on("bin")
async def bin_(sid, *args):
    await sio.emit("bin", ("file", bytes([0, 1, 2, 3, 255])), to=sid)
    return bytes([9, 8, 7])


@sio.on("sum")
async def sum_(sid, a, b):
    return a + b


@sio.on("connect", namespace="/admin")
async def admin_connect(sid, environ, auth):
    if not isinstance(auth, dict) or auth.get("token") != "secret":
        raise socketio.exceptions.ConnectionRefusedError("not authorized")
    await sio.emit("hello-admin", "ok", to=sid, namespace="/admin")


sio.on("echo", on_echo("/"))
sio.on("echo", on_echo("/admin"), namespace="/admin")

app = socketio.ASGIApp(sio, socketio_path=os.environ.get("SIO_PATH", "/socket.io/"))


async def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(sock.getsockname()[1], flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    asyncio.run(main())
