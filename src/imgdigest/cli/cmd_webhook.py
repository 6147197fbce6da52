"""``imgdigest webhook``: serve the admission webhook, or make its certificates."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

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
        "--listen",
        type=nonblank("HOST:PORT"),
        default="0.0.0.0:8443",
        metavar="HOST:PORT",
        help="(default: %(default)s)",
    )
    s.add_argument(
        "--config", type=PATH, metavar="FILE", help="YAML settings (flags given here win)"
    )
    add_setting_args(s)
    s.add_argument(
        "--pull-secret",
        action="append",
        default=[],
        metavar="FILE",
        help="a mounted kubernetes.io/dockerconfigjson Secret's .dockerconfigjson (repeatable)",
    )
    s.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="info logs one JSON line per review (default: %(default)s)",
    )
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


def add_setting_args(p: argparse.ArgumentParser) -> None:
    """One flag per ``WebhookConfig`` field, named after it (``cache_ttl``: ``--cache-ttl``).

    The config file takes the same names, so a ConfigMap and a command line say the same
    thing. Flags default to None, so that only those given override the file; the help
    shows ``WebhookConfig``'s defaults. Older flag names stay as aliases.
    """
    from imgdigest.webhook.config import BUDGET_MARGIN, WebhookConfig

    d = WebhookConfig()
    g = p.add_argument_group(
        "settings", "each is also a key of the --config file: cache-ttl or cache_ttl"
    )

    def shown(values: tuple[str, ...]) -> str:
        return ", ".join(values) if values else "none"

    g.add_argument(
        "--enforce",
        choices=("deny", "warn"),
        help=f"refuse, or allow with warnings (default: {d.enforce})",
    )
    g.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        help=f"also refuse invalid digests (default: {'on' if d.strict else 'off'})",
    )
    g.add_argument(
        "--on-resolve-error",
        choices=("allow", "deny"),
        help=f"mutation outcome when a tag cannot be resolved in time "
        f"(default: {d.on_resolve_error})",
    )
    g.add_argument(
        "--exempt-images",
        "--exempt",
        dest="exempt_images",
        action="append",
        type=nonblank("an image or a prefix ending in *"),
        metavar="PATTERN",
        help="image never judged nor pinned; a trailing * matches a prefix (repeatable; "
        f"default: {shown(d.exempt_images)})",
    )
    g.add_argument(
        "--exempt-namespaces",
        "--exempt-namespace",
        dest="exempt_namespaces",
        action="append",
        type=nonblank("a namespace"),
        metavar="NS",
        help=f"namespace left alone (repeatable; default: {shown(d.exempt_namespaces)})",
    )
    g.add_argument(
        "--opt-out",
        type=nonblank("a label or annotation key"),
        metavar="KEY",
        help=f'label or annotation that exempts an object when "true" (default: {d.opt_out})',
    )
    g.add_argument(
        "--pin-images",
        "--pin",
        dest="pin_images",
        action="append",
        type=nonblank("an image pattern"),
        metavar="PATTERN",
        help="pin only these images (repeatable; default: every unpinned image)",
    )
    g.add_argument(
        "--platform",
        type=platform_spec(),
        metavar="OS/ARCH",
        help="pin this platform's manifest digest (default: the index digest)",
    )
    g.add_argument(
        "--timeout-seconds",
        type=seconds(1, 30),
        metavar="S",
        help=f"timeoutSeconds of the webhook configurations (default: {d.timeout_seconds:g})",
    )
    g.add_argument(
        "--budget-seconds",
        "--budget",
        dest="budget_seconds",
        type=seconds(0.1, 30),
        metavar="S",
        help=f"answer within this (default: timeout-seconds - {BUDGET_MARGIN:g})",
    )
    g.add_argument(
        "--cache-ttl",
        type=seconds(0, 366 * 24 * 3600),
        metavar="S",
        help=f"reuse tag answers this long (default: {d.cache_ttl:g})",
    )
    g.add_argument(
        "--cache-size",
        type=whole(0, 10_000_000, "entries"),
        metavar="N", help=f"entries kept (default: {d.cache_size})"
    )
    g.add_argument(
        "--max-body-bytes",
        type=whole(1, 1 << 30, "bytes"),
        metavar="N",
        help=f"refuse larger reviews with 413 (default: {d.max_body_bytes})",
    )
    g.add_argument(
        "--require-signature",
        dest="require_signature",
        action="append",
        type=nonblank("PATTERN=KEY.pub"),
        metavar="PATTERN=KEY.pub",
        help="admit images matching PATTERN only with a digest that carries a cosign "
        "signature KEY.pub verifies; a trailing * matches a prefix (repeatable; default: none)",
    )
    g.add_argument(
        "--keep-old-digests",
        action=argparse.BooleanOptionalAction,
        help="on UPDATE, keep the old digest of an unchanged tag "
        f"(default: {'on' if d.keep_old_digests else 'off'})",
    )


def run_serve(args: argparse.Namespace) -> int:
    from imgdigest.webhook import config as configs
    from imgdigest.webhook.app import WebhookApp
    from imgdigest.webhook.metrics import Metrics
    from imgdigest.webhook.server import parse_listen, serve
    from imgdigest.webhook.tlsreload import ReloadingTLS

    parse_listen(args.listen)
    settings = {f.name: getattr(args, f.name) for f in fields(configs.WebhookConfig)}
    config = configs.load(args.config, **settings)
    from imgdigest.registry.credentials import CredentialStore

    for path in args.pull_secret:  # refuse a malformed Secret now, with its file name
        configs.check_pull_secret(path)
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
