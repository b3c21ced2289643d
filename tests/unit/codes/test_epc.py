"""ledger/codes/epc.py: EPC URNs and Digital Link URIs to canonical Digital Link URIs (CBV 8.9)."""

from __future__ import annotations

import pytest

from ledger.codes.epc import canonical_epc, constrained_digital_link, epc_urn_to_digital_link

STEM = "https://id.gs1.org/"


@pytest.mark.parametrize(
    ("urn", "uri"),
    [
        ("urn:epc:id:sgtin:0614141.112345.400", "01/10614141123459/21/400"),
        ("urn:epc:id:sgtin:0614141.112345.A%2FB", "01/10614141123459/21/A%2FB"),
        ("urn:epc:id:sscc:0614141.1234567890", "00/106141412345678908"),
        ("urn:epc:id:sgln:0614141.12345.0", "414/0614141123452"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "01/04012345123456/10/998877"),
        ("urn:epc:idpat:sgtin:4012345.012345.*", "01/04012345123456"),
    ],
)
def test_an_epc_urn_is_its_canonical_digital_link(urn: str, uri: str) -> None:
    assert epc_urn_to_digital_link(urn) == STEM + uri
    assert canonical_epc(urn) == STEM + uri
    assert constrained_digital_link(urn) is None  # a URN is not a Digital Link URI


def test_a_digital_link_uri_is_constrained_to_the_gs1_stem_without_query() -> None:
    uri = "https://example.com/01/09520123456788/21/12345?17=180426"
    assert constrained_digital_link(uri) == STEM + "01/09520123456788/21/12345"
    assert canonical_epc(uri) == STEM + "01/09520123456788/21/12345"
    assert epc_urn_to_digital_link(uri) is None


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "",
        "urn:epc:id:sgtin:0614141.11234.400",  # company prefix + item reference != 13 digits
        "urn:epc:id:unknown:0614141.112345.400",
        "https://example.com/not/a/digital/link",
    ],
)
def test_what_is_no_identifier_gives_none_and_never_raises(text: str) -> None:
    assert canonical_epc(text) is None
