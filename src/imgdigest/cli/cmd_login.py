"""``imgdigest login`` / ``logout``: store credentials in Docker's config, as docker does."""

from __future__ import annotations

import argparse
import sys

from imgdigest.errors import UsageError
from imgdigest.registry.credentials import login, logout


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("login", help="store registry credentials (Docker's config.json)")
    p.add_argument("registry", metavar="REGISTRY")
    p.add_argument("-u", "--username", required=True)
    p.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    p.add_argument("--docker-config", metavar="DIR")
    p.set_defaults(func=run_login)
    q = sub.add_parser("logout", help="remove stored registry credentials")
    q.add_argument("registry", metavar="REGISTRY")
    q.add_argument("--docker-config", metavar="DIR")
    q.set_defaults(func=run_logout)


def run_login(args: argparse.Namespace) -> int:
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise UsageError("no password on stdin")
    path = login(args.registry, args.username, password, args.docker_config)
    print(f"Login credentials for {args.registry} saved in {path}", file=sys.stderr)
    return 0


def run_logout(args: argparse.Namespace) -> int:
    if logout(args.registry, args.docker_config):
        print(f"Removed login credentials for {args.registry}", file=sys.stderr)
        return 0
    print(f"Not logged in to {args.registry}", file=sys.stderr)
    return 0
