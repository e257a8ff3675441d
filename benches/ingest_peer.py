#!/usr/bin/env python3
"""The aiohttp peer of `kedge serve` in benches/serve-ingest.sh.

One process, one event loop. Per request it does what kedge's GitHub receiver
does before queueing: read the body, verify X-Hub-Signature-256 (HMAC-SHA256
of the body, compared in constant time), parse the JSON and check that the
push is for the tracked repository and branch. 202 when it is, 401 on a bad
or missing signature, 400 on a body that is not JSON.

    python3 benches/ingest_peer.py PORT SECRET REPOSITORY BRANCH
"""

import hashlib
import hmac
import json
import sys

from aiohttp import web


def make_app(secret: bytes, repository: str, branch: str) -> web.Application:
    """The application: POST /webhooks/github."""
    tracked_ref = "refs/heads/" + branch

    async def github(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Hub-Signature-256", "")
        if not hmac.compare_digest(expected.encode(), given.encode()):
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            event = json.loads(body)
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        name = (event.get("repository") or {}).get("full_name", "")
        if request.headers.get("X-GitHub-Event") == "push" and \
                name.lower() == repository and event.get("ref") == tracked_ref:
            return web.json_response({"status": "queued", "jobs": 1}, status=202)
        return web.json_response({"status": "ignored"}, status=202)

    app = web.Application(client_max_size=5 * 1024 * 1024)
    app.router.add_post("/webhooks/github", github)
    return app


def main() -> None:
    port, secret, repository, branch = sys.argv[1:5]
    app = make_app(secret.encode(), repository.lower(), branch)
    web.run_app(app, host="127.0.0.1", port=int(port), access_log=None, print=None)


if __name__ == "__main__":
    main()
