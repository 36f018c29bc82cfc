"""Realistic, valid example certificates of origin, one per scheme (the output of ``ecoo example``)."""

from __future__ import annotations

import copy
import re
import secrets
from datetime import date, timedelta
from typing import Any, Final

from .errors import ConfigurationError

__all__ = ["EXAMPLE_SCHEMES", "example_certificate", "fresh_certificate_number"]

_NO_FLAGS: Final = {"issuedRetroactively": False, "exhibition": False, "cumulation": False, "deMinimis": False}

_EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "NON_PREFERENTIAL": {
        "certificateNumber": "ITO-2026-1184520",
        "scheme": "NON_PREFERENTIAL",
        "issuer": {"name": "Istanbul Chamber of Commerce", "country": "TR", "accreditationCode": "ICC-WCF-TR-0007"},
        "issueDate": "2026-11-16",
        "issuePlace": "Istanbul",
        "validUntil": "2027-11-16",
        "exporter": {
            "name": "Anatolia Home Textiles A.S.",
            "address": "Ikitelli OSB, Demirciler Sitesi 4. Cad. No 12, 34490 Basaksehir, Istanbul",
            "country": "TR",
            "identifier": {"scheme": "TIN", "value": "0680412957"},
        },
        "consignee": {
            "name": "Hudson Linen Supply Inc.",
            "address": "401 Industrial Avenue, Teterboro, NJ 07608",
            "country": "US",
            "identifier": None,
        },
        "importer": None,
        "producer": "AVAILABLE_ON_REQUEST",
        "exportCountry": "TR",
        "importCountry": "US",
        "transport": {
            "mode": "SEA",
            "vesselOrFlight": "MAERSK KENTUCKY 647W",
            "departureDate": "2026-11-18",
            "portOfLoading": "TRAMR",
            "portOfDischarge": "USNYC",
            "transitCountries": [],
            "transportDocumentNumber": "MAEU247118830",
        },
        "items": [
            {
                "itemNumber": 1,
                "marksAndNumbers": "HLS/NJ/1-180",
                "packageCount": 180,
                "packageType": "CT",
                "description": "Bath towels of cotton terry fabric, 70 x 140 cm, white",
                "hsCode": "630260",
                "originCountry": "TR",
                "originCriterion": None,
                "quantity": {"value": "21600", "unit": "PCE"},
                "grossWeight": {"value": "11880", "unit": "KGM"},
                "fobValue": {"amount": "97200.00", "currency": "USD"},
                "invoice": {"number": "AHT-2026-0871", "date": "2026-11-13"},
            }
        ],
        "thirdPartyInvoicing": None,
        "backToBack": None,
        "flags": dict(_NO_FLAGS),
        "copyType": "ORIGINAL",
        "copyOf": None,
        "replaces": None,
        "remarks": None,
        "exporterDeclaration": {"place": "Istanbul", "date": "2026-11-13", "signatory": "Elif Demir, Export Director"},
        "certification": {"place": "Istanbul", "date": "2026-11-16", "officer": "Murat Kaya"},
    },
    "RCEP": {
        "certificateNumber": "TH-RCEP-2026-0048815",
        "scheme": "RCEP",
        "issuer": {"name": "Department of Foreign Trade, Ministry of Commerce", "country": "TH", "accreditationCode": "DFT-BKK"},
        "issueDate": "2026-11-12",
        "issuePlace": "Nonthaburi",
        "validUntil": "2027-11-12",
        "exporter": {
            "name": "Siam Auto Parts Co., Ltd.",
            "address": "700/412 Amata City Chonburi, Bang Pakong, Chachoengsao 24180",
            "country": "TH",
            "identifier": {"scheme": "TIN", "value": "0105558123456"},
        },
        "consignee": {
            "name": "Hanbit Motors Co., Ltd.",
            "address": "55 Jungang-daero, Dong-gu, Busan 48821",
            "country": "KR",
            "identifier": {"scheme": "BRN", "value": "6068112345"},
        },
        "importer": None,
        "producer": {
            "name": "Siam Auto Parts Co., Ltd.",
            "address": "700/412 Amata City Chonburi, Bang Pakong, Chachoengsao 24180",
            "country": "TH",
            "identifier": None,
        },
        "exportCountry": "TH",
        "importCountry": "KR",
        "transport": {
            "mode": "SEA",
            "vesselOrFlight": "HMM BLESSING 021N",
            "departureDate": "2026-11-14",
            "portOfLoading": "THLCH",
            "portOfDischarge": "KRPUS",
            "transitCountries": [],
            "transportDocumentNumber": "HDMULCB4881502",
        },
        "items": [
            {
                "itemNumber": 1,
                "marksAndNumbers": "HBM/PUS/1-40",
                "packageCount": 40,
                "packageType": "PX",
                "description": "Brake pads for passenger cars, ceramic, sets of four",
                "hsCode": "870830",
                "nationalTariffCode": "87083029",
                "originCountry": "TH",
                "originCriterion": {"code": "RVC", "rvcPercent": "43.5"},
                "quantity": {"value": "12000", "unit": "SET"},
                "grossWeight": {"value": "18400", "unit": "KGM"},
                "fobValue": {"amount": "126000.00", "currency": "USD"},
                "invoice": {"number": "SAP-EX-26-1140", "date": "2026-11-10"},
            },
            {
                "itemNumber": 2,
                "marksAndNumbers": "HBM/PUS/41-48",
                "packageCount": 8,
                "packageType": "PX",
                "description": "Technically specified natural rubber (STR 20), in bales",
                "hsCode": "400122",
                "originCountry": "TH",
                "originCriterion": {"code": "WO"},
                "quantity": {"value": "8.4", "unit": "TNE"},
                "grossWeight": {"value": "8640", "unit": "KGM"},
                "fobValue": {"amount": "14280.00", "currency": "USD"},
                "invoice": {"number": "SAP-EX-26-1140", "date": "2026-11-10"},
            },
        ],
        "thirdPartyInvoicing": None,
        "backToBack": None,
        "flags": dict(_NO_FLAGS),
        "copyType": "ORIGINAL",
        "copyOf": None,
        "replaces": None,
        "remarks": "",
        "exporterDeclaration": {
            "place": "Chachoengsao",
            "date": "2026-11-11",
            "signatory": "Somchai Rattanakul, Managing Director",
        },
        "certification": {"place": "Nonthaburi", "date": "2026-11-12", "officer": "Pimchanok Srisuk"},
    },
    "ATIGA": {
        "certificateNumber": "KL-2026-D-0091547",
        "scheme": "ATIGA",
        "issuer": {"name": "Ministry of Investment, Trade and Industry", "country": "MY", "accreditationCode": "MITI-KL-02"},
        "issueDate": "2026-11-09",
        "issuePlace": "Kuala Lumpur",
        "validUntil": "2027-11-09",
        "exporter": {
            "name": "Klang Valley Oleochemicals Sdn Bhd",
            "address": "Lot 5, Jalan Perigi Nanas 6/1, Pulau Indah Industrial Park, 42920 Port Klang, Selangor",
            "country": "MY",
            "identifier": {"scheme": "SSM", "value": "201501012345"},
        },
        "consignee": {
            "name": "Luzon Consumer Goods Corporation",
            "address": "2F Pacific Tower, 1132 Epifanio de los Santos Avenue, Quezon City 1103",
            "country": "PH",
            "identifier": {"scheme": "TIN", "value": "008-765-432-000"},
        },
        "importer": None,
        "producer": None,
        "exportCountry": "MY",
        "importCountry": "PH",
        "transport": {
            "mode": "SEA",
            "vesselOrFlight": "WAN HAI 172 S088",
            "departureDate": "2026-11-11",
            "portOfLoading": "MYPKG",
            "portOfDischarge": "PHMNL",
            "transitCountries": [],
            "transportDocumentNumber": "WHLC0912235501",
        },
        "items": [
            {
                "itemNumber": 1,
                "marksAndNumbers": "LCGC/MNL 1-20",
                "packageCount": 20,
                "packageType": "PL",
                "description": "Refined, bleached and deodorised palm olein, in 190 kg drums",
                "hsCode": "151190",
                "originCountry": "MY",
                "originCriterion": {"code": "WO"},
                "quantity": {"value": "3800", "unit": "KGM"},
                "grossWeight": {"value": "4120", "unit": "KGM"},
                "fobValue": {"amount": "4560.00", "currency": "USD"},
                "invoice": {"number": "KVO-26-3318", "date": "2026-11-06"},
            },
            {
                "itemNumber": 2,
                "marksAndNumbers": "LCGC/MNL 21-60",
                "packageCount": 40,
                "packageType": "CT",
                "description": "Fatty alcohol ethoxylate surfactant preparations for detergents",
                "hsCode": "340242",
                "originCountry": "MY",
                "originCriterion": {"code": "RVC", "rvcPercent": "48"},
                "quantity": {"value": "8000", "unit": "KGM"},
                "grossWeight": {"value": "8560", "unit": "KGM"},
                "fobValue": {"amount": "15200.00", "currency": "USD"},
                "invoice": {"number": "KVO-26-3318", "date": "2026-11-06"},
            },
        ],
        "thirdPartyInvoicing": None,
        "backToBack": None,
        "flags": dict(_NO_FLAGS),
        "copyType": "ORIGINAL",
        "copyOf": None,
        "replaces": None,
        "remarks": None,
        "exporterDeclaration": {
            "place": "Port Klang",
            "date": "2026-11-06",
            "signatory": "Nurul Aina binti Hassan, Export Executive",
        },
        "certification": {"place": "Kuala Lumpur", "date": "2026-11-09", "officer": "Ahmad Faizal bin Osman"},
    },
    "EUR1": {
        "certificateNumber": "CH-ZH-A-1527784",
        "scheme": "EUR1",
        "issuer": {"name": "Zurich Chamber of Commerce", "country": "CH", "accreditationCode": "ZHK-EUR1-01"},
        "issueDate": "2026-11-19",
        "issuePlace": "Zurich",
        "validUntil": "2027-03-19",
        "exporter": {
            "name": "Limmat Praezisionsmaschinen AG",
            "address": "Hardturmstrasse 161, 8005 Zurich",
            "country": "CH",
            "identifier": {"scheme": "UID", "value": "CHE-105.912.384"},
        },
        "consignee": {
            "name": "Schwaben Werkzeugbau GmbH",
            "address": "Industriestrasse 24, 73728 Esslingen am Neckar",
            "country": "DE",
            "identifier": {"scheme": "EORI", "value": "DE482615937204518"},
        },
        "importer": None,
        "producer": None,
        "exportCountry": "CH",
        "importCountry": "DE",
        "transport": {
            "mode": "ROAD",
            "vesselOrFlight": "ZH 482 715",
            "departureDate": "2026-11-20",
            "portOfLoading": None,
            "portOfDischarge": None,
            "transitCountries": [],
            "transportDocumentNumber": "CMR-2026-118407",
        },
        "items": [
            {
                "itemNumber": 1,
                "marksAndNumbers": "SWB 1",
                "packageCount": 1,
                "packageType": "CS",
                "description": "Vertical machining centre for metal, 5-axis, with numerical control",
                "hsCode": "845710",
                "originCountry": "CH",
                "originCriterion": None,
                "quantity": {"value": "1", "unit": "C62"},
                "grossWeight": {"value": "7350", "unit": "KGM"},
                "fobValue": {"amount": "412000.00", "currency": "CHF"},
                "invoice": {"number": "LPM-26-00419", "date": "2026-11-18"},
            }
        ],
        "thirdPartyInvoicing": None,
        "backToBack": None,
        "flags": dict(_NO_FLAGS),
        "copyType": "ORIGINAL",
        "copyOf": None,
        "replaces": None,
        "remarks": None,
        "exporterDeclaration": {"place": "Zurich", "date": "2026-11-18", "signatory": "Reto Brunner, Head of Logistics"},
        "certification": {"place": "Zurich", "date": "2026-11-19", "officer": "Claudia Meier"},
    },
    "GSP_A": {
        "certificateNumber": "EPB-CTG-2026-305118",
        "scheme": "GSP_A",
        "issuer": {"name": "Export Promotion Bureau, Chattogram", "country": "BD", "accreditationCode": "EPB-CTG"},
        "issueDate": "2026-11-05",
        "issuePlace": "Chattogram",
        "validUntil": "2027-11-05",
        "exporter": {
            "name": "Karnaphuli Knit Composite Ltd.",
            "address": "Plot 22-27, Sector 5, CEPZ, Chattogram 4223",
            "country": "BD",
            "identifier": {"scheme": "BIN", "value": "000123456-0101"},
        },
        "consignee": {
            "name": "Yokohama Casual Wear K.K.",
            "address": "1-1-1 Minatomirai, Nishi-ku, Yokohama 220-0012",
            "country": "JP",
            "identifier": None,
        },
        "importer": None,
        "producer": None,
        "exportCountry": "BD",
        "importCountry": "JP",
        "transport": {
            "mode": "SEA",
            "vesselOrFlight": "KOTA LAYANG 0112E",
            "departureDate": "2026-11-07",
            "portOfLoading": "BDCGP",
            "portOfDischarge": "JPYOK",
            "transitCountries": ["SG"],
            "transportDocumentNumber": "PCLUCTG7712590",
        },
        "items": [
            {
                "itemNumber": 1,
                "marksAndNumbers": "YCW/YOK/1-250",
                "packageCount": 250,
                "packageType": "CT",
                "description": "Men's T-shirts of cotton, knitted, crew neck",
                "hsCode": "610910",
                "originCountry": "BD",
                "originCriterion": {"code": "W"},
                "quantity": {"value": "15000", "unit": "PCE"},
                "grossWeight": {"value": "3250", "unit": "KGM"},
                "fobValue": {"amount": "41250.00", "currency": "USD"},
                "invoice": {"number": "KKC-EXP-26-512", "date": "2026-11-02"},
            }
        ],
        "thirdPartyInvoicing": None,
        "backToBack": None,
        "flags": dict(_NO_FLAGS),
        "copyType": "ORIGINAL",
        "copyOf": None,
        "replaces": None,
        "remarks": "Criterion W, heading 61.09.",
        "exporterDeclaration": {"place": "Chattogram", "date": "2026-11-03", "signatory": "Farhana Akter, Commercial Manager"},
        "certification": {"place": "Chattogram", "date": "2026-11-05", "officer": "Md. Rafiqul Islam"},
    },
    "CPTPP": {
        "certificateNumber": "VN-CPTPP-2026-011982",
        "scheme": "CPTPP",
        "issuer": {
            "name": "Ministry of Industry and Trade, Regional Import-Export Office HCMC",
            "country": "VN",
            "accreditationCode": "MOIT-02",
        },
        "issueDate": "2026-11-23",
        "issuePlace": "Ho Chi Minh City",
        "validUntil": "2027-11-23",
        "exporter": {
            "name": "Mekong Seafood Processing JSC",
            "address": "Tra Noc 1 Industrial Park, Binh Thuy, Can Tho",
            "country": "VN",
            "identifier": {"scheme": "TIN", "value": "1800567123"},
        },
        "consignee": {
            "name": "Pacific Harbour Foods Ltd.",
            "address": "1200 West Pender Street, Vancouver, BC V6E 2S9",
            "country": "CA",
            "identifier": {"scheme": "BN", "value": "812345678RM0001"},
        },
        "importer": {
            "name": "Pacific Harbour Foods Ltd.",
            "address": "1200 West Pender Street, Vancouver, BC V6E 2S9",
            "country": "CA",
            "identifier": {"scheme": "BN", "value": "812345678RM0001"},
        },
        "producer": {
            "name": "Mekong Seafood Processing JSC",
            "address": "Tra Noc 1 Industrial Park, Binh Thuy, Can Tho",
            "country": "VN",
            "identifier": None,
        },
        "exportCountry": "VN",
        "importCountry": "CA",
        "transport": {
            "mode": "SEA",
            "vesselOrFlight": "ONE COLUMBA 041E",
            "departureDate": "2026-11-25",
            "portOfLoading": "VNCLI",
            "portOfDischarge": "CAVAN",
            "transitCountries": [],
            "transportDocumentNumber": "ONEYSGNA0119820",
        },
        "items": [
            {
                "itemNumber": 1,
                "marksAndNumbers": "PHF/VAN 1-900",
                "packageCount": 900,
                "packageType": "CT",
                "description": "Frozen whiteleg shrimp, farmed, peeled and deveined, 10 kg cartons",
                "hsCode": "030617",
                "originCountry": "VN",
                "originCriterion": {"code": "WO"},
                "quantity": {"value": "9000", "unit": "KGM"},
                "grossWeight": {"value": "9630", "unit": "KGM"},
                "fobValue": {"amount": "103500.00", "currency": "USD"},
                "invoice": {"number": "MSP-26-7781", "date": "2026-11-20"},
            },
            {
                "itemNumber": 2,
                "marksAndNumbers": "PHF/VAN 901-960",
                "packageCount": 60,
                "packageType": "CT",
                "description": "Breaded shrimp, cooked, frozen, 1 kg retail packs",
                "hsCode": "160521",
                "originCountry": "VN",
                "originCriterion": {"code": "PSR"},
                "quantity": {"value": "600", "unit": "KGM"},
                "grossWeight": {"value": "660", "unit": "KGM"},
                "fobValue": {"amount": "7800.00", "currency": "USD"},
                "invoice": {"number": "MSP-26-7781", "date": "2026-11-20"},
            },
        ],
        "thirdPartyInvoicing": None,
        "backToBack": None,
        "flags": dict(_NO_FLAGS),
        "copyType": "ORIGINAL",
        "copyOf": None,
        "replaces": None,
        "remarks": None,
        "exporterDeclaration": {"place": "Can Tho", "date": "2026-11-21", "signatory": "Le Thi Thu Ha, Deputy Director"},
        "certification": {"place": "Ho Chi Minh City", "date": "2026-11-23", "officer": "Pham Quoc Bao"},
    },
}

