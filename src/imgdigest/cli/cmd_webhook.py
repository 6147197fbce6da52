"""``imgdigest webhook``: serve the admission webhook, or make its certificates."""

from __future__ import annotations

import argparse
import sys

from imgdigest.cli._common import (
    PATH,
    add_registry_args,
    nonblank,
    platform_spec,
    resolve_options,
    seconds,
    whole,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "webhook",
        help="the Kubernetes admission webhook (validate and pin digests)",
        description="Run the admission webhook that refuses (or warns about) images without "
        "a digest and pins tags to digests as workloads are admitted.",
    )
    cmds = p.add_subparsers(dest="webhook_command", metavar="SUBCOMMAND")
    cmds.required = True

    s = cmds.add_parser(
        "serve",
        help="serve /validate, /mutate, /healthz, /readyz and /metrics over HTTPS",
        description="Serve the webhook over HTTPS. The certificate and key are re-read when "
        "they change on disk (cert-manager rotation), without a restart.",
    )
    s.add_argument(
        "--tls-cert", type=PATH, required=True, metavar="FILE", help="serving certificate (PEM)"
    )
    s.add_argument(
        "--tls-key", type=PATH, required=True, metavar="FILE", help="its private key (PEM)"
    )
    s.add_argument(
        "--listen", type=nonblank("HOST:PORT"), default="0.0.0.0:8443", metavar="HOST:PORT"
    )
    s.add_argument(
        "--config", type=PATH, metavar="FILE", help="YAML settings (flags given here win)"
    )
    s.add_argument("--enforce", choices=("deny", "warn"), help="refuse, or allow with warnings")
    s.add_argument(
        "--on-resolve-error",
        choices=("allow", "deny"),
        help="mutation outcome when a tag cannot be resolved in time (default: deny)",
    )
    s.add_argument(
        "--exempt",
        action="append",
        type=nonblank("an image or a prefix ending in *"),
        metavar="PATTERN",
        help="image never judged nor pinned; a trailing * matches a prefix (repeatable)",
    )
    s.add_argument(
        "--exempt-namespace",
        action="append",
        type=nonblank("a namespace"),
        metavar="NS",
        help="namespace left alone (repeatable; default kube-system)",
    )
    s.add_argument(
        "--pin",
        action="append",
        type=nonblank("an image pattern"),
        metavar="PATTERN",
        help="pin only these images",
    )
    s.add_argument(
        "--platform",
        type=platform_spec(),
        metavar="OS/ARCH",
        help="pin this platform's manifest digest",
    )
    s.add_argument(
        "--strict", action="store_true", default=None, help="also refuse invalid digests"
    )
    s.add_argument(
        "--timeout-seconds",
        type=seconds(1, 30),
        metavar="S",
        help="timeoutSeconds of the webhook configurations (default 10)",
    )
    s.add_argument(
        "--budget",
        type=seconds(0.1, 30),
        metavar="S",
        help="answer within this (default timeoutSeconds - 1.5)",
    )
    s.add_argument(
        "--cache-ttl",
        type=seconds(0, 366 * 24 * 3600),
        metavar="S",
        help="reuse tag answers this long",
    )
    s.add_argument(
        "--cache-size",
        type=whole(0, 10_000_000, "entries"),
        metavar="N",
        help="entries kept in memory",
    )
    s.add_argument(
        "--pull-secret",
        action="append",
        default=[],
        metavar="FILE",
        help="a mounted kubernetes.io/dockerconfigjson Secret's .dockerconfigjson (repeatable)",
    )
    s.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    add_registry_args(s)
    s.set_defaults(func=run_serve)

    c = cmds.add_parser(
        "certs",
        help="write a CA, a serving certificate and the caBundle patch",
        description="For clusters without cert-manager: write ca.crt, tls.crt, tls.key and "
        "cabundle-patch.yaml for the webhook's Service.",
    )
    c.add_argument(
        "--service", type=nonblank("a Service name"), default="imgdigest-webhook", metavar="NAME"
    )
    c.add_argument(
        "--namespace", type=nonblank("a namespace"), default="imgdigest-system", metavar="NS"
    )
    c.add_argument("--out", type=PATH, default=".", metavar="DIR")
    c.add_argument("--days", type=whole(1, 3650, "days"), default=365)
    c.add_argument("--cluster-domain", type=nonblank("a domain"), default="cluster.local")
    c.set_defaults(func=run_certs)


def run_serve(args: argparse.Namespace) -> int:
    from imgdigest.webhook import config as configs
    from imgdigest.webhook.app import WebhookApp
    from imgdigest.webhook.metrics import Metrics
    from imgdigest.webhook.server import parse_listen, serve
    from imgdigest.webhook.tlsreload import ReloadingTLS

    parse_listen(args.listen)
    config = configs.load(
        args.config,
        enforce=args.enforce,
        on_resolve_error=args.on_resolve_error,
        exempt_images=args.exempt,
        exempt_namespaces=args.exempt_namespace,
        pin_images=args.pin,
        platform=args.platform,
        strict=args.strict,
        timeout_seconds=args.timeout_seconds,
        budget_seconds=args.budget,
        cache_ttl=args.cache_ttl,
        cache_size=args.cache_size,
    )
    from imgdigest.registry.credentials import CredentialStore

    for path in args.pull_secret:  # refuse a malformed Secret now, with its file name
        CredentialStore().add_dockerconfigjson(path)
    options = resolve_options(args, None)
    # Lookups in flight outlive a request, not the registry timeout; the on-disk caches
    # are off (read-only root filesystem) and the in-memory one takes their place.
    from dataclasses import replace

    options = replace(options, cache=False, max_age=None)
    metrics = Metrics()
    tls = ReloadingTLS(args.tls_cert, args.tls_key, on_reload=metrics.cert_reloads.inc)
    app = WebhookApp(config, options, pull_secrets=args.pull_secret, metrics=metrics)
    return serve(app, args.listen, tls, args.log_level)


def run_certs(args: argparse.Namespace) -> int:
    import shlex
    from pathlib import Path

    from imgdigest.webhook.certs import write

    written = write(args.out, args.service, args.namespace, args.days, args.cluster_domain)
    for path in written:
        print(path)
    # Paths as written (``certs/`` gives ``certs/tls.crt``, not ``certs//tls.crt``), quoted
    # so the hint can be pasted into a shell whatever the directory is called.
    cert, key = (shlex.quote(str(Path(args.out) / name)) for name in ("tls.crt", "tls.key"))
    print(
        f"# kubectl -n {shlex.quote(args.namespace)} create secret tls "
        f"{shlex.quote(args.service + '-tls')} --cert {cert} --key {key}",
        file=sys.stderr,
    )
    return 0
