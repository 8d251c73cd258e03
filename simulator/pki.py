"""A grid PKI for the simulator's TLS doors: a CA standing in for the CERN Grid CA, a host certificate for
127.0.0.1, user certificates and RFC 3820 proxies, laid out as on a CMS machine.

``DIR/certificates`` is a hashed CA directory (``X509_CERT_DIR``; ``openssl rehash`` names the links),
``DIR/hostcert.pem``/``hostkey.pem`` are the servers', ``DIR/usercert.pem``/``userkey.pem`` a CMS member's,
``DIR/x509up`` that member's proxy (certificate, key, then the user certificate), and ``DIR/members.txt``
the DNs the simulated front end accepts (its stand-in for CRIC).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from spyagency.sources.grid import PROXY_CERT_INFO, slash_dn

#: DER of ProxyCertInfo { proxyPolicy { id-ppl-inheritAll } }: a full-rights RFC 3820 proxy.
_INHERIT_ALL = bytes.fromhex("300c300a06082b06010505071501")
MEMBER_DN_PARTS = (("DC", "ch"), ("DC", "cern"), ("OU", "Organic Units"), ("OU", "Users"),
                   ("CN", "spyagency"), ("CN", "777777"), ("CN", "SpyAgency Robot"))
_OIDS = {"DC": NameOID.DOMAIN_COMPONENT, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME,
         "O": NameOID.ORGANIZATION_NAME, "C": NameOID.COUNTRY_NAME}


def name(*parts: tuple[str, str]) -> x509.Name:
    """An X.509 name from (short name, value) pairs, in the grid's order (DC=ch first)."""
    return x509.Name([x509.NameAttribute(_OIDS[short], value) for short, value in parts])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Issued:
    """A certificate and its key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def dn(self) -> str:
        return slash_dn(self.certificate.subject)

    def write(self, cert_path: Path, key_path: Path) -> None:
        cert_path.write_bytes(_pem(self.certificate))
        key_path.write_bytes(_pem_key(self.key))
        key_path.chmod(0o600)


class Authority:
    """A CA that issues host, user and proxy certificates."""

    def __init__(self, subject: x509.Name, now: datetime) -> None:
        self.now = now
        key = _key()
        certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                       .public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
                       .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                       .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                      critical=True)
                       .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                       .sign(key, hashes.SHA256()))
        self.issued = Issued(certificate, key)

    def _sign(self, subject: x509.Name, key: rsa.RSAPrivateKey, lifetime: timedelta,
              not_before: datetime | None = None) -> x509.CertificateBuilder:
        start = not_before or self.now - timedelta(hours=1)
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(self.issued.certificate.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(start + lifetime)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.issued.key.public_key()), critical=False))

    def host(self, hostname: str = "localhost") -> Issued:
        """A server certificate for ``hostname`` and 127.0.0.1."""
        key = _key()
        names = [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        certificate = (self._sign(name(("DC", "ch"), ("DC", "cern"), ("OU", "computers"), ("CN", hostname)), key,
                                  timedelta(days=365))
                       .add_extension(x509.SubjectAlternativeName(names), critical=False)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                       .sign(self.issued.key, hashes.SHA256()))
        return Issued(certificate, key)

    def user(self, subject: x509.Name, lifetime: timedelta = timedelta(days=365),
             not_before: datetime | None = None) -> Issued:
        """A user (or robot) certificate; ``not_before`` in the past and a short life make an expired one."""
        key = _key()
        certificate = (self._sign(subject, key, lifetime, not_before)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                       .sign(self.issued.key, hashes.SHA256()))
        return Issued(certificate, key)


def proxy(user: Issued, now: datetime, lifetime: timedelta = timedelta(hours=12)) -> bytes:
    """An RFC 3820 proxy of ``user`` as ``voms-proxy-init`` writes it: proxy certificate, its key, user certificate."""
    key = _key()
    serial = x509.random_serial_number()
    subject = x509.Name([*user.certificate.subject, x509.NameAttribute(NameOID.COMMON_NAME, str(serial % 10**10))])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(user.certificate.subject)
                   .public_key(key.public_key()).serial_number(serial)
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + lifetime)
                   .add_extension(x509.UnrecognizedExtension(ObjectIdentifier(PROXY_CERT_INFO), _INHERIT_ALL),
                                  critical=True)
                   .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False),
                                  critical=True)
                   .sign(user.key, hashes.SHA256()))
    return _pem(certificate) + _pem_key(key) + _pem(user.certificate)


def write_proxy(path: Path, user: Issued, now: datetime, lifetime: timedelta = timedelta(hours=12)) -> Path:
    """Write a proxy of ``user`` to ``path`` (mode 0600, as grid tools insist), atomically: a reader never
    sees half a renewed proxy."""
    partial = path.with_name(path.name + ".new")
    partial.write_bytes(proxy(user, now, lifetime))
    partial.chmod(0o600)
    os.replace(partial, path)
    return path


def hashed_ca_dir(directory: Path, *authorities: Authority) -> Path:
    """A CA directory as ``/etc/grid-security/certificates``: each CA as PEM, with ``openssl rehash`` links."""
    directory.mkdir(parents=True, exist_ok=True)
    for number, authority in enumerate(authorities):
        (directory / f"ca{number}.pem").write_bytes(_pem(authority.issued.certificate))
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is needed to hash the CA directory (Debian package openssl)")
    subprocess.run([openssl, "rehash", str(directory)], check=True, capture_output=True)
    return directory


@dataclass(frozen=True)
class GridPki:
    """The files of a simulator's grid PKI, and what made them (to issue more in tests)."""

    directory: Path
    authority: Authority
    member: Issued

    @property
    def ca_dir(self) -> Path:
        return self.directory / "certificates"

    @property
    def host_cert(self) -> Path:
        return self.directory / "hostcert.pem"

    @property
    def host_key(self) -> Path:
        return self.directory / "hostkey.pem"

    @property
    def user_cert(self) -> Path:
        return self.directory / "usercert.pem"

    @property
    def user_key(self) -> Path:
        return self.directory / "userkey.pem"

    @property
    def proxy(self) -> Path:
        return self.directory / "x509up"

    @property
    def members(self) -> Path:
        return self.directory / "members.txt"


def make_grid_pki(directory: Path, now: datetime | None = None) -> GridPki:
    """Make a CA, the servers' certificate, a member's certificate and proxy, and the member list in ``directory``."""
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    authority = Authority(name(("DC", "ch"), ("DC", "cern"), ("CN", "SpyAgency Simulated Grid CA")), now)
    pki = GridPki(directory, authority, authority.user(name(*MEMBER_DN_PARTS)))
    hashed_ca_dir(pki.ca_dir, authority)
    authority.host().write(pki.host_cert, pki.host_key)
    pki.member.write(pki.user_cert, pki.user_key)
    write_proxy(pki.proxy, pki.member, now)
    pki.members.write_text(pki.member.dn + "\n")
    return pki
