"""Development certificates for SIP over TLS.

A throw-away certificate authority, server and client certificates signed by
it, and :class:`ssl.SSLContext` factories that use them — enough to run
``sips:`` and mutual TLS on a developer machine or in tests without touching
a public CA.  Nothing here is meant for production certificates.

.. code-block:: python

    paths = write_dev_certificates(Path("certs"))
    server_ctx = server_context(paths.server_cert, paths.server_key)
    client_ctx = client_context(ca=paths.ca_cert)
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import SIPUsageError

__all__ = [
    "DEFAULT_HOSTS",
    "DevCertificates",
    "client_context",
    "make_ca",
    "make_certificate",
    "server_context",
    "write_dev_certificates",
]

DEFAULT_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
"""The names a development certificate covers unless told otherwise."""

# 825 days is the longest validity Apple platforms accept for a TLS server
# certificate, even one from a locally trusted CA; staying under it keeps the
# dev certificates usable from macOS/iOS softphones.
_DEFAULT_DAYS = 825

# Backdating tolerates clock skew between the machine that issues a
# certificate and the peers that check it moments later.
_BACKDATE = datetime.timedelta(minutes=5)

_ORGANIZATION = "sipstack development"

# The subject CN is limited to 64 characters (RFC 5280 ub-common-name).
_CN_MAX = 64

# A DNS name as it may appear in a dNSName SAN: LDH labels (underscores are
# tolerated because SRV-style names carry them) and an optional leading
# wildcard label.
_DNS_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_DNS_NAME = re.compile(rf"(?:\*\.)?{_DNS_LABEL}(?:\.{_DNS_LABEL})*\.?")

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _spki(key: object) -> bytes:
    # Comparing encoded public keys works for every key type cryptography
    # loads, where comparing key objects does not.
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise SIPUsageError("only EC and RSA keys are supported")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_days(days: int) -> None:
    if days < 1:
        raise SIPUsageError(f"days must be at least 1, not {days}")


def make_ca(
    common_name: str = "sipstack development CA", *, days: int = _DEFAULT_DAYS
) -> tuple[bytes, bytes]:
    """Create a self-signed certificate authority for development.

    Returns ``(cert_pem, key_pem)``; the key is an unencrypted PKCS#8 EC
    P-256 key.  The CA may sign end-entity certificates only (path length 0).
    """
    _check_days(days)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _parse_host(host: str) -> _IPAddress | str:
    """An IP literal as an address, anything else as an ASCII DNS name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        # Bracketed IPv6 as written in SIP and HTTP URIs.
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            # A zone index is local to one machine; a certificate cannot carry it.
            raise SIPUsageError(f"an IPv6 zone index cannot go into a certificate: {host!r}")
        return address
    try:
        name = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise SIPUsageError(f"not a host name or IP address: {host!r}") from exc
    if not name or len(name) > 253 or not _DNS_NAME.fullmatch(name):
        raise SIPUsageError(f"not a host name or IP address: {host!r}")
    return name.rstrip(".").lower()


def _parse_hosts(hosts: Sequence[str]) -> list[_IPAddress | str]:
    if isinstance(hosts, str):
        # A bare string is a Sequence[str] too; iterating it would issue a
        # certificate for each of its characters.
        raise SIPUsageError("hosts must be a sequence of names, not a single string")
    parsed: list[_IPAddress | str] = []
    for host in hosts:
        value = _parse_host(host)
        if value not in parsed:
            parsed.append(value)
    if not parsed:
        raise SIPUsageError("a certificate needs at least one host name or IP address")
    return parsed


