"""One exception hierarchy for the whole library.

Every error carries the exit code the CLI maps it to, so a caller that catches
``ImgdigestError`` can report it the same way the command line does. Messages name
the input that caused them and never contain credentials or tokens.

Exit codes (documented in docs/exit-codes.md):

====  ==========================================================
0     success
1     violations found (check, drift) or an unclassified failure
2     usage error or invalid input (reference, digest, platform, file)
3     not found (repository, tag, manifest, blob, platform)
4     unauthorized or forbidden
5     network: unreachable, timeout, rate limited, server error
6     verification failed: content does not match its digest
7     unsupported content (schema 1, oversized manifest, unknown type)
8     no signature (or attestation) for the digest
9     signed, but for another digest or identity
10    a signature that does not verify with the key
====  ==========================================================
"""

from __future__ import annotations


class ImgdigestError(Exception):
    """Base of every error the library raises on purpose.

    ``reference``, ``host``, ``file`` and ``line`` name the input the message is about,
    when there is one, so callers need not parse the text; ``reason`` is the message
    without that name (``not found``), for callers that combine several answers into one
    line.
    """

    exit_code = 1

    def __init__(
        self,
        message: str = "",
        *,
        reference: str | None = None,
        host: str | None = None,
        file: str | None = None,
        line: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reference = reference
        self.host = host
        self.file = file
        self.line = line
        self.reason = reason if reason is not None else message


class UsageError(ImgdigestError):
    """The caller asked for something that cannot be done as asked."""

    exit_code = 2


class InvalidReferenceError(UsageError):
    """An image reference does not follow the distribution grammar."""


class InvalidDigestError(UsageError):
    """A digest is not ``algorithm:encoded`` with a valid encoding."""


class InvalidPlatformError(UsageError):
    """A platform specifier cannot be parsed."""


class DocumentError(UsageError):
    """A file could not be read or parsed (the message names file and line)."""


class ChartError(DocumentError):
    """A Helm chart could not be rendered: ``helm template`` failed, or no ``helm`` to run."""


class ConfigError(UsageError):
    """A configuration file (credentials, mirrors, policy) is malformed."""


class NotFoundError(ImgdigestError):
    """The registry or layout has no such repository, tag, manifest or blob."""

    exit_code = 3


class PlatformNotFoundError(NotFoundError):
    """An index has no manifest for the requested platform."""


class AuthError(ImgdigestError):
    """The registry refused the credentials, or none were available."""

    exit_code = 4


class UnauthorizedError(AuthError):
    """HTTP 401: credentials missing or wrong."""


class ForbiddenError(AuthError):
    """HTTP 403: authenticated but not allowed."""


class NetworkError(ImgdigestError):
    """The registry could not be reached or did not answer in time.

    ``cause`` says why a connection failed where retrying cannot help: ``"refused"``
    (nothing listens), ``"dns"`` (the name does not resolve) or ``"certificate"`` (a TLS
    certificate we do not trust); None for everything else.
    """

    exit_code = 5

    def __init__(
        self, message: str = "", *, cause: str | None = None, **named: str | int | None
    ) -> None:
        super().__init__(message, **named)
        self.cause = cause


class RegistryTimeoutError(NetworkError):
    """A connection or read took longer than its timeout."""


class RateLimitedError(NetworkError):
    """HTTP 429 persisted after the allowed retries."""


class ServerError(NetworkError):
    """HTTP 5xx persisted after the allowed retries, or an unexpected status."""


class VerificationError(ImgdigestError):
    """Content does not hash to the digest it was fetched by or announced with."""

    exit_code = 6


class UnsupportedError(ImgdigestError):
    """Content the tool deliberately refuses: schema 1, oversized manifests."""

    exit_code = 7


class KeyFileError(UsageError):
    """A key file is not a key of the kind asked for, or its password does not open it."""


class SignatureError(ImgdigestError):
    """Signature verification found no valid signature; subclasses say why (8, 9, 10)."""

    exit_code = 8


class NoSignatureError(SignatureError):
    """The digest has no signature (or attestation) at all."""

    exit_code = 8


class WrongSubjectError(SignatureError):
    """Signatures exist, but they sign another digest or another identity."""

    exit_code = 9


class InvalidSignatureError(SignatureError):
    """A signature does not verify with the key: another key, or altered payload or signature."""

    exit_code = 10
