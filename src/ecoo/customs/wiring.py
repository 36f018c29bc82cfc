"""The customs service's objects, built in one place for the app factory and the ``ecoo customs``
commands alike (no Flask here: the commands do not load the web stack)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigurationError, InputError
from ..service.permissions import PRIVATE_DIR, tighten
from ..trustlist import SignatureCheck, TrustList, read_trust_list, require_publisher
from ..trustlist.pins import PINS_FILE, SequencePins
from .config import CustomsSettings
from .registries import CustomsRegistries
from .store import CustomsDatabase

if TYPE_CHECKING:
    from ..signers import Signer

__all__ = ["CustomsObjects", "build_customs", "load_trust_list", "open_database"]


@dataclass(frozen=True)
class CustomsObjects:
    """Everything the customs service runs on (``app.extensions["ecoo_customs"]``)."""

    settings: CustomsSettings
    db: CustomsDatabase
    trust_list: TrustList
    registries: CustomsRegistries
    signer: Signer | None  # signs the on-chain records; None: records are not sent
    trust_check: SignatureCheck | None = None  # what the list's signature says (shown by the health endpoint)


def load_trust_list(settings: CustomsSettings) -> tuple[TrustList, SignatureCheck]:
    """The configured trust list, read and checked: ConfigurationError (one line) when it is missing,
    not a valid list, altered, or — with a publisher configured — unsigned, signed by another, or older
    than a list of that publisher this service already accepted (TrustListRefusedError)."""
    path = settings.trust_list
    if not path.is_file():
        raise ConfigurationError(f"trust list {path} (ECOO_TRUST_LIST) does not exist or is not a file")
    try:
        trust_list = read_trust_list(path)
    except InputError as exc:
        raise ConfigurationError(f"trust list refused: {exc}") from None
    check = require_publisher(trust_list, str(path), settings.trust_list_publisher)
    # No rollback: an older list of the configured publisher than one this service accepted is refused.
    SequencePins(settings.data_dir / PINS_FILE).accept(trust_list, check, str(path))
    return trust_list, check


def open_database(settings: CustomsSettings | str) -> CustomsDatabase:
    """The customs database (of ``settings`` or a URL), migrated to the newest schema."""
    db = CustomsDatabase(settings if isinstance(settings, str) else settings.database_url)
    db.migrate()
    return db


def build_customs(settings: CustomsSettings) -> CustomsObjects:
    """Check the trust list first (a refused list starts nothing), then open and migrate the
    database. A data directory others can read is tightened first."""
    trust_list, check = load_trust_list(settings)
    signer: Signer | None = None
    if settings.customs_key is not None:
        from ..signers import signer_from_key

        signer = signer_from_key("0x" + settings.customs_key.hex())
    registries = CustomsRegistries(
        trust_list,
        str(settings.trust_list),
        timeout=settings.rpc_timeout,
        receipt_timeout=settings.receipt_timeout,
        confirmations=settings.confirmations,
        max_block_age=settings.max_block_age,
    )
    tighten(settings.data_dir, PRIVATE_DIR)
    return CustomsObjects(settings, open_database(settings), trust_list, registries, signer, check)
