"""Grid identity and trust: which certificate SpyAgency shows the CMS doors, and which CAs it believes.

Found as CMS tools find them (dmwm/WMCore ``Utils/CertTools.py``, cmssw ``DQMServices/Components/python/X509.py``):

* identity: ``X509_HOST_CERT``/``X509_HOST_KEY`` (a service's own), else ``X509_USER_PROXY`` (one PEM file:
  proxy certificate, its key, then the chain), else ``X509_USER_CERT`` + ``X509_USER_KEY``, else
  ``/tmp/x509up_u<uid>``, else ``~/.globus/usercert.pem`` + ``userkey.pem``; SpyAgency's own
  ``SPYAGENCY_GRID_CERT``/``SPYAGENCY_GRID_KEY`` override them all;
* trust: ``SPYAGENCY_GRID_CA_DIR``/``SPYAGENCY_GRID_CA_FILE``, else ``X509_CERT_DIR`` (a hashed directory),
  else ``/etc/grid-security/certificates`` when it exists, else the public bundle (certifi). Verification
  is never turned off: cmsweb's certificate comes from the CERN Grid CA, which no public bundle holds.

A certificate is read here, locally, without any connection: its end-entity DN (a proxy's issuer chain
walked down to the user's certificate) and when it expires. The TLS context is made again when the file
changes on disk, so a proxy renewed by a cron is picked up without a restart.
"""

from __future__ import annotations

import functools
import os
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from spyagency.errors import SpyAgencyError

if TYPE_CHECKING:  # cryptography is imported when a certificate is read: a poll over plain HTTP never pays for it
    from cryptography import x509

__all__ = ["Credential", "GridIdentityError", "IdentityFiles", "Trust", "TlsSetup", "find_identity", "find_trust",
           "public_context", "read_credential", "slash_dn", "tls_setup"]

#: RFC 3820 proxyCertInfo: a certificate carrying it is a proxy, signed by the certificate it stands for.
PROXY_CERT_INFO = "1.3.6.1.5.5.7.1.14"
#: Where grid CAs live on a CMS machine when ``X509_CERT_DIR`` is not set.
DEFAULT_CA_DIR = Path("/etc/grid-security/certificates")

