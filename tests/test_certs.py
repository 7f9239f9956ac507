"""Development certificates: their contents, real TLS handshakes over the
loopback interface with them, the files on disk and ``sipstack certs``."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sipstack.certs import (
    DevCertificates,
    client_context,
    make_ca,
    make_certificate,
    server_context,
    write_dev_certificates,
)
from sipstack.errors import SIPUsageError

TIMEOUT = 10.0
ROOT = Path(__file__).resolve().parents[1]
FILES = ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> DevCertificates:
    return write_dev_certificates(tmp_path_factory.mktemp("tls") / "certs")


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


# -- a TLS echo server and client -------------------------------------------


@contextlib.asynccontextmanager
async def tls_server(
    ctx: ssl.SSLContext, host: str = "127.0.0.1"
) -> AsyncIterator[tuple[int, list[Any]]]:
    """An echo server on an ephemeral port; yields the port and the list of
    peer certificates of the connections that completed the handshake."""
    peers: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peercert"))
        try:
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)
            writer.write(b"pong " + line)
            await asyncio.wait_for(writer.drain(), TIMEOUT)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, 0, ssl=ctx, ssl_handshake_timeout=TIMEOUT)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, peers
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), TIMEOUT)


async def exchange(host: str, port: int, ctx: ssl.SSLContext, server_hostname: str) -> bytes:
    """Connect, send a line, return the line the server answers."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(
            host, port, ssl=ctx, server_hostname=server_hostname, ssl_handshake_timeout=TIMEOUT
        ),
        TIMEOUT,
    )
    try:
        writer.write(b"ping\n")
        await asyncio.wait_for(writer.drain(), TIMEOUT)
        return await asyncio.wait_for(reader.readline(), TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)


# -- certificate contents ---------------------------------------------------


def test_ca_is_a_ca(dev: DevCertificates) -> None:
    ca = _load(dev.ca_cert)
    assert ca.issuer == ca.subject
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    key = ca.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


@pytest.mark.parametrize("which", ["server", "client"])
def test_leaf_certificate_contents(dev: DevCertificates, which: str) -> None:
    ca = _load(dev.ca_cert)
    cert = _load(dev.server_cert if which == "server" else dev.client_cert)
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["sip:localhost"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc


def test_make_certificate_hosts_and_names() -> None:
    ca_pem, ca_key = make_ca("test CA", days=30)
    cert_pem, _ = make_certificate(
        ca_pem,
        ca_key,
        ["Sip.Example.COM", "192.0.2.7", "[2001:db8::1]", "*.example.com"],
        client=True,
        days=3650,
    )
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["sip.example.com", "*.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.0.2.7"),
        ipaddress.ip_address("2001:db8::1"),
    ]
    # A wildcard is not a SIP domain: no sip: URI for it.
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["sip:sip.example.com"]
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "sip.example.com"
    # Never valid longer than the CA that signed it.
    ca = x509.load_pem_x509_certificate(ca_pem)
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc


@pytest.mark.parametrize(
    "hosts", [[], "localhost", ["bad host"], ["fe80::1%eth0"], ["a..b"]], ids=repr
)
def test_make_certificate_refuses_bad_hosts(hosts: Any) -> None:
    ca_pem, ca_key = make_ca()
    with pytest.raises(SIPUsageError):
        make_certificate(ca_pem, ca_key, hosts)


def test_make_certificate_refuses_a_foreign_ca_key() -> None:
    ca_pem, _ = make_ca()
    _, other_key = make_ca()
    with pytest.raises(SIPUsageError, match="does not belong"):
        make_certificate(ca_pem, other_key, ["localhost"])


# -- contexts ---------------------------------------------------------------


def test_contexts_require_tls12_and_verify_by_default(dev: DevCertificates) -> None:
    server = server_context(dev.server_cert, dev.server_key)
    assert server.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server.verify_mode == ssl.CERT_NONE
    client = client_context()
    assert client.minimum_version == ssl.TLSVersion.TLSv1_2
    assert client.check_hostname and client.verify_mode == ssl.CERT_REQUIRED
    unchecked = client_context(verify=False)
    assert not unchecked.check_hostname and unchecked.verify_mode == ssl.CERT_NONE
    with pytest.raises(SIPUsageError):
        client_context(ca=dev.ca_cert, verify=False)
    with pytest.raises(SIPUsageError):
        client_context(ca=dev.ca_cert, key=dev.client_key)