EXAMPLE_SCHEMES: Final[tuple[str, ...]] = tuple(_EXAMPLES)


def example_certificate(scheme: str = "RCEP", *, issued_on: date | None = None) -> dict[str, Any]:
    """Return a fresh, valid, realistic certificate of origin for ``scheme`` (the caller may change it).

    With ``issued_on``, every date moves by the same number of days so that the certificate is
    issued that day (declaration, invoices and departure keep their distance to it).
    """
    try:
        example = copy.deepcopy(_EXAMPLES[scheme])
    except KeyError:
        raise ConfigurationError(f"no example for scheme {scheme!r}; choose one of {', '.join(EXAMPLE_SCHEMES)}") from None
    if issued_on is not None:
        shift = issued_on - date.fromisoformat(example["issueDate"])
        example = shift_dates(example, shift)
    return example


#: Random digits in a fresh number: 10**8 numbers, so that two runs (a chamber's demo issuing a
#: few hundred examples) practically never meet (birthday bound: ~0.05% after 300 numbers).
FRESH_DIGITS = 8


def fresh_certificate_number(number: str) -> str:
    """``number`` (an example's) with its final digits replaced by :data:`FRESH_DIGITS` random ones:
    a new number in the example's style each call ("TH-RCEP-2026-0048815" -> "TH-RCEP-2026-30517264")."""
    stem = number.rstrip("0123456789")
    return f"{stem}{secrets.randbelow(10**FRESH_DIGITS):0{FRESH_DIGITS}d}"


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def shift_dates(value: Any, shift: timedelta) -> Any:
    """A copy of ``value`` with every ``YYYY-MM-DD`` string moved by ``shift``."""
    if isinstance(value, dict):
        return {key: shift_dates(item, shift) for key, item in value.items()}
    if isinstance(value, list):
        return [shift_dates(item, shift) for item in value]
    if isinstance(value, str) and _DATE.match(value):
        return (date.fromisoformat(value) + shift).isoformat()
    return value
