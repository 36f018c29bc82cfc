"""Reference data: the code lists a certificate's values are checked against.

Trade experts keep these lists; the rules in :mod:`ecoo.validation.rules` read them. The published
schema (``src/ecoo/schema/certificate-of-origin.schema.json``) lists the origin-criterion codes as an
``enum`` too; ``tests/unit/test_validation.py`` keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["ALL_CRITERIA", "COPY_TYPES", "ISO_3166_ALPHA2", "ORIGIN_CRITERIA", "SCHEMES"]

SCHEMES: Final[tuple[str, ...]] = ("NON_PREFERENTIAL", "RCEP", "ATIGA", "EUR1", "GSP_A", "CPTPP")

ORIGIN_CRITERIA: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        # Non-preferential certificates state origin only, never a criterion.
        "NON_PREFERENTIAL": (),
        "RCEP": ("WO", "PE", "CTC", "RVC", "CR"),
        "ATIGA": ("WO", "RVC", "CC", "CTH", "CTSH", "SP", "PC"),
        # The EUR.1 movement certificate has no origin-criterion box (origin is shown in box 4).
        "EUR1": (),
        "GSP_A": ("P", "W", "F", "Y", "Pk"),
        # CPTPP Annex 3-B element 7 names the Article 3.2 criterion: (a) wholly obtained, (b) produced
        # entirely from originating materials, (c) product-specific rule; ecoo writes them WO, PE, PSR.
        "CPTPP": ("WO", "PE", "PSR"),
    }
)
"""The origin-criterion codes legal per scheme; an empty tuple means the scheme carries no criterion."""

ALL_CRITERIA: Final[tuple[str, ...]] = tuple(dict.fromkeys(code for codes in ORIGIN_CRITERIA.values() for code in codes))
"""Every origin-criterion code of some scheme, in first-seen order (what a certificate of no known scheme may use)."""

COPY_TYPES: Final[tuple[str, ...]] = ("ORIGINAL", "DUPLICATE", "CERTIFIED_TRUE_COPY")

# The officially assigned ISO 3166-1 alpha-2 codes (249; Debian iso-codes 4.15). User-assigned codes
# such as XK are not accepted: customs systems do not agree on them.
ISO_3166_ALPHA2: Final[frozenset[str]] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF
    CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH
    GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG
    NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN
    SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT
    ZA ZM ZW
    """.split()
)
