"""``Client.check`` with ``verify`` asks through the session it belongs to.

A session keeps its connections, its registry's scheme and token, and its answers; a
check run from it must not start a second session (a second ping, new connections). The
requests are counted at a proxy in front of the real registry.
"""

from __future__ import annotations

from imgdigest import CheckOptions, Client
from tests.harness import push_image

from .helpers import options

PING = r"^/v2/$"


def test_check_verify_reuses_the_session(registry_http, fault_proxy, unique_repo, tmp_home):
    img = push_image(registry_http, unique_repo, "v1")
    proxy = fault_proxy(registry_http)
    pinned = f"{proxy.host}/{unique_repo}:v1@{img.digest}"
    manifest = tmp_home / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        f"    - name: app\n      image: {pinned}\n"
    )
    with Client(options(proxy, tmp_home, cache=False)) as client:
        assert client.resolve(f"{proxy.host}/{unique_repo}:v1").digest == img.digest
        pings, connections = proxy.count("GET", PING), proxy.connections
        report = client.check([str(manifest)], CheckOptions(verify=True))
        assert report.violations == []
        # The tag moves: the same session now reports it, still without a new ping.
        push_image(registry_http, unique_repo, "v1", seed="another build")
        moved = client.check([str(manifest)], CheckOptions(verify=True))
    assert [(v.rule, v.line) for v in moved.violations] == [("tag-moved", 8)]
    assert proxy.count("GET", PING) == pings == 1
    assert proxy.connections == connections
    assert proxy.count("HEAD", r"/manifests/v1$") == 3
