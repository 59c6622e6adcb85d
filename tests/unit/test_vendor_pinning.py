"""Pinned vendor calls over real TLS: connect to the checked address, verify the host name.

A local HTTPS server holds a certificate for ``helpdesk.acme-corp.example`` (a name that resolves
nowhere here). ``send(..., connect_to=<address>)`` must reach it at the address, present the name
in SNI and ``Host``, and verify the certificate against the name, never the address.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ticket_enhancer.plugins.errors import VendorUnavailableError
from ticket_enhancer.plugins.http import pinned, send
from ticket_enhancer.plugins.requests import RetryPolicy, VendorRequest

HOST = "helpdesk.acme-corp.example"


def _certificate(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (it is its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _Echo(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append({"host": self.headers.get("host", ""), "path": self.path})
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(cert: Path, key: Path) -> tuple[ThreadingHTTPServer, list[dict[str, str]], list[str]]:
    seen: list[dict[str, str]] = []
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(str(name)) or None  # type: ignore[func-returns-value]
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Echo", (_Echo,), {"seen": seen}))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen, names


@pytest.fixture
def tls_vendor(tmp_path: Path) -> Iterator[tuple[int, Path, list[dict[str, str]], list[str]]]:
    cert, key = _certificate(HOST, tmp_path)
    server, seen, names = _serve(cert, key)
    yield server.server_address[1], cert, seen, names
    server.shutdown()
    server.server_close()


def _get(port: int, trust: Path, connect_to: str | None) -> httpx.Response:
    async def scenario() -> httpx.Response:
        verify = ssl.create_default_context(cafile=str(trust))
        async with httpx.AsyncClient(verify=verify) as client:
            return await send(
                client,
                f"https://{HOST}:{port}/api/v3",
                VendorRequest("GET", "/requests/7", idempotent=True),
                headers={},
                tool="servicedesk_plus",
                operation="get_ticket",
                policy=RetryPolicy(attempts=1, timeout=5, connect_timeout=2),
                connect_to=connect_to,
            )

    return asyncio.run(scenario())


def test_a_pinned_call_reaches_the_address_with_the_host_name_in_sni_and_host(
    tls_vendor: tuple[int, Path, list[dict[str, str]], list[str]],
) -> None:
    port, cert, seen, names = tls_vendor
    response = _get(port, cert, "127.0.0.1")
    assert response.json() == {"ok": True}
    assert seen == [{"host": f"{HOST}:{port}", "path": "/api/v3/requests/7"}]
    assert names == [HOST]  # the TLS server name the client sent


def test_the_certificate_is_checked_against_the_host_name_not_the_address(
    tls_vendor: tuple[int, Path, list[dict[str, str]], list[str]], tmp_path: Path
) -> None:
    port, _, seen, _ = tls_vendor
    other, _ = _certificate("intruder.example", tmp_path)  # trust only a certificate for another name
    with pytest.raises(VendorUnavailableError):
        _get(port, other, "127.0.0.1")
    assert seen == []


def test_without_a_pinned_address_the_name_is_resolved_as_usual(
    tls_vendor: tuple[int, Path, list[dict[str, str]], list[str]],
) -> None:
    port, cert, seen, _ = tls_vendor
    with pytest.raises(VendorUnavailableError):  # the name resolves nowhere on this machine
        _get(port, cert, None)
    assert seen == []


@pytest.mark.parametrize(
    ("url", "address", "expected"),
    [
        (
            "https://sdp.acme.example/api/v3/requests/1?x=1",
            "93.184.216.34",
            ("https://93.184.216.34/api/v3/requests/1?x=1", "sdp.acme.example", "sdp.acme.example"),
        ),
        (
            "https://sdp.acme.example:8443/api",
            "2606:2800:220:1::1",
            ("https://[2606:2800:220:1::1]:8443/api", "sdp.acme.example:8443", "sdp.acme.example"),
        ),
        (
            "https://bücher.example/a",
            "1.2.3.4",
            ("https://1.2.3.4/a", "xn--bcher-kva.example", "xn--bcher-kva.example"),
        ),
    ],
)
def test_pinned_urls(url: str, address: str, expected: tuple[str, str, str]) -> None:
    assert pinned(url, address) == expected
