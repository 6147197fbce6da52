"""A record of every request, for ``--explain`` and for metrics.

Registries meter clients differently; the record says what a request cost: Docker Hub
counts a manifest GET as a pull (a HEAD is free), and registries that send
``RateLimit-Remaining`` say how much quota is left. Records never hold headers, so
no credential can leak through them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DOCKER_HUB_HOSTS = frozenset({"registry-1.docker.io", "index.docker.io", "docker.io"})

_MANIFEST_PATH = re.compile(r"^/v2/.+/manifests/[^/]+$")


@dataclass(frozen=True)
class RequestRecord:
    method: str
    host: str
    path: str
    status: int  # 0 when no answer arrived
    bytes: int
    seconds: float
    purpose: str = ""  # "ping", "token", "manifest", "blob", "tags", ...
    ratelimit_limit: str | None = None
    ratelimit_remaining: str | None = None
    error: str | None = None

    @property
    def counts_as_pull(self) -> bool:
        """Docker Hub charges a pull for each manifest GET; HEAD requests are free."""
        return (
            self.host in DOCKER_HUB_HOSTS
            and self.method == "GET"
            and bool(_MANIFEST_PATH.match(self.path))
            and 200 <= self.status < 300
        )


def parse_ratelimit(value: str | None) -> str | None:
    """``100;w=21600`` -> ``100`` (Docker Hub's form); other forms pass through."""
    if not value:
        return None
    return value.split(";", 1)[0].strip() or None


@dataclass
class Trace:
    """Collects records; ``summary()`` gives the totals ``--explain`` prints."""

    records: list[RequestRecord] = field(default_factory=list)

    def __call__(self, record: RequestRecord) -> None:
        self.records.append(record)

    def summary(self) -> dict[str, object]:
        by_status: dict[str, int] = {}
        for r in self.records:
            key = str(r.status) if r.status else "no-answer"
            by_status[key] = by_status.get(key, 0) + 1
        remaining = [r.ratelimit_remaining for r in self.records if r.ratelimit_remaining]
        return {
            "requests": len(self.records),
            "bytes": sum(r.bytes for r in self.records),
            "pulls_counted": sum(1 for r in self.records if r.counts_as_pull),
            "by_status": by_status,
            "ratelimit_remaining": remaining[-1] if remaining else None,
        }

    def format_record(self, r: RequestRecord) -> str:
        pull = " [counts as a pull]" if r.counts_as_pull else ""
        rl = f" ratelimit-remaining={r.ratelimit_remaining}" if r.ratelimit_remaining else ""
        status = str(r.status) if r.status else f"error: {r.error}"
        return (
            f"{r.method} {r.host}{r.path} -> {status} {r.bytes}B {r.seconds * 1000:.0f}ms{pull}{rl}"
        )