# -- handshakes -------------------------------------------------------------


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1"])
async def test_handshake_over_ipv4(dev: DevCertificates, server_hostname: str) -> None:
    async with tls_server(server_context(dev.server_cert, dev.server_key)) as (port, peers):
        reply = await exchange("127.0.0.1", port, client_context(ca=dev.ca_cert), server_hostname)
    assert reply == b"pong ping\n"
    assert peers == [None]  # no client certificate was asked for


async def test_handshake_over_ipv6(dev: DevCertificates) -> None:
    if not _ipv6_loopback():
        pytest.skip("IPv6 loopback is not available")
    ctx = server_context(dev.server_cert, dev.server_key)
    async with tls_server(ctx, host="::1") as (port, _):
        reply = await exchange("::1", port, client_context(ca=dev.ca_cert), "::1")
    assert reply == b"pong ping\n"


async def test_certificates_pass_strict_x509_checks(dev: DevCertificates) -> None:
    # Newer Pythons turn on VERIFY_X509_STRICT in their default contexts.
    client = client_context(ca=dev.ca_cert)
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    async with tls_server(server_context(dev.server_cert, dev.server_key)) as (port, _):
        assert await exchange("127.0.0.1", port, client, "localhost") == b"pong ping\n"


async def test_system_trust_store_does_not_trust_the_dev_ca(dev: DevCertificates) -> None:
    async with tls_server(server_context(dev.server_cert, dev.server_key)) as (port, peers):
        with pytest.raises(ssl.SSLCertVerificationError):
            await exchange("127.0.0.1", port, client_context(), "localhost")
    assert peers == []


async def test_hostname_not_in_the_certificate_fails(dev: DevCertificates) -> None:
    async with tls_server(server_context(dev.server_cert, dev.server_key)) as (port, peers):
        with pytest.raises(ssl.SSLCertVerificationError, match=r"[Hh]ostname"):
            await exchange("127.0.0.1", port, client_context(ca=dev.ca_cert), "sip.example.com")
    assert peers == []


async def test_verification_can_be_turned_off_explicitly(dev: DevCertificates) -> None:
    async with tls_server(server_context(dev.server_cert, dev.server_key)) as (port, _):
        reply = await exchange("127.0.0.1", port, client_context(verify=False), "elsewhere")
    assert reply == b"pong ping\n"


async def test_mutual_tls_refuses_a_client_without_a_certificate(dev: DevCertificates) -> None:
    ctx = server_context(dev.server_cert, dev.server_key, ca=dev.ca_cert, require_client_cert=True)
    async with tls_server(ctx) as (port, peers):
        # Under TLS 1.3 the client may finish its side of the handshake
        # before the server rejects it, so the refusal can surface on the
        # first read instead of on connect.
        try:
            reply = await exchange("127.0.0.1", port, client_context(ca=dev.ca_cert), "localhost")
        except (ssl.SSLError, ConnectionError):
            reply = b""
    assert reply == b""
    assert peers == []


async def test_mutual_tls_accepts_the_client_certificate(dev: DevCertificates) -> None:
    ctx = server_context(dev.server_cert, dev.server_key, ca=dev.ca_cert, require_client_cert=True)
    client = client_context(ca=dev.ca_cert, cert=dev.client_cert, key=dev.client_key)
    async with tls_server(ctx) as (port, peers):
        reply = await exchange("127.0.0.1", port, client, "localhost")
    assert reply == b"pong ping\n"
    [peer] = peers
    assert ("commonName", "localhost") in [rdn[0] for rdn in peer["subject"]]


async def test_client_certificate_is_optional_with_a_ca(dev: DevCertificates) -> None:
    ctx = server_context(dev.server_cert, dev.server_key, ca=dev.ca_cert)
    with_cert = client_context(ca=dev.ca_cert, cert=dev.client_cert, key=dev.client_key)
    async with tls_server(ctx) as (port, peers):
        assert await exchange("127.0.0.1", port, client_context(ca=dev.ca_cert), "localhost")
        assert await exchange("127.0.0.1", port, with_cert, "localhost")
    assert peers[0] is None
    assert peers[1] and peers[1]["subject"]


