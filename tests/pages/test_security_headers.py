"""Security headers on every HTML page (api/http/headers.py) and the client address behind
trusted proxies only (api/proxies.py), in process."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.http.app import create_app
from api.proxies import client_address, parse_trusted_proxies
from api.settings import Settings
from ledger import errors
from ledger.keys import PrivateKey
from ledger.storage.memory.log import MemoryStore
from tests.pages.chain import LISTING, PLATFORM, STREAM, build_chain, fresh_service
from tests.pages.conftest import HTML, RESOLVER, Served
from tests.pages.test_pages_in_process import listing_url, overlay_json, path_of


def csp(response: Response) -> dict[str, str]:
    """The Content-Security-Policy header's directives."""
    policy = response.headers["content-security-policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in policy.split(";")
        if part.strip()
    }


def assert_unframeable_page(response: Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    directives = csp(response)
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_viewer_page(served: Served) -> None:
    for code in (served.chain.genuine, served.chain.genuine.replace("/21/", "/21/X")):
        response = served.client.get(path_of(code), headers=HTML)
        assert_unframeable_page(response)
        assert "script-src" not in csp(response)  # the viewer runs no script at all


def test_the_listing_page_and_its_refusals(served: Served) -> None:
    url = urlsplit(overlay_json(served)["qr"]["url"])
    fresh = served.client.get(f"{url.path}?{url.query}", headers=HTML)
    assert fresh.status_code == 200
    assert_unframeable_page(fresh)
    expired = served.client.get(listing_url(served, expiry=1), headers=HTML)
    forged = served.client.get(f"/l/{PLATFORM}/{LISTING}?s={STREAM}&n=x", headers=HTML)
    unknown = served.client.get(listing_url(served, listing="NOPE"), headers=HTML)
    assert [r.status_code for r in (expired, forged, unknown)] == [410, 403, 404]
    for response in (expired, forged, unknown):
        assert_unframeable_page(response)


def test_the_scan_page(served: Served) -> None:
    """The one page that runs WebAssembly (zxing-cpp), its own script and a service worker,
    all from this server: nothing else is allowed, and it cannot be framed."""
    for lang in ("en", "vi"):
        response = served.client.get(f"/scan?lang={lang}", headers=HTML)
        assert_unframeable_page(response)
        directives = csp(response)
        assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
        assert {directives[d] for d in ("connect-src", "worker-src", "manifest-src")} == {"'self'"}
        assert "http" not in response.headers["content-security-policy"]
    for path in ("/scan/sw.js", "/scan/assets/scan.js", "/scan/assets/zxing_reader.wasm"):
        answer = served.client.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert "content-security-policy" not in answer.headers  # not HTML


def test_the_api_docs(served: Served) -> None:
    for path in ("/docs", "/redoc"):
        response = served.client.get(path)
        assert_unframeable_page(response)
        # Served from here (api/http/apidocs.py): no CDN, one inline script allowed by its hash.
        first, *hashes = csp(response)["script-src"].split()
        assert first == "'self'" and all(h.startswith("'sha256-") for h in hashes)
        assert "http" not in response.headers["content-security-policy"]


def test_the_overlay_may_be_framed_by_players_only_as_configured(
    served: Served, tmp_path: Path, operator_key: PrivateKey
) -> None:
    response = served.client.get(f"/overlay/{PLATFORM}/{LISTING}", params={"stream": STREAM})
    assert response.status_code == 200
    directives = csp(response)
    assert directives["frame-ancestors"] == "'self' https:"  # the default
    assert directives["script-src"].startswith("'nonce-")
    assert "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"

    service = fresh_service(MemoryStore(), operator_key)
    build_chain(service, operator_key, RESOLVER)
    settings = Settings.from_env(
        {
            "TRACEMARK_HOME": str(tmp_path),
            "TRACEMARK_KEY_FILE": str(tmp_path / "absent.key"),
            "TRACEMARK_OVERLAY_FRAME_ANCESTORS": "https://live.example  https://*.shop.example",
        }
    )
    with TestClient(create_app(settings, service=service), base_url=RESOLVER) as client:
        framed = client.get(f"/overlay/{PLATFORM}/{LISTING}", params={"stream": STREAM})
    assert csp(framed)["frame-ancestors"] == "https://live.example https://*.shop.example"


def test_json_answers_are_not_sniffed_either(served: Served) -> None:
    response = served.client.get(path_of(served.chain.genuine))
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


@pytest.mark.parametrize(
    "value", ["'self'; script-src *", "https://a.example,https://b.example", "<script>"]
)
def test_overlay_frame_ancestors_cannot_smuggle_directives(value: str) -> None:
    with pytest.raises(errors.InvalidInput, match="TRACEMARK_OVERLAY_FRAME_ANCESTORS"):
        Settings.from_env({"TRACEMARK_OVERLAY_FRAME_ANCESTORS": value})


# --- trusted proxies ------------------------------------------------------------------------


def test_trusted_proxies_parse_addresses_and_networks() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    proxies = Settings.from_env(
        {"TRACEMARK_TRUSTED_PROXIES": "10.0.0.5, 172.18.0.0/16 ::1"}
    ).trusted_proxies
    assert [str(p) for p in proxies] == ["10.0.0.5/32", "172.18.0.0/16", "::1/128"]
    with pytest.raises(errors.InvalidInput, match="TRACEMARK_TRUSTED_PROXIES: 'proxy'"):
        Settings.from_env({"TRACEMARK_TRUSTED_PROXIES": "proxy"})


PROXIES = parse_trusted_proxies("10.0.0.5 172.18.0.0/16")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", [b"198.51.100.1"], "203.0.113.9"),  # untrusted peer: header ignored
        ("127.0.0.1", [b"198.51.100.1"], "127.0.0.1"),  # loopback is not trusted by default
        ("10.0.0.5", [b"198.51.100.1"], "198.51.100.1"),  # the proxy's word
        ("10.0.0.5", [b"6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # spoofed hop ignored
        ("10.0.0.5", [b"6.6.6.6", b"198.51.100.1"], "198.51.100.1"),  # two header lines
        ("10.0.0.5", [b"198.51.100.1, 172.18.0.3"], "198.51.100.1"),  # two trusted hops
        ("10.0.0.5", [b"garbage"], "10.0.0.5"),
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", [b"[2001:db8::1]:4711"], "2001:db8::1"),
        ("10.0.0.5", [b"198.51.100.1:4711"], "198.51.100.1"),
    ],
)
def test_the_client_address(peer: str, forwarded: list[bytes], client: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def limited_client(
    tmp_path: Path, operator_key: PrivateKey, peer: str, proxies: str = ""
) -> TestClient:
    service = fresh_service(MemoryStore(), operator_key)
    settings = Settings.from_env(
        {
            "TRACEMARK_HOME": str(tmp_path),
            "TRACEMARK_KEY_FILE": str(tmp_path / "absent.key"),
            "TRACEMARK_RATE_LIMIT": "3",
            "TRACEMARK_TRUSTED_PROXIES": proxies,
        }
    )
    return TestClient(create_app(settings, service=service), client=(peer, 40000))


def test_a_spoofed_forwarded_for_does_not_change_the_rate_limited_client(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    client = limited_client(tmp_path, operator_key, "127.0.0.1")  # no trusted proxy
    statuses = [
        client.get("/v1/log/checkpoint", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
        for n in range(5)
    ]
    assert statuses[:3] == [200] * 3 and statuses[3:] == [429, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    client = limited_client(tmp_path, operator_key, "10.0.0.5", proxies="10.0.0.5")

    def get(forwarded: str) -> int:
        headers = {"X-Forwarded-For": forwarded}
        return client.get("/v1/log/checkpoint", headers=headers).status_code

    assert [get("198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
    assert get("198.51.100.2") == 200  # another client behind the same proxy
    assert get("6.6.6.6, 198.51.100.1") == 429  # a spoofed hop left of the proxy's is ignored
