"""The disclosure units of a certificate: what a holder may withhold, and under which names.

Every member of the certificate is a salted unit hashed into the leaf (see :mod:`ecoo.protocol`);
the members listed here may be withheld from a copy without changing the leaf. Kept apart from the
protocol module, which loads the signature library, so that validation can import it cheaply.
"""

from __future__ import annotations

CORE = "core"

REDACTABLE_TOP_LEVEL: tuple[str, ...] = (
    "exporter",
    "consignee",
    "importer",
    "producer",
    "transport",
    "thirdPartyInvoicing",
    "backToBack",
    "exporterDeclaration",
    "remarks",
)
REDACTABLE_ITEM_FIELDS: tuple[str, ...] = ("fobValue", "invoice")

#: Names an exporter uses with ``ecoo redact --hide``; each stands for one or more units.
REDACTION_GROUPS: dict[str, str] = {
    "exporter": "/exporter",
    "consignee": "/consignee",
    "importer": "/importer",
    "producer": "/producer",
    "transport": "/transport",
    "third-party-invoicing": "/thirdPartyInvoicing",
    "back-to-back": "/backToBack",
    "exporter-declaration": "/exporterDeclaration",
    "remarks": "/remarks",
    "fob-values": "/items/*/fobValue",
    "invoices": "/items/*/invoice",
}