async def test_mutual_tls_refuses_a_certificate_from_another_ca(
    dev: DevCertificates, tmp_path: Path
) -> None:
    other = write_dev_certificates(tmp_path / "other")
    ctx = server_context(dev.server_cert, dev.server_key, ca=dev.ca_cert, require_client_cert=True)
    client = client_context(ca=dev.ca_cert, cert=other.client_cert, key=other.client_key)
    async with tls_server(ctx) as (port, peers):
        try:
            reply = await exchange("127.0.0.1", port, client, "localhost")
        except (ssl.SSLError, ConnectionError):
            reply = b""
    assert reply == b""
    assert peers == []


# -- files on disk ----------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_dev_certificates_files_and_modes(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "certs"
    paths = write_dev_certificates(directory)
    assert sorted(p.name for p in directory.iterdir()) == sorted(FILES)
    assert paths.ca_cert == directory / "ca.pem"
    assert paths.client_key == directory / "client.key"
    assert _mode(directory) == 0o700
    for key in (paths.ca_key, paths.server_key, paths.client_key):
        assert _mode(key) == 0o600


def test_write_dev_certificates_reuses_unless_overwrite(tmp_path: Path) -> None:
    paths = write_dev_certificates(tmp_path)
    first = {name: (tmp_path / name).read_bytes() for name in FILES}

    write_dev_certificates(tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in FILES} == first

    # Other hosts: the CA stays, the certificates are reissued by it.
    write_dev_certificates(tmp_path, ["sip.example.com"])
    assert paths.ca_cert.read_bytes() == first["ca.pem"]
    assert paths.ca_key.read_bytes() == first["ca.key"]
    server = _load(paths.server_cert)
    server.verify_directly_issued_by(_load(paths.ca_cert))
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["sip.example.com"]

    write_dev_certificates(tmp_path, overwrite=True)
    assert paths.ca_cert.read_bytes() != first["ca.pem"]
    assert paths.ca_key.read_bytes() != first["ca.key"]
    _load(paths.server_cert).verify_directly_issued_by(_load(paths.ca_cert))
    assert _mode(paths.ca_key) == 0o600


def test_write_dev_certificates_will_not_replace_a_broken_ca(tmp_path: Path) -> None:
    paths = write_dev_certificates(tmp_path)
    paths.ca_key.unlink()
    with pytest.raises(SIPUsageError, match="missing"):
        write_dev_certificates(tmp_path)
    paths.ca_key.write_bytes(b"not a key")
    with pytest.raises(SIPUsageError, match="overwrite"):
        write_dev_certificates(tmp_path)
    write_dev_certificates(tmp_path, overwrite=True)
    _load(paths.client_cert).verify_directly_issued_by(_load(paths.ca_cert))


# -- the command line -------------------------------------------------------


def _sipstack(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "sipstack", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_certs_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _sipstack("certs", "--out", str(out), "--host", "localhost", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    for name in FILES:
        assert str(out / name) in result.stdout
    assert "hint:" in result.stdout
    san = _load(out / "server.pem").extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.value.get_values_for_type(x509.IPAddress) == []

    again = _sipstack("certs", "--out", str(out), "--host", "localhost", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "kept the existing CA" in again.stdout


def test_cli_certs_defaults_to_certs_directory(tmp_path: Path) -> None:
    result = _sipstack("certs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    san = _load(tmp_path / "certs" / "server.pem").extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert len(san.value.get_values_for_type(x509.IPAddress)) == 2


def test_cli_certs_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a regular file\n")
    result = _sipstack("certs", "--out", str(blocker / "certs"), cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot write certificates" in result.stderr
    assert result.stdout == ""


def test_cli_certs_bad_host(tmp_path: Path) -> None:
    result = _sipstack("certs", "--out", str(tmp_path), "--host", "no such host!", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a host name" in result.stderr
