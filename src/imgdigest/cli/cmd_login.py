"""``imgdigest login`` / ``logout``: store credentials in Docker's config, as docker does."""

from __future__ import annotations

import argparse
import asyncio
import sys

from imgdigest.cli._common import PATH, add_trust_args, checked_ca_file, nonblank
from imgdigest.errors import UsageError
from imgdigest.reference import api_host
from imgdigest.registry.credentials import Credential, CredentialStore, login, logout
from imgdigest.registry.options import RegistryOptions
from imgdigest.registry.transport import Transport


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "login",
        description="Check the credentials against the registry, then store them where "
        "`docker login` would: the configured credential helper, or config.json.",
    )
    p.add_argument("registry", metavar="REGISTRY")
    p.add_argument("-u", "--username", type=nonblank("a user name"), required=True)
    p.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    p.add_argument("--docker-config", type=PATH, metavar="DIR")
    p.add_argument("--no-verify", action="store_true", help="store without asking the registry")
    add_trust_args(p)
    p.set_defaults(func=run_login)
    q = sub.add_parser("logout")
    q.add_argument("registry", metavar="REGISTRY")
    q.add_argument("--docker-config", type=PATH, metavar="DIR")
    q.set_defaults(func=run_logout)


def run_login(args: argparse.Namespace) -> int:
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise UsageError("no password on stdin")
    if not args.no_verify:
        asyncio.run(_verify(args, Credential(args.username, password)))
    path = login(args.registry, args.username, password, args.docker_config)
    print(f"Login credentials for {args.registry} saved in {path}", file=sys.stderr)
    return 0


async def _verify(args: argparse.Namespace, credential: Credential) -> None:
    host = api_host(args.registry)
    store = CredentialStore(args.docker_config)
    store.set(host, credential)
    options = RegistryOptions(
        insecure=tuple(args.insecure), ca_file=checked_ca_file(args.ca_file), retries=1
    )
    async with Transport(options, store) as transport:
        await transport.check_login(host)


def run_logout(args: argparse.Namespace) -> int:
    if logout(args.registry, args.docker_config):
        print(f"Removed login credentials for {args.registry}", file=sys.stderr)
        return 0
    print(f"Not logged in to {args.registry}", file=sys.stderr)
    return 0
