"""api/settings.py: TRACEMARK_* variables, their validation, and the table in docs/operations.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.settings import Settings, is_loopback_url, local_url
from ledger.errors import InvalidInput
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.note import NoteSigner

ROOT = Path(__file__).resolve().parents[2]
ALICE_KEY = PrivateKey.from_seed(b"alice-witness-TEST-ONLY-32-bytes")  # TEST ONLY
ALICE = CosignatureVerifier.from_public_key("alice.test", ALICE_KEY.public_key)
BOB = CosignatureVerifier.from_public_key(
    "bob.test", PrivateKey.from_seed(b"bob-witness-TEST-ONLY-32-bytes!!").public_key
)


def test_no_witnesses_by_default() -> None:
    assert Settings.from_env({}).witnesses == ()
    assert Settings.from_env({"TRACEMARK_WITNESSES": " , "}).witnesses == ()


def test_witnesses_are_separated_by_commas_or_whitespace_and_counted_once() -> None:
    value = f"{ALICE.to_vkey()},\n {BOB.to_vkey()}  {ALICE.to_vkey()}"
    assert Settings.from_env({"TRACEMARK_WITNESSES": value}).witnesses == (ALICE, BOB)


@pytest.mark.parametrize(
    "value",
    [
        "witness+0000+AAAA",  # not a key
        ALICE.to_vkey()[:-4] + "AAA=",  # the key does not match its id
        NoteSigner("alice.test", ALICE_KEY).to_vkey(),  # a note (type 0x01) key
    ],
    ids=["malformed", "wrong-key", "wrong-type"],
)
def test_a_bad_witness_key_stops_the_service_with_one_clear_line(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Settings.from_env({"TRACEMARK_WITNESSES": f"{BOB.to_vkey()} {value}"})
    message = caught.value.message
    assert message.startswith("TRACEMARK_WITNESSES: ")
    assert "\n" not in message


def _table_names(doc: str) -> set[str]:
    """Variables in the rows of the settings table (``_SUFFIX`` continues the row's first)."""
    section = doc[doc.index("## The service") :]
    rows = [line for line in section.splitlines() if line.startswith("| `TRACEMARK_")]
    names: set[str] = set()
    for row in rows:
        tokens = re.findall(r"`(_?[A-Z][A-Z0-9_]*)`", row.split("|")[1])
        stem = tokens[0].rsplit("_", 1)[0]
        names.update(t if t.startswith("TRACEMARK_") else stem + t for t in tokens)
    return names


def test_the_operations_table_lists_every_setting() -> None:
    source = (ROOT / "api" / "settings.py").read_text(encoding="utf-8")
    code = source[source.index('"""', 3) :]  # the variables read, not the docstring
    read = set(re.findall(r'"(TRACEMARK_[A-Z0-9_]+)"', code))
    documented = _table_names((ROOT / "docs" / "operations.md").read_text(encoding="utf-8"))
    assert "TRACEMARK_WITNESSES" in read
    assert read == documented


def test_the_back_dating_window_is_read_in_hours() -> None:
    assert Settings.from_env({}).admission.max_backdate_ms == 72 * 3_600_000
    hours = Settings.from_env({"TRACEMARK_MAX_BACKDATE_H": "6"})
    assert hours.admission.max_backdate_ms == 6 * 3_600_000
    for bad in ("six", "-1", "1.5"):
        with pytest.raises(InvalidInput, match="TRACEMARK_MAX_BACKDATE_H"):
            Settings.from_env({"TRACEMARK_MAX_BACKDATE_H": bad})


def test_the_public_url_is_tracemark_public_url_or_its_older_name() -> None:
    assert Settings.from_env({}).resolver == "http://localhost:8000"
    new = Settings.from_env({"TRACEMARK_PUBLIC_URL": "https://verify.example.test/"})
    assert new.resolver == "https://verify.example.test"
    old = Settings.from_env({"TRACEMARK_RESOLVER": "https://old.example.test/tm/"})
    assert old.resolver == "https://old.example.test/tm"
    same = {
        "TRACEMARK_PUBLIC_URL": "https://a.example.test",
        "TRACEMARK_RESOLVER": "https://a.example.test/",
    }
    assert Settings.from_env(same).resolver == "https://a.example.test"


def test_the_two_names_of_the_public_url_must_agree() -> None:
    with pytest.raises(InvalidInput, match="disagree: set only TRACEMARK_PUBLIC_URL"):
        Settings.from_env(
            {
                "TRACEMARK_PUBLIC_URL": "https://a.example.test",
                "TRACEMARK_RESOLVER": "https://b.example.test",
            }
        )


@pytest.mark.parametrize(
    "value",
    [
        "verify.example.test",  # no scheme
        "ftp://verify.example.test",
        "https://",
        "https://user:pw@verify.example.test",  # would be printed on every label
        "https://verify.example.test/?x=1",
        "https://verify.example.test/#top",
        "https://verify.example.test:99999",
        "https://verify example.test",
    ],
)
def test_a_public_url_that_is_no_base_url_stops_the_service(value: str) -> None:
    with pytest.raises(InvalidInput, match="TRACEMARK_PUBLIC_URL must be an http"):
        Settings.from_env({"TRACEMARK_PUBLIC_URL": value})


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://localhost:8000", True),
        ("http://LOCALHOST.", True),
        ("https://demo.localhost", True),
        ("http://127.0.0.1:8000", True),
        ("http://127.9.9.9", True),
        ("http://[::1]:8000", True),
        ("http://0.0.0.0:8000", True),
        ("http://192.168.1.20:8000", False),
        ("https://verify.example.test", False),
        ("https://localhost.example.test", False),
        ("http://[2001:db8::1]", False),
    ],
)
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_a_server_names_itself_on_this_machine() -> None:
    assert local_url("127.0.0.1", 8000) == "http://localhost:8000"
    assert local_url("0.0.0.0", 8001) == "http://localhost:8001"  # noqa: S104
    assert local_url("192.168.1.20", 80) == "http://192.168.1.20:80"
    assert local_url("fe80::1", 8000) == "http://[fe80::1]:8000"


def test_the_document_store_and_compliance_policy_are_read_and_checked() -> None:
    default = Settings.from_env({})
    assert (default.document_store, default.compliance.kinds) == ("sql", ())
    assert default.compliance_interval_s == 60
    given = Settings.from_env(
        {
            "TRACEMARK_DOCUMENT_STORE": "file:///srv/documents",
            "TRACEMARK_COMPLIANCE_KINDS": "food_safety_test, certificate_of_origin",
            "TRACEMARK_DOCUMENT_MAX_BYTES": "2048",
            "TRACEMARK_COMPLIANCE_INTERVAL_S": "0",
        }
    )
    assert given.document_store == "file:///srv/documents"
    assert given.compliance.kinds == ("food_safety_test", "certificate_of_origin")
    assert (given.document_max_bytes, given.compliance_interval_s) == (2048, 0)
    for name, bad in (
        ("TRACEMARK_DOCUMENT_STORE", "ftp://x"),
        ("TRACEMARK_COMPLIANCE_KINDS", "horoscope"),
        ("TRACEMARK_DOCUMENT_MAX_BYTES", str(100 << 20)),
    ):
        with pytest.raises(InvalidInput, match=name):
            Settings.from_env({name: bad})