def _subject_alt_names(hosts: Sequence[_IPAddress | str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        if isinstance(host, str):
            names.append(x509.DNSName(host))
        else:
            names.append(x509.IPAddress(host))
    # RFC 5922 §7.1: a SIP domain may also be presented as a sip: URI SAN;
    # a wildcard is not a SIP domain, so it gets none.
    names.extend(
        x509.UniformResourceIdentifier(f"sip:{host}")
        for host in hosts
        if isinstance(host, str) and not host.startswith("*.")
    )
    return names


def _load_issuer(
    ca_cert_pem: bytes, ca_key_pem: bytes
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey]:
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SIPUsageError("the CA key must be an EC or RSA key")
    if _spki(ca_key.public_key()) != _spki(ca_cert.public_key()):
        raise SIPUsageError("the CA key does not belong to the CA certificate")
    return ca_cert, ca_key


def make_certificate(
    ca_cert_pem: bytes,
    ca_key_pem: bytes,
    hosts: Sequence[str],
    *,
    client: bool = False,
    common_name: str | None = None,
    days: int = _DEFAULT_DAYS,
) -> tuple[bytes, bytes]:
    """Issue an end-entity certificate for ``hosts``, signed by the CA.

    ``hosts`` holds DNS names and IP literals (``"127.0.0.1"``, ``"::1"``);
    they become dNSName and iPAddress subject alternative names, and each
    DNS name also a ``sip:name`` URI (RFC 5922).  The certificate carries
    both the serverAuth and clientAuth extended key usages whether
    ``client`` is true or not: a SIP server opens TLS connections to other
    servers as a client, and a user agent accepts connections as a server.
    ``client`` only changes the default subject common name.  The validity
    is cut short so it never outlasts the CA's.

    Returns ``(cert_pem, key_pem)``; the key is an unencrypted PKCS#8 EC
    P-256 key.  Raises :class:`~sipstack.errors.SIPUsageError` for a bad
    host, a non-positive ``days`` or a CA key that does not match the CA.
    """
    _check_days(days)
    parsed = _parse_hosts(hosts)
    ca_cert, ca_key = _load_issuer(ca_cert_pem, ca_key_pem)
    if common_name is None:
        first = str(parsed[0])
        role = "client" if client else "server"
        common_name = first if len(first) <= _CN_MAX else f"sipstack development {role}"

    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    not_after = min(now + datetime.timedelta(days=days), ca_cert.not_valid_after_utc)
    try:
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    except x509.ExtensionNotFound:
        # A CA made elsewhere may lack a SKI; derive the same value from its key.
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(_subject_alt_names(parsed)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


@dataclass(frozen=True)
class DevCertificates:
    """Where :func:`write_dev_certificates` put the PEM files."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write_file(path: Path, data: bytes, mode: int) -> None:
    # Write-then-rename so a reader (or a crash) never sees half a PEM file,
    # and create with the final mode so a key is never readable by others,
    # not even for a moment.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_pair(cert: Path, key: Path) -> tuple[bytes, bytes] | None:
    """Both files' contents, or None when neither exists."""
    try:
        cert_pem = cert.read_bytes()
    except FileNotFoundError:
        cert_pem = None
    try:
        key_pem = key.read_bytes()
    except FileNotFoundError:
        key_pem = None
    if cert_pem is None and key_pem is None:
        return None
    if cert_pem is None or key_pem is None:
        missing = cert if cert_pem is None else key
        raise SIPUsageError(
            f"{missing} is missing; remove the other half or pass overwrite=True to start over"
        )
    return cert_pem, key_pem


def _existing_ca(paths: DevCertificates) -> tuple[bytes, bytes] | None:
    """The CA already in the directory, or None when there is none.

    A CA that is present but unusable raises instead of being replaced:
    it may be trusted somewhere, or not ours at all, and replacing it is
    what ``overwrite`` is for.
    """
    pair = _read_pair(paths.ca_cert, paths.ca_key)
    if pair is None:
        return None
    try:
        ca_cert, _ = _load_issuer(*pair)
    except (ValueError, TypeError) as exc:
        raise SIPUsageError(
            f"cannot reuse the CA in {paths.ca_cert.parent}: {exc}; pass overwrite=True to replace it"
        ) from exc
    if ca_cert.not_valid_after_utc <= _now():
        raise SIPUsageError(
            f"the CA in {paths.ca_cert.parent} has expired; pass overwrite=True to replace it"
        )
    return pair


def _leaf_is_current(
    cert_path: Path, key_path: Path, ca_cert_pem: bytes, hosts: Sequence[_IPAddress | str]
) -> bool:
    """Whether an existing leaf can be kept: issued by this CA, for these
    hosts, with its own key, and not expired."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_cert_pem))
        if _spki(key.public_key()) != _spki(cert.public_key()):
            return False
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except FileNotFoundError:
        return False
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        # Leaves are derived from the CA and cheap to reissue; a broken or
        # foreign one is simply replaced.
        return False
    have: set[object] = {
        *san.get_values_for_type(x509.DNSName),
        *san.get_values_for_type(x509.IPAddress),
    }
    return have == set(hosts) and cert.not_valid_after_utc > _now()


def write_dev_certificates(
    directory: Path,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    *,
    overwrite: bool = False,
) -> DevCertificates:
    """Write a development CA and a server and a client certificate.

    The files are ``ca.pem``, ``ca.key``, ``server.pem``, ``server.key``,
    ``client.pem`` and ``client.key`` in ``directory``, which is created
    with mode 0700 if missing (an existing directory keeps its mode).  Keys
    are written with mode 0600, certificates 0644.

    Unless ``overwrite`` is true, an existing CA is reused — so a server
    started twice keeps the CA its clients already trust — and so is each
    existing certificate still issued by that CA for exactly ``hosts``;
    others are reissued.  A CA that is half there, unreadable or expired
    raises :class:`~sipstack.errors.SIPUsageError` rather than being
    silently replaced.  File system errors raise :class:`OSError`.
    """
    paths = DevCertificates(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    parsed = _parse_hosts(hosts)
    try:
        directory.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        if not directory.is_dir():
            raise
    else:
        # mkdir's mode is filtered through the umask; set it exactly.
        directory.chmod(0o700)

    ca = None if overwrite else _existing_ca(paths)
    new_ca = ca is None
    if ca is None:
        ca = make_ca()
        # Key first: a crash in between leaves a half pair, which the next
        # run reports instead of pairing a new key with an old certificate.
        _write_file(paths.ca_key, ca[1], 0o600)
        _write_file(paths.ca_cert, ca[0], 0o644)
    ca_cert_pem, ca_key_pem = ca

    for cert_path, key_path, client in (
        (paths.server_cert, paths.server_key, False),
        (paths.client_cert, paths.client_key, True),
    ):
        if new_ca or not _leaf_is_current(cert_path, key_path, ca_cert_pem, parsed):
            cert_pem, key_pem = make_certificate(
                ca_cert_pem, ca_key_pem, [str(h) for h in parsed], client=client
            )
            _write_file(key_path, key_pem, 0o600)
            _write_file(cert_path, cert_pem, 0o644)
    return paths


def _minimum_tls12(ctx: ssl.SSLContext) -> ssl.SSLContext:
    # RFC 8996 deprecates TLS 1.0 and 1.1; RFC 7525 asks for 1.2 or later.
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def server_context(
    cert: Path,
    key: Path,
    *,
    ca: Path | None = None,
    require_client_cert: bool = False,
) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting ``cert`` with ``key``.

    With ``ca``, clients are asked for a certificate, which must chain to
    ``ca`` if they send one.  With ``require_client_cert``, a client without
    a valid certificate is refused (mutual TLS); it is checked against
    ``ca``, or the system trust store when ``ca`` is None.
    """
    ctx = _minimum_tls12(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    if ca is not None:
        ctx.load_verify_locations(cafile=ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    elif require_client_cert:
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(
    *,
    ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    verify: bool = True,
) -> ssl.SSLContext:
    """A TLS 1.2+ client context that verifies the server by default.

    The server certificate must chain to ``ca``, or to the system trust
    store when ``ca`` is None, and must name the host given as
    ``server_hostname``.  ``cert`` and ``key`` present a client certificate
    (``key`` may be omitted when ``cert`` holds both).  ``verify=False`` is
    an explicit opt-out of both checks, for talking to a peer whose
    certificate cannot be checked; it refuses a ``ca`` it would ignore.
    """
    ctx = _minimum_tls12(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    if verify:
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        if ca is not None:
            ctx.load_verify_locations(cafile=ca)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        if ca is not None:
            raise SIPUsageError("a ca was given but verify=False would ignore it")
        # check_hostname must be off before CERT_NONE is allowed.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(certfile=cert, keyfile=key)
    elif key is not None:
        raise SIPUsageError("a client key was given without its certificate")
    return ctx
