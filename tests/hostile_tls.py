"""TLS material for the hostile-server tests: a throwaway CA and a server certificate for 127.0.0.1,
made with ``cryptography`` (which Airflow installs), plus an unrelated CA and a hashed CA directory."""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


@dataclass
class TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost.

    :param ca: the CA certificate (PEM file)
    :param ca_dir: a directory holding the CA under its OpenSSL subject hash (for SSL_CERT_DIR)
    :param cert: the server certificate (PEM)
    :param key: the server key (PEM)
    :param other_ca: an unrelated CA (PEM) that does not sign the server
    """

    ca: Path
    ca_dir: Path
    cert: Path
    key: Path
    other_ca: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context with the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def _openssl_subject_hash(name_der: bytes) -> str:
    """OpenSSL's ``X509_NAME_hash`` for a name whose canonical form is its DER content (lower-case
    ASCII UTF8String values): the first 4 bytes of SHA-1, little-endian."""
    length_byte = name_der[1]
    header = 2 if length_byte < 0x80 else 2 + (length_byte & 0x7F)
    digest = hashlib.sha1(name_der[header:]).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def make_tls(directory: Path) -> TlsFiles:
    """Write a CA, a server certificate signed by it, and an unrelated CA into ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)

    def ca_cert(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cert, key

    ca, ca_key = ca_cert("hostile-test-ca")
    other, _ = ca_cert("hostile-other-ca")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = TlsFiles(
        ca=directory / "ca.pem",
        ca_dir=directory / "ca-dir",
        cert=directory / "server.pem",
        key=directory / "server.key",
        other_ca=directory / "other-ca.pem",
    )
    files.ca.write_bytes(ca.public_bytes(pem))
    files.other_ca.write_bytes(other.public_bytes(pem))
    files.cert.write_bytes(cert.public_bytes(pem))
    files.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.ca_dir.mkdir()
    (files.ca_dir / f"{_openssl_subject_hash(ca.subject.public_bytes())}.0").write_bytes(ca.public_bytes(pem))
    return files
