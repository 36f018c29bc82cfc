"""Trust lists: which registries a verifier (an importing customs administration) trusts.

A trust list is a JSON document (schema: ``ecoo/schema/trust-list.schema.json``) naming, per
entry, a chain, a registry, the nodes to ask (failover in order), the authority that runs it and
the period the entry is in force; optionally signed by its publisher (EIP-712). See
docs/trust-lists.md.

* :mod:`.document`: the records, the bounded reader and the schema check;
* :mod:`.signing`: the publisher's signature;
* :mod:`.routing`: a :class:`ecoo.verify.Verifier` that routes each document to its registry.
"""

from __future__ import annotations

from .document import (
    FORMAT,
    TrustEntry,
    TrustList,
    load_trust_list_schema,
    parse_trust_list,
    read_trust_list,
    trust_list_problems,
    write_trust_list,
)
from .routing import FailoverRegistry, trust_list_verifier
from .signing import SignatureCheck, check_signature, list_digest, list_typed_data, require_publisher, sign_trust_list

__all__ = [
    "FORMAT",
    "FailoverRegistry",
    "SignatureCheck",
    "TrustEntry",
    "TrustList",
    "check_signature",
    "list_digest",
    "list_typed_data",
    "load_trust_list_schema",
    "parse_trust_list",
    "read_trust_list",
    "require_publisher",
    "sign_trust_list",
    "trust_list_problems",
    "trust_list_verifier",
    "write_trust_list",
]
