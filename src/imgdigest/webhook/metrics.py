"""Prometheus metrics of one webhook process, in a registry of its own.

A private ``CollectorRegistry`` (not the global default) keeps two servers in one test
process apart and keeps ``/metrics`` free of anything the webhook did not define.
Registry traffic is counted from the resolver's per-request records, which carry no
headers, so no credential can reach a label.
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from imgdigest.registry.trace import RequestRecord, parse_ratelimit

CONTENT_TYPE = CONTENT_TYPE_LATEST

# ``*_created`` series double the output and no dashboard reads them.
disable_created_metrics()

#: Registries with a label of their own; requests to any further one count as ``other``.
#: The host comes from submitted pods, so without a bound anyone who may create a pod
#: could grow ``/metrics`` at will (1,500 hosts: 28,500 series). A cluster pulls from a
#: handful of registries; the first 32 seen get their names.
MAX_REGISTRY_LABELS = 32
OTHER_REGISTRIES = "other"

# Admission latency lives in milliseconds; registry latency in tens to thousands of them.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """Every metric the webhook exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._registries: set[str] = set()  # hosts labelled by name (MAX_REGISTRY_LABELS)
        r = self.registry
        self.requests = Counter(
            "imgdigest_webhook_requests",
            "Admission requests answered, by endpoint and verdict",
            ("endpoint", "verdict"),
            registry=r,
        )
        self.latency = Histogram(
            "imgdigest_webhook_request_duration_seconds",
            "Time from request to answer, by endpoint",
            ("endpoint",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.registry_requests = Counter(
            "imgdigest_webhook_registry_requests",
            "Requests made to registries, by registry host and HTTP status (0: no answer)",
            ("registry", "status"),
            registry=r,
        )
        self.registry_errors = Counter(
            "imgdigest_webhook_registry_errors",
            "Registry requests that failed (no answer or a status of 400 and above)",
            ("registry",),
            registry=r,
        )
        self.registry_latency = Histogram(
            "imgdigest_webhook_registry_request_duration_seconds",
            "Duration of registry requests",
            ("registry",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ratelimit_remaining = Gauge(
            "imgdigest_webhook_registry_ratelimit_remaining",
            "Pulls left in the registry's rate-limit window, where the registry reports it",
            ("registry",),
            registry=r,
        )
        self.cache_hits = Counter(
            "imgdigest_webhook_cache_hits", "Image lookups answered from memory", registry=r
        )
        self.cache_misses = Counter(
            "imgdigest_webhook_cache_misses",
            "Image lookups that needed the registry (or joined a lookup in flight)",
            registry=r,
        )
        self.resolve_errors = Counter(
            "imgdigest_webhook_resolve_errors",
            "Image lookups that ended in an error, by error type",
            ("error",),
            registry=r,
        )
        self.resolve_timeouts = Counter(
            "imgdigest_webhook_resolve_timeouts",
            "Image lookups still unanswered when an admission budget ran out",
            registry=r,
        )
        self.signature_verifications = Counter(
            "imgdigest_webhook_signature_verifications",
            "Digests whose signatures were verified (not from the cache), by result: valid, "
            "unsigned, error (the registry could not be asked), timeout",
            ("result",),
            registry=r,
        )
        self.signature_cache_hits = Counter(
            "imgdigest_webhook_signature_cache_hits",
            "Signature verdicts answered from memory (by digest and key)",
            registry=r,
        )
        self.signature_cache_misses = Counter(
            "imgdigest_webhook_signature_cache_misses",
            "Signature verdicts that needed the registry",
            registry=r,
        )
        self.cert_reloads = Counter(
            "imgdigest_webhook_certificate_reloads",
            "Serving certificates loaded after a change on disk",
            registry=r,
        )

    def registry_label(self, host: str) -> str:
        """``host`` while fewer than ``MAX_REGISTRY_LABELS`` are labelled, else ``other``."""
        if host in self._registries:
            return host
        if len(self._registries) < MAX_REGISTRY_LABELS:
            self._registries.add(host)
            return host
        return OTHER_REGISTRIES

    def on_registry_request(self, record: RequestRecord) -> None:
        """``RegistryOptions.on_request`` hook."""
        host = self.registry_label(record.host)
        self.registry_requests.labels(host, str(record.status)).inc()
        self.registry_latency.labels(host).observe(record.seconds)
        if record.status == 0 or record.status >= 400:
            self.registry_errors.labels(host).inc()
        remaining = parse_ratelimit(record.ratelimit_remaining)
        if remaining is not None and host != OTHER_REGISTRIES:  # a gauge of many is meaningless
            with contextlib.suppress(ValueError):
                self.ratelimit_remaining.labels(host).set(float(remaining))

    def render(self) -> bytes:
        return generate_latest(self.registry)
