"""The naive Python baseline for the sidecar bench: an aiohttp server plus one ClientSession.

Forwards method, path, headers (hop-by-hop removed) and body to the upstream and returns its
status, headers and body. No sampling, no streaming: the smallest proxy one would write with
aiohttp's high-level API. ``python bench/sidecar_aiohttp_proxy.py LISTEN_PORT UPSTREAM_PORT``.
"""

from __future__ import annotations

import sys

from aiohttp import ClientSession, TCPConnector, web

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


def make_app(upstream: str) -> web.Application:
    async def start(app: web.Application) -> None:
        app["session"] = ClientSession(connector=TCPConnector(limit=0), auto_decompress=False)

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def forward(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with request.app["session"].request(
            request.method, upstream + request.path_qs, headers=headers, data=await request.read()
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=answer.status, headers=kept, body=body)

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


if __name__ == "__main__":
    listen, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    web.run_app(
        make_app(f"http://127.0.0.1:{upstream_port}"),
        host="127.0.0.1",
        port=listen,
        access_log=None,
        print=None,
    )
