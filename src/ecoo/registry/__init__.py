"""Python client of the EcooRegistry contract.

Every contract function has a typed wrapper. Transactions are estimated first (so a revert is
known before anything is sent), signed by the given :class:`~ecoo.signers.Signer` with a nonce
from a :class:`NonceManager` (concurrent callers never collide), and waited for. Reverts are
mapped by custom-error selector to the exceptions in :mod:`ecoo.errors`.

- :mod:`.types`: status enums and immutable records (what the registry stores and answers);
- :mod:`.reverts`: revert data to typed exceptions;
- :mod:`.transactions`: nonces and sending;
- :mod:`.events`: the events the service's chain follower reads (and the customs records);
- :mod:`.customs`: argument checks and the hand-encoded utilisation views of the customs records;
- :mod:`.client`: :class:`Registry`, including the hand-encoded verification views.

What the embedded chain does differently is in :mod:`ecoo.embedded`, behind
:class:`ecoo.chain.NodeAdapter`.
"""

from __future__ import annotations

from .client import (
    CERTIFICATE_QUERY_TYPE,
    CERTIFICATE_STATE_TYPE,
    VERIFY_CERTIFICATE_SELECTOR,
    VERIFY_CERTIFICATES_SELECTOR,
    Registry,
    require_address,
    require_country_code,
)
from .events import RegistryEvent, read_events
from .reverts import RevertDecoder
from .transactions import DEFAULT_NONCES, NonceManager, Transactor
from .types import (
    AccreditationPeriod,
    CertificateQuery,
    CertificateState,
    CertificateStatus,
    CustomsRecord,
    Issuer,
    IssuerStatus,
    ItemUtilisation,
    RevocationReason,
    TxResult,
    UtilisationQuery,
)

__all__ = [
    "CERTIFICATE_QUERY_TYPE",
    "CERTIFICATE_STATE_TYPE",
    "DEFAULT_NONCES",
    "VERIFY_CERTIFICATES_SELECTOR",
    "VERIFY_CERTIFICATE_SELECTOR",
    "AccreditationPeriod",
    "CertificateQuery",
    "CertificateState",
    "CertificateStatus",
    "CustomsRecord",
    "Issuer",
    "IssuerStatus",
    "ItemUtilisation",
    "NonceManager",
    "Registry",
    "RegistryEvent",
    "RevertDecoder",
    "RevocationReason",
    "Transactor",
    "TxResult",
    "UtilisationQuery",
    "read_events",
    "require_address",
    "require_country_code",
]
