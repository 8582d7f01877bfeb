"""TLS material for the hostile-server tests, made with ``cryptography`` (which Airflow installs)."""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


@dataclass
class TlsFiles:
    """PEM files: a throwaway CA (also in ``ca_dir`` under its OpenSSL subject hash, for SSL_CERT_DIR),
    a server certificate and key for 127.0.0.1 and localhost, and an unrelated CA."""

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


def make_tls(directory: Path) -> TlsFiles:
    """Write a CA, a server certificate signed by it, and an unrelated CA into ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    Pair = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]

    def issue(name: str, issuer: Pair | None = None) -> Pair:
        """A CA certificate (no ``issuer``) or a server certificate signed by ``issuer``; with its key."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ca, signer = issuer is None, key if issuer is None else issuer[1]
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if issuer is None else issuer[0].subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, *[False] * 4, ca, ca, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if issuer is not None:
            san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            for extension in (
                x509.SubjectAlternativeName(san),
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            ):
                builder = builder.add_extension(extension, critical=False)
        return builder.sign(signer, hashes.SHA256()), key

    ca = issue("hostile-test-ca")
    server_cert, server_key = issue("127.0.0.1", ca)
    pem = serialization.Encoding.PEM
    files = TlsFiles(
        *(directory / name for name in ("ca.pem", "ca-dir", "server.pem", "server.key", "other.pem"))
    )
    files.ca.write_bytes(ca[0].public_bytes(pem))
    files.other_ca.write_bytes(issue("hostile-other-ca")[0].public_bytes(pem))
    files.cert.write_bytes(server_cert.public_bytes(pem))
    files.key.write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    # OpenSSL's X509_NAME_hash: the first 4 bytes (little-endian) of the SHA-1 of the name's canonical
    # form, here its DER content (the value is lower-case ASCII UTF8String).
    name_der = ca[0].subject.public_bytes()
    digest = hashlib.sha1(name_der[2 if name_der[1] < 0x80 else 2 + (name_der[1] & 0x7F) :]).digest()
    files.ca_dir.mkdir()
    (files.ca_dir / f"{int.from_bytes(digest[:4], 'little'):08x}.0").write_bytes(ca[0].public_bytes(pem))
    return files
