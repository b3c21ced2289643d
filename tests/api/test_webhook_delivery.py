"""Webhook delivery against hostile receivers (api/webhooks.py): the URL policy on a table of
address forms (IPv6 forms that embed IPv4, legacy IPv4 spellings, names that resolve to
them), one lookup per delivery with the connection made to the checked address (Host and
TLS SNI keep the name), and one deadline for the whole exchange against a receiver that
trickles its answer."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import webhooks
from api.settings import WebhookSettings, webhook_settings_from_env
from api.webhooks import Dispatcher, check_url, resolve, send
from ledger import errors
from ledger.ports.platform import Attempt, Webhook
from ledger.storage.memory.log import MemoryStore
from ledger.storage.memory.platform import MemoryPlatformStore

PROD = webhook_settings_from_env({}, production=True)
DEV = webhook_settings_from_env({}, production=False)

# Each form names a loopback, link-local (cloud metadata), private or otherwise non-global
# address: refused in production, whatever the spelling.
REFUSED_LITERALS = {
    "nat64-metadata": "http://[64:ff9b::a9fe:a9fe]/h",  # 169.254.169.254 through NAT64
    "nat64-loopback": "http://[64:ff9b::7f00:1]/h",
    "nat64-local-use": "http://[64:ff9b:1::808:808]/h",  # RFC 8215, even with 8.8.8.8 inside
    "ipv4-translated-loopback": "http://[::ffff:0:7f00:1]/h",
    "ipv4-compatible-loopback": "http://[::7f00:1]/h",
    "ipv4-compatible-global": "http://[::808:808]/h",
    "ipv4-mapped-loopback": "http://[::ffff:127.0.0.1]/h",
    "ipv4-mapped-metadata": "http://[::ffff:a9fe:a9fe]/h",
    "6to4-loopback": "http://[2002:7f00:1::]/h",
    "6to4-global": "http://[2002:808:808::1]/h",
    "teredo": "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/h",
    "decimal-ipv4": "http://2130706433/h",
    "octal-ipv4": "http://0177.0.0.1/h",
    "hex-ipv4": "http://0x7f000001/h",
    "hex-dotted-ipv4": "http://0x7f.0x0.0x0.0x1/h",
    "short-ipv4": "http://127.1/h",
    "zero-ipv4": "http://0/h",
    "unspecified-ipv6": "http://[::]/h",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "cgnat": "http://100.64.0.1/h",
    "private": "http://10.0.0.1/h",
    "benchmarking": "http://198.18.0.1/h",
    "link-local-ipv6": "http://[fe80::1]/h",
    "unique-local-ipv6": "http://[fd00::1]/h",
    "multicast-ipv4": "http://224.0.0.1/h",
    "multicast-ipv6": "http://[ff02::1]/h",
    "loopback-ipv6": "http://[::1]/h",
}


@pytest.mark.parametrize("url", REFUSED_LITERALS.values(), ids=REFUSED_LITERALS.keys())
def test_every_non_global_form_is_refused_in_production(url: str) -> None:
    with pytest.raises(errors.InvalidInput) as info:
        check_url(url, PROD)
    assert info.value.code == "webhook_url_refused"


EMBEDDED_LOOPBACK = [
    "http://[64:ff9b::7f00:1]/h",
    "http://[::ffff:0:7f00:1]/h",
    "http://[::7f00:1]/h",
    "http://[2002:7f00:1::]/h",
]


@pytest.mark.parametrize("url", EMBEDDED_LOOPBACK)
def test_development_allows_loopback_but_no_form_that_embeds_it(url: str) -> None:
    assert check_url("http://127.0.0.1:8080/h", DEV)
    assert check_url("http://[::ffff:127.0.0.1]:8080/h", DEV)  # that is 127.0.0.1 itself
    with pytest.raises(errors.InvalidInput, match="resolves to"):
        check_url(url, DEV)


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/h",
        "https://[2606:4700:4700::1111]/h",
        "https://[64:ff9b::5db8:d70e]/h",  # NAT64 of the global 93.184.215.14
    ],
)
def test_global_addresses_are_allowed(url: str) -> None:
    assert check_url(url, PROD) == url


def _resolver(table: dict[str, list[str]], calls: list[str] | None = None) -> Any:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in table:
            return real(host, port, *args, **kwargs)
        if calls is not None:
            calls.append(host)
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in table[host]
        ]

    return getaddrinfo


RESOLVED_TO = {
    "loopback": ["127.0.0.1"],
    "metadata": ["169.254.169.254"],
    "nat64-metadata": ["64:ff9b::a9fe:a9fe"],
    "ipv4-translated": ["::ffff:0:7f00:1"],
    "ipv4-compatible": ["::7f00:1"],
    "6to4": ["2002:7f00:1::"],
    "teredo": ["2001:0:4136:e378:8000:63bf:3fff:fdd2"],
    "mapped-private": ["::ffff:10.1.2.3"],
    "one-good-one-bad": ["93.184.215.14", "10.0.0.5"],
}


@pytest.mark.parametrize("addresses", RESOLVED_TO.values(), ids=RESOLVED_TO.keys())
def test_names_that_resolve_to_a_refused_address_are_refused(
    monkeypatch: pytest.MonkeyPatch, addresses: list[str]
) -> None:
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", _resolver({"hooks.evil": addresses}))
    with pytest.raises(errors.InvalidInput) as info:
        check_url("https://hooks.evil/h", PROD)
    assert info.value.code == "webhook_url_refused"


def test_urls_with_spaces_or_control_characters_are_refused() -> None:
    for url in (
        "http://127.0.0.1/a b",
        "http://127.0.0.1/a\r\nX-Injected: 1",
        "http://127.0.0.1/é",
    ):
        with pytest.raises(errors.InvalidInput, match="plain ASCII"):
            check_url(url, DEV)


# --- the connection goes to the checked address --------------------------------------------


class Listener:
    """A TCP server on 127.0.0.1 running ``serve(connection)`` for each connection."""

    def __init__(self, serve: Any, wrap: ssl.SSLContext | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.serve, self.wrap = serve, wrap
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        try:
            if self.wrap is not None:
                connection = self.wrap.wrap_socket(connection, server_side=True)
            self.serve(connection, self.stop)
        except (OSError, ssl.SSLError):
            pass
        finally:
            connection.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


def read_request(connection: socket.socket) -> bytes:
    data = b""
    connection.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def answering() -> Iterator[tuple[Listener, list[bytes]]]:
    seen: list[bytes] = []

    def serve(connection: socket.socket, _: threading.Event) -> None:
        seen.append(read_request(connection))
        connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    listener = Listener(serve)
    yield listener, seen
    listener.close()


def deliver(config: WebhookSettings, url: str) -> list[Attempt]:
    """One recall event to one webhook at ``url``, sent by a dispatcher over the memory
    stores; the attempts made."""
    platform = MemoryPlatformStore(MemoryStore())
    platform.add_webhook(Webhook("wh_1", "tiktok", url, ("recall",), "s3cret", 0))
    dispatcher = Dispatcher(platform, platform.store, config)
    assert dispatcher.emit("tiktok", "recall", "evt_1", {"n": 1}, 1_000) == 1
    assert dispatcher.deliver_pending(1_000) == 1
    [(_, attempts)] = platform.deliveries("wh_1", 10)
    return attempts


def test_one_lookup_per_delivery_and_the_connection_goes_to_the_checked_address(
    monkeypatch: pytest.MonkeyPatch, answering: tuple[Listener, list[bytes]]
) -> None:
    listener, seen = answering
    calls: list[str] = []
    monkeypatch.setattr(
        webhooks.socket, "getaddrinfo", _resolver({"hooks.test": ["127.0.0.1"]}, calls)
    )
    [attempt] = deliver(DEV, f"http://hooks.test:{listener.port}/in?x=1")
    assert (attempt.ok, attempt.status_code) == (True, 204)
    assert calls == ["hooks.test"]  # resolved once: to check and to connect
    request = seen[0].decode()
    assert request.startswith("POST /in?x=1 HTTP/1.1\r\n")
    assert f"Host: hooks.test:{listener.port}\r\n" in request
    assert "X-Tracemark-Delivery: " in request


def test_a_name_rebound_after_the_check_cannot_redirect_the_connection(
    monkeypatch: pytest.MonkeyPatch, answering: tuple[Listener, list[bytes]]
) -> None:
    listener, seen = answering
    # The first lookup checks a public address; a second one would rebind to loopback, where
    # the listener waits. Production allows no loopback: nothing may reach it.
    answers = iter([["93.184.215.14"], ["127.0.0.1"], ["127.0.0.1"]])
    real = socket.getaddrinfo

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        return _resolver({host: next(answers)})(host, port)

    connected: list[tuple[str, int]] = []
    real_connect = socket.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address)
        if address[0] != "127.0.0.1":  # the public address: pretend it refuses
            raise ConnectionRefusedError(111, "Connection refused")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(webhooks.socket, "create_connection", create_connection)
    [attempt] = deliver(PROD, f"http://rebind.test:{listener.port}/h")
    assert not attempt.ok and "Connection refused" in attempt.error
    assert connected == [("93.184.215.14", listener.port)]
    assert seen == []


def _certificate(tmp_path: Path, name: str) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def test_tls_names_the_host_and_checks_its_certificate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = _certificate(tmp_path, "hooks.test")
    names: list[str | None] = []
    server.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]

    def serve(connection: socket.socket, _: threading.Event) -> None:
        read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    listener = Listener(serve, wrap=server)
    try:
        local = _resolver({"hooks.test": ["127.0.0.1"]})
        monkeypatch.setattr(webhooks.socket, "getaddrinfo", local)
        url = f"https://hooks.test:{listener.port}/h"
        [attempt] = deliver(DEV, url)
        assert "CERTIFICATE_VERIFY_FAILED" in attempt.error  # self-signed: refused
        assert names == ["hooks.test"]  # SNI carries the name, not the address
        trusting = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        monkeypatch.setattr(webhooks, "_TLS", trusting)
        target = resolve(url, DEV)
        assert target.addresses == (webhooks.ipaddress.IPv4Address("127.0.0.1"),)
        assert send(target, b"{}", {}, 5.0) == (200, "")
    finally:
        listener.close()


# --- one deadline for the whole exchange ---------------------------------------------------


def trickle(interval_s: float) -> Any:
    """A receiver that answers 200 at once, then one header line every ``interval_s``."""

    def serve(connection: socket.socket, stop: threading.Event) -> None:
        read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        for n in range(100):
            if stop.wait(interval_s):
                return
            connection.sendall(f"X-Slow-{n}: {n}\r\n".encode())
        connection.sendall(b"Content-Length: 0\r\n\r\n")

    return serve


def test_a_trickling_receiver_fails_at_the_deadline() -> None:
    listener = Listener(trickle(0.4))  # every read gets data well within the deadline
    try:
        target = resolve(f"http://127.0.0.1:{listener.port}/h", DEV)
        started = time.monotonic()
        status, error = send(target, b"{}", {}, 1.5)
        took = time.monotonic() - started
    finally:
        listener.close()
    assert status == 0 and error == "no complete answer within the 1.5 s deadline"
    assert 1.4 < took < 2.5, took


def test_answers_that_are_not_http_or_too_long_fail() -> None:
    def garbage(connection: socket.socket, _: threading.Event) -> None:
        read_request(connection)
        connection.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    def endless(connection: socket.socket, stop: threading.Event) -> None:
        read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            connection.sendall(b"X: " + b"y" * 1000 + b"\r\n")

    for serve, expected in ((garbage, "not HTTP"), (endless, "too long")):
        listener = Listener(serve)
        try:
            target = resolve(f"http://127.0.0.1:{listener.port}/h", DEV)
            status, error = send(target, b"{}", {}, 5.0)
        finally:
            listener.close()
        assert status == 0 and expected in error
