"""A CA and a serving certificate for clusters without cert-manager.

The API server calls the webhook at ``https://SERVICE.NAMESPACE.svc`` and trusts it
only through the ``caBundle`` of the webhook configurations, so three things must agree:
the certificate's DNS names, the Secret the Deployment mounts, and the bundle. ``write``
produces all of them in one directory: ``ca.crt``, ``tls.crt`` and ``tls.key`` (mode
0600) for ``kubectl create secret tls``, and ``cabundle-patch.yaml``, a kustomize patch
that sets the bundle on both webhook configurations of ``deploy/``. The CA key is not
kept: re-running the command issues a new CA, which is the rotation procedure.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from imgdigest.errors import UsageError

VALIDATING_NAME = "imgdigest-validating"
MUTATING_NAME = "imgdigest-mutating"
VALIDATING_WEBHOOK = "validate.imgdigest.dev"
MUTATING_WEBHOOK = "mutate.imgdigest.dev"


@dataclass(frozen=True)
class Issued:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def dns_names(service: str, namespace: str, cluster_domain: str = "cluster.local") -> list[str]:
    """Every name the API server or a Pod may use for the Service."""
    svc = f"{service}.{namespace}.svc"
    return [service, f"{service}.{namespace}", svc, f"{svc}.{cluster_domain}"]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def issue(names: list[str], days: int = 365, ips: tuple[str, ...] = ()) -> Issued:
    """A fresh CA and a certificate for ``names`` signed by it (ECDSA P-256)."""
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("imgdigest webhook CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return Issued(
        ca_pem=ca.public_bytes(pem),
        cert_pem=cert.public_bytes(pem),
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def cabundle_patch(ca_pem: bytes) -> str:
    """A kustomize patch setting ``caBundle`` on both webhook configurations."""
    bundle = base64.b64encode(ca_pem).decode("ascii")
    docs = [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": kind,
            "metadata": {"name": name},
            "webhooks": [{"name": webhook, "clientConfig": {"caBundle": bundle}}],
        }
        for kind, name, webhook in (
            ("ValidatingWebhookConfiguration", VALIDATING_NAME, VALIDATING_WEBHOOK),
            ("MutatingWebhookConfiguration", MUTATING_NAME, MUTATING_WEBHOOK),
        )
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def write(
    out: str | Path,
    service: str,
    namespace: str,
    days: int = 365,
    cluster_domain: str = "cluster.local",
) -> list[Path]:
    """Write the CA, the serving pair and the caBundle patch into ``out``; the paths written."""
    if days < 1:
        raise UsageError("--days must be at least 1")
    directory = Path(out)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        issued = issue(dns_names(service, namespace, cluster_domain), days)
        files = {
            "ca.crt": (issued.ca_pem, 0o644),
            "tls.crt": (issued.cert_pem + issued.ca_pem, 0o644),
            "tls.key": (issued.key_pem, 0o600),
            "cabundle-patch.yaml": (cabundle_patch(issued.ca_pem).encode(), 0o644),
        }
        written = []
        for name, (data, mode) in files.items():
            path = directory / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(path, mode)
            written.append(path)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot write certificates: {exc.strerror}") from None
    return written
