"""A front for a real registry that pages tag lists as newer registries do.

distribution 2.8 (the harness registry) ignores ``n`` and ``last`` on
``/v2/NAME/tags/list``; the distribution spec, distribution 3, Harbor, GHCR and Docker
Hub page it with ``Link: <...>; rel="next"``. This front takes the real registry's
full tag list, sorts it lexically and serves it in pages by those rules; with
``manifest_map=True`` it also adds the ``manifest`` map (digest -> tags, media type)
that GCR and Artifact Registry send, computed from the registry's own HEAD answers.
Every other request is forwarded untouched, so manifests and blobs come from the
registry itself.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.harness.httpserver import QuietHandler, ThreadedServer

_TAGS = re.compile(r"^/v2/(?P<repo>.+)/tags/list$")
_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class TagFront:
    def __init__(self, upstream_url: str, manifest_map: bool = False) -> None:
        self.upstream = upstream_url.rstrip("/")
        self.manifest_map = manifest_map
        self.tag_requests = 0
        self.forwarded: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30)
        self._server = ThreadedServer(_handler(self))

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.port}"

    def start(self) -> TagFront:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self._client.close()

    def page(self, repo: str, query: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.tag_requests += 1
        resp = self._client.get(f"{self.upstream}/v2/{repo}/tags/list")
        if resp.status_code != 200:
            return resp.status_code, {"Content-Type": "application/json"}, resp.content
        tags = sorted(resp.json().get("tags") or [])
        params = parse_qs(query)
        last = params.get("last", [""])[0]
        n = int(params["n"][0]) if "n" in params else len(tags)
        rest = [t for t in tags if t > last]
        chunk = rest[:n]
        body: dict[str, object] = {"name": repo, "tags": chunk}
        headers = {"Content-Type": "application/json"}
        if len(rest) > n:
            nxt = urlencode({"n": n, "last": chunk[-1]})
            headers["Link"] = f'</v2/{repo}/tags/list?{nxt}>; rel="next"'
        if self.manifest_map:
            body["manifest"] = self._map(repo, chunk)
        return 200, headers, json.dumps(body).encode()

    def _map(self, repo: str, tags: list[str]) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        for t in tags:
            r = self._client.head(
                f"{self.upstream}/v2/{repo}/manifests/{t}", headers={"Accept": _ACCEPT}
            )
            d = r.headers["Docker-Content-Digest"]
            entry = out.setdefault(d, {"mediaType": r.headers["Content-Type"], "tag": []})
            entry["tag"].append(t)  # type: ignore[union-attr]
        return out


def _handler(front: TagFront) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            m = _TAGS.match(parts.path)
            if m and self.command == "GET":
                status, headers, body = front.page(m["repo"], parts.query)
                headers.pop("Content-Type", None)
                self.send_simple(status, body, headers=headers)
                return
            with front._lock:
                front.forwarded.append((self.command, parts.path))
            resp = front._client.request(
                self.command,
                front.upstream + self.path,
                headers={k: v for k, v in self.headers.items() if k.lower() == "accept"},
            )
            keep = ("content-type", "docker-content-digest", "content-length")
            self.send_response_only(resp.status_code)
            for k, v in resp.headers.items():
                if k.lower() in keep:
                    self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.content)

        do_HEAD = do_GET

    return Handler
