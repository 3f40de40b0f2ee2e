"""An independent TLS client (Python websockets, ssl) for sockscope's mock server with the user's certificate:
the certificate verified against CAFILE (hostname 127.0.0.1 included), one message and its reply. Prints one
JSON object.

Usage: python python_wss_client.py WSS_URL CAFILE
"""
import asyncio
import json
import ssl
import sys

import websockets


async def main():
    context = ssl.create_default_context(cafile=sys.argv[2])
    out = {}
    try:
        async with websockets.connect(sys.argv[1], ssl=context) as ws:
            await ws.send("verified")
            out["reply"] = await asyncio.wait_for(ws.recv(), 5)
            out["tls"] = ws.transport.get_extra_info("ssl_object").version()
    except Exception as e:  # reported, for the test to show
        out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out))


asyncio.run(main())
