"""A TLS failure is told by its exception type, never by its message text.

A distrusted certificate is permanent: no retry, no plain-HTTP probe after it. A
handshake that fails otherwise (a plain-HTTP server on the port) may still be worth
the plain-HTTP try, so the two must not be confused.
"""

from __future__ import annotations

import asyncio
import ssl

import pytest

from imgdigest.errors import NetworkError
from imgdigest.registry.http import map_error
from imgdigest.registry.options import RegistryOptions
from imgdigest.registry.trace import RequestRecord
from imgdigest.registry.transport import Transport
from tests.harness import RegistryServer

UNTRUSTED = "TLS certificate not trusted (pass --ca-file, or --insecure HOST for a test registry)"


def test_a_distrusted_registry_is_asked_once_over_https_only(
    registry_tls: RegistryServer, tmp_home
):
    records: list[RequestRecord] = []

    async def ping() -> None:
        options = RegistryOptions(retries=3, backoff=0.01, on_request=records.append)
        async with Transport(options) as transport:
            await transport.ping(registry_tls.host)

    with pytest.raises(NetworkError) as err:
        asyncio.run(ping())
    assert err.value.cause == "certificate"
    assert str(err.value) == f"cannot reach {registry_tls.host}: {UNTRUSTED}"
    # One HTTPS attempt: neither retried nor tried again over plain HTTP.
    assert [(r.path, r.status) for r in records] == [("/v2/", 0)]


@pytest.mark.parametrize(
    ("exc", "cause", "why"),
    [
        (ssl.SSLCertVerificationError(1, "a message that names nothing"), "certificate", UNTRUSTED),
        (
            ssl.SSLError(1, "certificate verify failed, says the text"),
            None,
            "TLS handshake failed (a plain-HTTP registry? declare it with --insecure r.io)",
        ),
    ],
    ids=["verification-by-type", "text-is-not-read"],
)
def test_tls_failures_are_told_apart_by_type(exc, cause, why):
    err = map_error(exc, "r.io")
    assert (err.cause, str(err)) == (cause, f"cannot reach r.io: {why}")
