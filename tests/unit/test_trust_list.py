"""Trust lists without a chain: the published schema, the reader's one-line errors (each naming a
JSON Pointer), the publisher's signature (sign, tamper, wrong publisher, malleated) and the
`ecoo trust-list` commands end to end."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data

from ecoo.cli import main
from ecoo.errors import ConfigurationError, InputError
from ecoo.signers import LocalSigner
from ecoo.trustlist import (
    TrustList,
    check_signature,
    list_digest,
    list_typed_data,
    load_trust_list_schema,
    parse_trust_list,
    read_trust_list,
    require_publisher,
    sign_trust_list,
)
from ecoo.trustlist.document import entry_period_problem
from tests.unit.test_protocol import malleate

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PUBLISHER = LocalSigner(Account.from_key("0x" + "11" * 32))
STRANGER = LocalSigner(Account.from_key("0x" + "22" * 32))


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format": "ecoo-trust-list/1",
        "name": "Customs of Japan: trusted CO registries",
        "sequence": 3,
        "issued": "2026-12-01T09:00:00Z",
        "entries": [
            {
                "chainId": 31337,
                "registry": REGISTRY,
                "rpcUrls": ["https://rpc-a.example/v1", "https://rpc-b.example/v1"],
                "authority": {"name": "Ministry of Industry and Trade", "country": "VN"},
                "validFrom": "2026-01-01",
                "validUntil": "2027-12-31",
                "notes": "RCEP and ATIGA certificates",
            }
        ],
    }
    base.update(changes)
    return base


def test_the_schema_is_a_valid_2020_12_schema_shipped_beside_the_certificates() -> None:
    from jsonschema import Draft202012Validator

    schema = load_trust_list_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["format"]["const"] == "ecoo-trust-list/1"
    parsed = parse_trust_list(document(), "list.json")
    assert parsed.sequence == 3 and parsed.entries[0].rpc_urls == ("https://rpc-a.example/v1", "https://rpc-b.example/v1")
    assert parsed.to_json() == document()


def _entry(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(document()["entries"][0])
    entry.update(changes)
    return entry


BAD_DOCUMENTS: dict[str, tuple[dict[str, Any], str]] = {
    "wrong format": (document(format="ecoo-trust-list/2"), "/format: 'ecoo-trust-list/1' was expected"),
    "no entries member": ({k: v for k, v in document().items() if k != "entries"}, "/: 'entries' is a required property"),
    "unknown member": (document(extra=1), "/: Additional properties are not allowed ('extra' was unexpected)"),
    "sequence 0": (document(sequence=0), "/sequence: 0 is less than the minimum of 1"),
    "issued without zone": (document(issued="2026-12-01T09:00:00"), "/issued: '2026-12-01T09:00:00' is not an RFC 3339"),
    "bad address": (document(entries=[_entry(registry="0x1234")]), "/entries/0/registry: '0x1234' is not an address"),
    "no rpc url": (document(entries=[_entry(rpcUrls=[])]), "/entries/0/rpcUrls: [] should be non-empty"),
    "ftp url": (document(entries=[_entry(rpcUrls=["ftp://x"])]), "/entries/0/rpcUrls/0: 'ftp://x' is not an http://"),
    "lower-case country": (
        document(entries=[_entry(authority={"name": "x", "country": "vn"})]),
        "/entries/0/authority/country: 'vn' is not an ISO 3166-1",
    ),
    "not a real date": (document(entries=[_entry(validFrom="2026-02-30")]), "/entries/0/validFrom: not a real date"),
    "period backwards": (
        document(entries=[_entry(validFrom="2027-01-01", validUntil="2026-12-31")]),
        "/entries/0/validUntil: 2026-12-31 is before validFrom 2027-01-01",
    ),
    "duplicate registry": (
        document(entries=[_entry(), _entry(registry=REGISTRY.lower())]),
        f"/entries/1/registry: registry {REGISTRY} on chain 31337 is already /entries/0",
    ),
    "wrong checksum": (
        document(entries=[_entry(registry=REGISTRY.replace("F", "f", 1))]),
        "/entries/0/registry: 0x5fbDB2315678afecb367f032d93F642f64180aa3 has a wrong EIP-55 checksum",
    ),
    "publisher with a wrong checksum": (
        document(signature={"publisher": PUBLISHER.address.swapcase().replace("0X", "0x"), "value": "0x" + "1" * 130}),
        "/signature/publisher: 0x19e7e376e7c213b7e7E7E46CC70a5Dd086daFF2a has a wrong EIP-55 checksum",
    ),
    "signature too short": (
        document(signature={"publisher": PUBLISHER.address, "value": "0x12"}),
        "/signature/value: '0x12' is not a 65-byte signature",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCUMENTS))
def test_every_problem_is_one_line_naming_its_json_pointer(case: str) -> None:
    value, expected = BAD_DOCUMENTS[case]
    with pytest.raises(InputError) as raised:
        parse_trust_list(value, "customs.json")
    message = str(raised.value)
    assert message.startswith("customs.json: not a valid trust list: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": "a", "format": "b"}', "duplicate key 'format'"),
        ('{"sequence": NaN}', "NaN is not valid JSON"),
        ("[" * 100 + "]" * 100, "nested deeper than 64 levels"),
        ("{", "not valid JSON"),
    ],
)
def test_the_list_is_read_only_through_the_bounded_reader(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=expected):
        read_trust_list(path)


def test_dates_are_whole_utc_days_or_date_times_with_a_zone() -> None:
    entry = parse_trust_list(document(), "l").entries[0]
    assert entry_period_problem(entry, datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC)) is None  # validUntil is inclusive
    assert entry_period_problem(entry, datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)) is None
    expired = entry_period_problem(entry, datetime(2028, 1, 1, 0, 0, 0, tzinfo=UTC))
    assert expired == "expired: its entry is valid from 2026-01-01 until 2027-12-31; now is 2028-01-01T00:00:00Z"
    early = entry_period_problem(entry, datetime(2025, 12, 31, 23, 0, 0, tzinfo=UTC))
    assert early is not None and early.startswith("not yet valid")
    timed = parse_trust_list(document(entries=[_entry(validFrom="2026-06-01T12:00:00+02:00")]), "l").entries[0]
    assert entry_period_problem(timed, datetime(2026, 6, 1, 10, 0, 0, tzinfo=UTC)) is None
    assert entry_period_problem(timed, datetime(2026, 6, 1, 9, 59, 59, tzinfo=UTC)) is not None


# -- the publisher's signature ---------------------------------------------------------------------


def test_the_digest_is_standard_eip712() -> None:
    """What a wallet signs for eth_signTypedData_v4 is exactly list_digest (eth-account computes it)."""
    trust_list = parse_trust_list(document(), "l")
    signable = encode_typed_data(full_message=list_typed_data(trust_list))
    assert _hash_eip191_message(signable) == list_digest(trust_list)
    # Pinned: the digest of this example list (changes only if the construction changes).
    assert list_digest(trust_list).hex() == PINNED_DIGEST


PINNED_DIGEST = "884acbd80739bcd0da578b3e7eda3f6f4a3b2c332fa92fe2781fc807ea4a6929"


def test_the_signature_covers_the_list_exactly_as_written() -> None:
    """listHash is keccak256 of the RFC 8785 form of the file's own JSON without "signature": an
    independent signer (a wallet, another language) needs no ecoo normalisation to sign it."""
    from ecoo.canonical import canonicalize
    from ecoo.hashing import keccak
    from ecoo.trustlist.signing import list_hash

    as_written = document(entries=[_entry(registry=REGISTRY.lower())])
    assert list_hash(parse_trust_list(as_written, "l")) == keccak(canonicalize(as_written))
    signed = sign_trust_list(parse_trust_list(as_written, "l"), PUBLISHER).to_json()
    assert signed["entries"][0]["registry"] == REGISTRY.lower()


def test_sign_then_verify_and_every_way_to_refuse() -> None:
    trust_list = parse_trust_list(document(), "l")
    signed = sign_trust_list(trust_list, PUBLISHER)
    assert check_signature(signed).publisher == PUBLISHER.address
    assert require_publisher(signed, "l", PUBLISHER.address).valid
    assert require_publisher(signed, "l", PUBLISHER.address.lower()).valid  # an all-lower-case address is fine

    # Round trip through JSON: what is written verifies when read back.
    again = parse_trust_list(json.loads(json.dumps(signed.to_json())), "l")
    assert require_publisher(again, "l", PUBLISHER.address).signed

    altered = signed.to_json()
    altered["entries"][0]["rpcUrls"].reverse()  # even the failover order is covered
    with pytest.raises(ConfigurationError, match="refused: the signature does not match the list"):
        require_publisher(parse_trust_list(altered, "l"), "l", PUBLISHER.address)
    with pytest.raises(ConfigurationError, match="refused: the signature does not match the list"):
        require_publisher(parse_trust_list(altered, "l"), "l", None)  # no publisher: a broken signature still refuses

    by_stranger = sign_trust_list(trust_list, STRANGER)
    with pytest.raises(ConfigurationError, match=f"signed by {STRANGER.address}, not by the configured publisher"):
        require_publisher(by_stranger, "l", PUBLISHER.address)

    with pytest.raises(ConfigurationError, match="it is unsigned, and publisher .* is configured"):
        require_publisher(trust_list, "l", PUBLISHER.address)
    assert not require_publisher(trust_list, "l", None).signed  # unsigned, nobody configured: accepted

    claimed = signed.to_json()
    claimed["signature"]["publisher"] = STRANGER.address  # someone else's name on the publisher's signature
    with pytest.raises(ConfigurationError, match="does not match the list"):
        require_publisher(parse_trust_list(claimed, "l"), "l", STRANGER.address)

    with pytest.raises(ConfigurationError, match="wrong EIP-55 checksum"):
        require_publisher(signed, "l", PUBLISHER.address[:-1] + PUBLISHER.address[-1].swapcase())


def test_a_malleated_high_s_signature_is_refused() -> None:
    signed = sign_trust_list(parse_trust_list(document(), "l"), PUBLISHER)
    raw = bytes.fromhex(signed.to_json()["signature"]["value"][2:])
    high_s = signed.to_json()
    high_s["signature"]["value"] = "0x" + malleate(raw).hex()
    with pytest.raises(ConfigurationError, match="upper half of the curve order"):
        require_publisher(parse_trust_list(high_s, "l"), "l", PUBLISHER.address)


def test_a_change_is_the_next_sequence_and_drops_the_signature() -> None:
    signed = sign_trust_list(parse_trust_list(document(), "l"), PUBLISHER)
    changed = signed.changed(())
    assert changed.sequence == 4 and changed.signature is None and changed.entries == ()
    assert TrustList.new("x").sequence == 1


# -- the command line ------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def test_cli_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "customs.json")
    assert run(capsys, "trust-list", "init", path, "--name", "JP customs")[0] == 0
    code, out, err = run(capsys, "trust-list", "init", path, "--name", "again")
    assert code == 1 and out["error"] == "ConfigurationError" and "refusing to overwrite" in err
    code, out, _ = run(
        capsys, "trust-list", "add", path, "--chain-id", "31337", "--registry", REGISTRY.lower(),
        "--rpc-url", "http://127.0.0.1:9", "--rpc-url", "http://127.0.0.1:8545",
        "--authority-name", "MoIT", "--country", "vn", "--valid-from", "2026-01-01", "--notes", "test",
    )  # fmt: skip
    assert code == 0 and out["sequence"] == 2 and out["entry"]["registry"] == REGISTRY
    code, out, err = run(
        capsys, "trust-list", "add", path, "--chain-id", "31337", "--registry", REGISTRY,
        "--rpc-url", "http://x", "--authority-name", "MoIT", "--country", "VN",
    )  # fmt: skip
    assert code == 1 and "/entries/1/registry: registry" in err and "is already /entries/0" in err

    monkeypatch.delenv("ECOO_TRUST_LIST_KEY", raising=False)
    code, out, err = run(capsys, "trust-list", "sign", path)
    assert code == 1 and "no key: set $ECOO_TRUST_LIST_KEY" in err
    monkeypatch.setenv("ECOO_TRUST_LIST_KEY", "0x" + "11" * 32)
    code, out, _ = run(capsys, "trust-list", "sign", path)
    assert code == 0 and out["publisher"] == PUBLISHER.address
    assert ("11" * 32) not in Path(path).read_text(encoding="utf-8")  # the key is never written or printed

    code, out, _ = run(capsys, "trust-list", "verify", path, "--publisher", PUBLISHER.address)
    assert code == 0 and out["signature"]["publisher"] == PUBLISHER.address
    monkeypatch.setenv("ECOO_TRUST_LIST_PUBLISHER", STRANGER.address)
    code, out, err = run(capsys, "trust-list", "verify", path)
    assert code == 1 and "not by the configured publisher" in err
    monkeypatch.delenv("ECOO_TRUST_LIST_PUBLISHER")

    code, out, _ = run(capsys, "trust-list", "show", path)
    assert code == 0 and out["entries"][0]["inForce"] and out["signature"]["signed"]

    code, out, _ = run(capsys, "trust-list", "remove", path, "--chain-id", "31337", "--registry", REGISTRY)
    assert code == 0 and out["sequence"] == 3 and out["signatureRemoved"]
    code, out, err = run(capsys, "trust-list", "verify", path, "--publisher", PUBLISHER.address)
    assert code == 1 and "it is unsigned" in err
    code, out, err = run(capsys, "trust-list", "remove", path, "--chain-id", "31337", "--registry", REGISTRY)
    assert code == 1 and "no entry for registry" in err


def test_verify_refuses_mixing_a_trust_list_with_single_registry_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps(document()), encoding="utf-8")
    doc = tmp_path / "doc.json"
    doc.write_text("{}", encoding="utf-8")
    code, out, err = run(capsys, "verify", str(doc), "--trust-list", str(path), "--rpc-url", "http://127.0.0.1:9")
    assert code == 1 and "leave out --rpc-url and --registry" in err
    code, out, err = run(capsys, "verify", str(doc), "--trust-list", str(path), "--publisher", PUBLISHER.address)
    assert code == 1 and "it is unsigned, and publisher" in err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document(sequence="3")), encoding="utf-8")
    code, out, err = run(capsys, "verify", str(doc), "--trust-list", str(broken))
    assert code == 1 and out["error"] == "InputError" and "/sequence: '3' is not of type 'integer'" in err


def test_failover_tries_every_node_in_order_and_never_shows_their_secrets() -> None:
    from ecoo.anvil import free_port
    from ecoo.errors import ChainUnavailableError
    from ecoo.registry import CertificateQuery
    from ecoo.trustlist import FailoverRegistry

    first, second = free_port(), free_port()  # nothing listens on either
    urls = [f"http://127.0.0.1:{first}/v3/SECRET-KEY", f"http://user:hunter2@127.0.0.1:{second}"]
    entry = parse_trust_list(document(entries=[_entry(rpcUrls=urls)]), "l").entries[0]
    with pytest.raises(ChainUnavailableError) as raised:
        FailoverRegistry(entry, timeout=2).verify_certificates([CertificateQuery(REGISTRY, b"\1" * 32, b"\2" * 32, ())])
    message = str(raised.value)
    assert "chain 31337, all 2 nodes on the trust list failed" in message
    assert message.index(f"127.0.0.1:{first}") < message.index(f"127.0.0.1:{second} (ConnectionError)")
    assert "SECRET-KEY" not in message and "hunter2" not in message


def _offline_document(chain_id: int, number: str) -> dict[str, Any]:
    """A correctly signed single-certificate document (root = leaf) for ``chain_id``; never anchored."""
    from ecoo.protocol import build_document, certificate_digest, prepare
    from tests.support.samples import sample

    prepared = prepare(sample(number=number))
    signature = PUBLISHER.sign_digest(certificate_digest(chain_id, REGISTRY, prepared.leaf, number))
    return build_document(
        prepared,
        chain_id=chain_id,
        registry=REGISTRY,
        issuer=PUBLISHER.address,
        root=prepared.leaf,
        merkle_path=[],
        signature=signature,
    )


def test_routing_without_a_chain_down_expired_and_unlisted() -> None:
    """Without any node: a registry whose chain does not answer is asked once (not once per batch)
    and only its documents are UNAVAILABLE; an expired entry and an unlisted registry are INVALID
    at the registry check, which names the list."""
    from ecoo.errors import ChainUnavailableError
    from ecoo.registry import CertificateQuery, CertificateState
    from ecoo.trustlist import trust_list_verifier

    class Down:
        calls = 0

        def verify_certificates(self, queries: list[CertificateQuery]) -> list[CertificateState]:
            self.calls += 1
            raise ChainUnavailableError("http://127.0.0.1:9", "ConnectionError")

    down = Down()
    entries = [_entry(chainId=1), _entry(chainId=3, validFrom="2026-01-01", validUntil="2026-06-30")]
    trust = parse_trust_list(document(entries=entries), "customs.json")
    verifier = trust_list_verifier(trust, "customs.json", now=datetime(2026, 12, 1, tzinfo=UTC), registries={(1, REGISTRY): down})
    verifier.batch_size = 2
    documents = [_offline_document(1, f"D-{i}") for i in range(5)] + [_offline_document(3, "E-1"), _offline_document(4, "N-1")]

    reports = verifier.verify_many(documents)

    assert down.calls == 1  # three batches, one attempt: a chain that is down is not asked again
    assert [r.verdict.value for r in reports] == ["UNAVAILABLE"] * 5 + ["INVALID", "INVALID"]
    assert reports[5].check("registry").message == (
        f"registry {REGISTRY} on chain 3 is not trusted by trust list customs.json (sequence 3): "
        "expired: its entry is valid from 2026-01-01 until 2026-06-30; now is 2026-12-01T00:00:00Z"
    )
    assert reports[6].check("registry").message.endswith("by trust list customs.json (sequence 3): it is not on the list")


# -- no rollback -----------------------------------------------------------------------------------


def test_a_verifier_never_goes_back_to_an_older_or_forked_sequence(tmp_path: Path) -> None:
    from ecoo.errors import TrustListRefusedError
    from ecoo.trustlist.pins import SequencePins

    pins = SequencePins(tmp_path / "pins.json")
    third = sign_trust_list(parse_trust_list(document(), "l"), PUBLISHER)
    fourth = sign_trust_list(third.changed(()), PUBLISHER)
    pins.accept(third, check_signature(third), "l")
    pins.accept(fourth, check_signature(fourth), "l")
    pins.accept(fourth, check_signature(fourth), "l")  # the same list again is fine
    with pytest.raises(TrustListRefusedError, match="sequence 3 is older than sequence 4"):
        pins.check(third, check_signature(third), "l")
    fork = sign_trust_list(parse_trust_list(document(sequence=4), "l"), PUBLISHER)  # same number, other entries
    with pytest.raises(TrustListRefusedError, match="sequence 4 differs from the sequence 4"):
        pins.check(fork, check_signature(fork), "l")

    # Another publisher's list of the same name, and unsigned lists, are not pinned by it.
    strangers = sign_trust_list(parse_trust_list(document(sequence=1), "l"), STRANGER)
    pins.accept(strangers, check_signature(strangers), "l")
    unsigned = parse_trust_list(document(sequence=1), "l")
    pins.accept(unsigned, check_signature(unsigned), "l")
    assert sorted(json.loads((tmp_path / "pins.json").read_text(encoding="utf-8"))) == sorted(
        [f"{PUBLISHER.address}/{third.name}", f"{STRANGER.address}/{third.name}"]
    )

    # Pins that cannot be read refuse everything rather than forget the rollback guard.
    (tmp_path / "pins.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(TrustListRefusedError, match="cannot be read"):
        pins.check(fourth, check_signature(fourth), "l")


def test_an_unreachable_remote_node_is_not_answered_with_a_dev_node_hint() -> None:
    from ecoo.errors import ChainUnavailableError

    remote = str(ChainUnavailableError("https://user:secret@rpc.example.org/v1/KEY", "ConnectTimeout"))
    assert "ecoo up" not in remote and "ask its operator" in remote
    assert "secret" not in remote and "KEY" not in remote
    assert "start one with `ecoo up`" in str(ChainUnavailableError("http://127.0.0.1:8545"))
