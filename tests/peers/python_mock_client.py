"""An independent client (Python `websockets` and urllib) for sockscope's mock server running
assets/mock/chat.ron: the 401 and its body, two clients joining a room and talking, and API Gateway's management
API (GET, POST text and binary, POST under a stage, DELETE, 410 for an unknown id). Prints one JSON object.

Usage: python python_mock_client.py WS_URL TOKEN
"""
import asyncio
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import websockets

URL, TOKEN = sys.argv[1], sys.argv[2]
HTTP = URL.replace("ws://", "http://", 1).rstrip("/")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def call(method, path, body=None, content_type=None):
    request = urllib.request.Request(HTTP + path, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def main():
    out = {}
    try:
        async with websockets.connect(URL):
            out["unauthorized"] = "opened"
    except websockets.exceptions.InvalidStatus as e:
        out["unauthorized"] = {"status": e.response.status_code, "body": e.response.body.decode()}
    async with websockets.connect(URL, additional_headers=AUTH) as alice, \
            websockets.connect(URL, additional_headers=AUTH) as bob:
        await alice.send(json.dumps({"action": "join", "room": "lobby", "user": "alice"}))
        out["alice_joined"] = await recv_json(alice)
        await bob.send(json.dumps({"action": "join", "room": "lobby", "user": "bob"}))
        out["bob_joined"] = await recv_json(bob)
        await alice.send(json.dumps({"action": "sendmessage", "room": "lobby", "text": "hi"}))
        out["alice_got"] = await recv_json(alice)
        out["bob_got"] = await recv_json(bob)
        await alice.send(json.dumps({"action": "whoami"}))
        whoami = await recv_json(alice)
        out["whoami"] = whoami
        conn = urllib.parse.quote(whoami["connectionId"], safe="")
        loop = asyncio.get_running_loop()

        async def api(*args):
            return await loop.run_in_executor(None, call, *args)

        status, body = await api("GET", f"/@connections/{conn}")
        out["get"] = {"status": status, "body": json.loads(body)}
        out["post"] = (await api("POST", f"/@connections/{conn}", b"pushed by the backend"))[0]
        out["pushed"] = await asyncio.wait_for(alice.recv(), 5)
        out["post_binary"] = (await api("POST", f"/production/@connections/{conn}", b"\x00\x01\xfe",
                                        "application/octet-stream"))[0]
        out["pushed_binary"] = (await asyncio.wait_for(alice.recv(), 5)).hex()
        out["post_unknown"] = (await api("POST", "/@connections/bm9ib2R5", b"x"))[0]
        out["delete"] = (await api("DELETE", f"/@connections/{conn}"))[0]
        try:
            await asyncio.wait_for(alice.recv(), 5)
            out["after_delete"] = "a message"
        except websockets.exceptions.ConnectionClosed as e:
            out["after_delete"] = {"code": e.rcvd.code if e.rcvd else None}
        out["get_after_delete"] = (await api("GET", f"/@connections/{conn}"))[0]
    print(json.dumps(out))


asyncio.run(main())
