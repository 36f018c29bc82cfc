"""The registry's quantities (thousandths), the rejection codes and the declaration hash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecoo.errors import InputError
from ecoo.hashing import keccak
from ecoo.utilisation import MAX_UNITS, RejectionCode, declaration_hash, from_units, new_salt, to_units


@pytest.mark.parametrize(
    ("text", "units"),
    [("12000", 12_000_000), ("1250.5", 1_250_500), ("0.001", 1), ("0", 0), ("8450.500", 8_450_500)],
)
def test_quantities_scale_to_thousandths(text: str, units: int) -> None:
    assert to_units(text) == units


@pytest.mark.parametrize("text", ["1.2345", "-1", "1e3", "", " 1", "1,000", "0x10", "1.", ".5", "١٢", "12\n"])
def test_anything_but_a_plain_decimal_with_three_places_is_refused(text: str) -> None:
    with pytest.raises(InputError):
        to_units(text)


def test_a_quantity_beyond_uint128_is_refused() -> None:
    assert to_units(from_units(MAX_UNITS)) == MAX_UNITS
    with pytest.raises(InputError, match="too large"):
        to_units(str(MAX_UNITS // 1000 + 1))


@given(st.integers(min_value=0, max_value=MAX_UNITS))
def test_units_round_trip(units: int) -> None:
    assert to_units(from_units(units)) == units


def test_rejection_codes_are_stable_and_named_for_the_api() -> None:
    # The numbers are recorded on chain: changing one would change what old records mean.
    assert RejectionCode.QUANTITY_EXCEEDED == 4 and RejectionCode.QUANTITY_EXCEEDED.code == "quantity_exceeded"
    assert 0 not in {int(code) for code in RejectionCode}


def test_the_declaration_hash_is_keccak_of_salt_and_reference() -> None:
    salt = new_salt()
    assert declaration_hash("DE-IMP-1", salt) == keccak(salt + b"DE-IMP-1")
    assert declaration_hash("DE-IMP-1", salt) != declaration_hash("DE-IMP-1", new_salt())
    with pytest.raises(InputError):
        declaration_hash("DE-IMP-1", b"short")