_KEY_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)
#: The grid's short names of DN attributes, by object identifier.
_SHORT_NAMES = {"0.9.2342.19200300.100.1.25": "DC", "2.5.4.11": "OU", "2.5.4.3": "CN", "2.5.4.10": "O",
                "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "1.2.840.113549.1.9.1": "emailAddress"}
_COMMON_NAME = "2.5.4.3"


class GridIdentityError(SpyAgencyError):
    """The configured certificate or key cannot be used (missing, unreadable, not a certificate)."""


def slash_dn(name: x509.Name) -> str:
    """A DN as the grid writes it, ``/DC=ch/DC=cern/OU=Users/CN=...``, in the certificate's own order."""
    parts = []
    for attribute in name:
        short = _SHORT_NAMES.get(attribute.oid.dotted_string, attribute.oid.dotted_string)
        parts.append(f"{short}={attribute.value!s}")
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class IdentityFiles:
    """Where the certificate and key are, and which setting named them."""

    cert: Path
    key: Path  # the same file as ``cert`` for a proxy
    origin: str  # e.g. "X509_USER_PROXY"

    def describe(self) -> str:
        if self.key == self.cert:
            return f"{self.cert} ({self.origin})"
        return f"{self.cert} + {self.key} ({self.origin})"


@dataclass(frozen=True)
class Credential:
    """What a certificate file says about us, read locally."""

    files: IdentityFiles
    dn: str  # the end-entity DN: the user's or the robot's, never the proxy's
    not_after: datetime  # the earliest expiry in the chain presented
    is_proxy: bool
    certificate_not_after: datetime | None = None  # a proxy's: when the certificate behind it expires

    def expired(self, now: datetime) -> bool:
        return now >= self.not_after

    def as_record(self) -> dict[str, str | bool]:
        """What the poller stores for the console: no key material, no file contents."""
        record: dict[str, str | bool] = {"dn": self.dn, "not_after": self.not_after.isoformat(),
                                         "proxy": self.is_proxy, "file": str(self.files.cert),
                                         "origin": self.files.origin}
        if self.certificate_not_after is not None:
            record["certificate_not_after"] = self.certificate_not_after.isoformat()
        return record


def _pair(env: Mapping[str, str], cert_var: str, key_var: str) -> IdentityFiles | None:
    cert, key = env.get(cert_var), env.get(key_var)
    if cert and key:
        return IdentityFiles(Path(cert), Path(key), f"{cert_var}/{key_var}")
    if cert or key:
        given, missing = (cert_var, key_var) if cert else (key_var, cert_var)
        raise GridIdentityError(f"{given} is set but {missing} is not: set both, or neither")
    return None


def find_identity(env: Mapping[str, str], cert: str | None = None, key: str | None = None,
                  home: Path | None = None, uid: int | None = None) -> IdentityFiles | None:
    """The certificate and key SpyAgency shows the doors, in WMCore's order; None when none is found.

    ``cert``/``key`` are SpyAgency's own settings and win; ``cert`` alone is a proxy file (key inside).
    A variable that names a missing file is an error, not a reason to fall through to another identity:
    a wrong setting must not quietly present someone else's certificate.
    """
    if cert:
        return IdentityFiles(Path(cert), Path(key or cert), "SPYAGENCY_GRID_CERT")
    if key:
        raise GridIdentityError("SPYAGENCY_GRID_KEY is set but SPYAGENCY_GRID_CERT is not")
    found = _pair(env, "X509_HOST_CERT", "X509_HOST_KEY")
    if found:
        return found
    if env.get("X509_USER_PROXY"):
        proxy = Path(env["X509_USER_PROXY"])
        return IdentityFiles(proxy, proxy, "X509_USER_PROXY")
    found = _pair(env, "X509_USER_CERT", "X509_USER_KEY")
    if found:
        return found
    proxy = Path(f"/tmp/x509up_u{os.getuid() if uid is None else uid}")
    if proxy.is_file():
        return IdentityFiles(proxy, proxy, "default proxy /tmp/x509up_u<uid>")
    globus = (home if home is not None else Path.home()) / ".globus"
    if (globus / "usercert.pem").is_file() and (globus / "userkey.pem").is_file():
        return IdentityFiles(globus / "usercert.pem", globus / "userkey.pem", "~/.globus")
    return None


@dataclass(frozen=True)
class Trust:
    """The CAs a TLS connection to a source believes."""

    ca_dir: Path | None = None
    ca_file: Path | None = None
    origin: str = "the public CA bundle (certifi)"

    def describe(self) -> str:
        where = self.ca_dir or self.ca_file
        return f"{where} ({self.origin})" if where else self.origin


def find_trust(env: Mapping[str, str], ca_dir: str | None = None, ca_file: str | None = None) -> Trust:
    """The CAs to trust: SpyAgency's settings, else ``X509_CERT_DIR``, else the grid default, else certifi."""
    if ca_dir or ca_file:
        return Trust(Path(ca_dir) if ca_dir else None, Path(ca_file) if ca_file else None,
                     "SPYAGENCY_GRID_CA_DIR" if ca_dir else "SPYAGENCY_GRID_CA_FILE")
    if env.get("X509_CERT_DIR"):
        return Trust(Path(env["X509_CERT_DIR"]), None, "X509_CERT_DIR")
    if DEFAULT_CA_DIR.is_dir():
        return Trust(DEFAULT_CA_DIR, None, "the grid default")
    return Trust()


def _certificates(data: bytes, where: Path) -> list[x509.Certificate]:
    from cryptography import x509

    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise GridIdentityError(f"{where} holds no PEM certificate ({exc})") from None
    return chain


def _is_proxy(certificate: x509.Certificate) -> bool:
    from cryptography import x509

    try:
        certificate.extensions.get_extension_for_oid(x509.ObjectIdentifier(PROXY_CERT_INFO))
        return True
    except x509.ExtensionNotFound:
        # a legacy (pre-RFC 3820) proxy: the issuer's DN plus CN=proxy or CN=limited proxy
        names = certificate.subject.get_attributes_for_oid(x509.ObjectIdentifier(_COMMON_NAME))
        return bool(names) and names[-1].value in ("proxy", "limited proxy") \
            and list(certificate.subject)[:-1] == list(certificate.issuer)


def read_credential(files: IdentityFiles) -> Credential:
    """Read ``files`` locally: the end-entity DN, the expiry (the earliest in the chain sent), whether a proxy.

    Raises GridIdentityError when a file is missing or unreadable, or holds no certificate or no key.
    """
    try:
        data = files.cert.read_bytes()
        key_data = data if files.key == files.cert else files.key.read_bytes()
    except OSError as exc:
        raise GridIdentityError(f"cannot read the grid certificate {files.describe()}: {exc.strerror}") from None
    chain = _certificates(data, files.cert)
    _check_key(key_data, files)
    leaf = chain[0]
    end_entity = next((c for c in chain if not _is_proxy(c)), None)
    # a proxy file without the user's certificate still names it: its issuer (a proxy of a proxy: walk up)
    dn = slash_dn(end_entity.subject) if end_entity is not None else slash_dn(chain[-1].issuer)
    not_after = min(c.not_valid_after_utc for c in chain)
    behind = end_entity.not_valid_after_utc if end_entity is not None and _is_proxy(leaf) else None
    return Credential(files, dn, not_after, _is_proxy(leaf), behind)


def _check_key(data: bytes, files: IdentityFiles) -> None:
    if b"PRIVATE KEY-----" not in data:
        raise GridIdentityError(f"no private key in {files.key} ({files.origin})")
    if b"ENCRYPTED" in data:
        raise GridIdentityError(f"the private key in {files.key} is protected by a passphrase: a service needs "
                                f"a proxy or an unencrypted robot key (voms-proxy-init, or openssl rsa)")
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(_first_key_block(data), password=None)
    except ValueError as exc:
        raise GridIdentityError(f"the private key in {files.key} cannot be read ({exc})") from None


def _first_key_block(data: bytes) -> bytes:
    match = _KEY_BLOCK.search(data)
    return match.group(0) if match else data


def tls_setup(env: Mapping[str, str], cert: str | None = None, key: str | None = None,
              ca_dir: str | None = None, ca_file: str | None = None) -> TlsSetup:
    """The trust and identity of SpyAgency's HTTPS sources: its own settings first, then the grid's variables.
    A setting that cannot work (a certificate without its key) fails each use, so that it is the HTTPS
    sources' failure, while the CondDB and steering go on."""
    trust = find_trust(env, ca_dir, ca_file)
    try:
        return TlsSetup(trust, find_identity(env, cert, key))
    except GridIdentityError as exc:
        return TlsSetup(trust, None, str(exc))


@dataclass(frozen=True)
class _Made:
    stamp: tuple[tuple[str, int, int], ...]
    context: ssl.SSLContext
    credential: Credential | None


class TlsSetup:
    """The TLS context of one source's client: its trust and identity, made again when a file changes.

    ``identity`` None: no client certificate is sent (plain HTTP, or a door that does not ask).
    """

    def __init__(self, trust: Trust, identity: IdentityFiles | None, problem: str | None = None) -> None:
        self.trust = trust
        self.identity = identity
        self.problem = problem  # a setting that cannot work, told on every use
        self._lock = threading.Lock()
        self._made: _Made | None = None

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        paths = [] if self.identity is None else sorted({str(self.identity.cert), str(self.identity.key)})
        stamp = []
        for path in paths:
            try:
                info = os.stat(path)
                stamp.append((path, info.st_mtime_ns, info.st_size))
            except OSError:
                stamp.append((path, -1, -1))
        return tuple(stamp)

    def current(self) -> tuple[ssl.SSLContext, Credential | None]:
        """The context to connect with, and the credential it presents (read again if the files changed)."""
        if self.problem is not None:
            raise GridIdentityError(self.problem)
        stamp = self._stamp()
        with self._lock:
            if self._made is None or self._made.stamp != stamp:
                credential = read_credential(self.identity) if self.identity is not None else None
                self._made = _Made(stamp, self._context(), credential)
            return self._made.context, self._made.credential

    def _context(self) -> ssl.SSLContext:
        if self.identity is None and self.trust.ca_dir is None and self.trust.ca_file is None:
            return public_context()  # shared: nothing of ours is added to it
        context = self._trusting_context()
        if self.identity is not None:
            try:
                context.load_cert_chain(str(self.identity.cert), str(self.identity.key))
            except (ssl.SSLError, OSError) as exc:
                raise GridIdentityError(f"the certificate and key {self.identity.describe()} do not load "
                                        f"together ({exc})") from None
        return context

    def _trusting_context(self) -> ssl.SSLContext:
        trust = self.trust
        if trust.ca_dir is None and trust.ca_file is None:
            return httpx.create_ssl_context()
        if trust.ca_dir is not None and not trust.ca_dir.is_dir():
            raise GridIdentityError(f"the CA directory {trust.describe()} does not exist")
        if trust.ca_file is not None and not trust.ca_file.is_file():
            raise GridIdentityError(f"the CA file {trust.describe()} does not exist")
        return ssl.create_default_context(cafile=str(trust.ca_file) if trust.ca_file else None,
                                          capath=str(trust.ca_dir) if trust.ca_dir else None)


@functools.cache
def public_context() -> ssl.SSLContext:
    """httpx's public bundle (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), loaded once per process: loading it
    costs tens of milliseconds, and a cold process builds a client per source."""
    return httpx.create_ssl_context()
