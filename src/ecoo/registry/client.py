"""The client of a deployed EcooRegistry: a typed wrapper for every contract function.

Transactions go through :class:`~ecoo.registry.transactions.Transactor`; the verification views,
the hot path, are encoded by hand and sent straight to the provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier, RPCEndpoint

from ..artifacts import load_artifact
from ..errors import ConfigurationError, TransactionFailedError
from ..hashing import checksum_address
from ..signers import Signer
from .customs import (
    ITEM_UTILISATION_TYPE,
    items_from_abi,
    require_bytes32,
    require_uint,
    utilisation_call,
    utilisations_call,
)
from .events import RegistryEvent, read_events
from .transactions import Transactor
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


def _address_or_none(value: str) -> str | None:
    return None if int(value, 16) == 0 else checksum_address(value)


def _country(value: bytes) -> str:
    return value.rstrip(b"\0").decode("ascii", errors="replace")


def _state_from_abi(raw: Sequence[Any]) -> CertificateState:
    (proof_valid, anchored, anchored_at, anchored_block, issuer_status, accredited_at_anchor, country, name,
     accreditation_code, current_key, current_key_status, status, reason, changed_at, changed_by, successor,
     chain_time, chain_block) = raw  # fmt: skip
    return CertificateState(
        proof_valid=bool(proof_valid),
        anchored=bool(anchored),
        anchored_at=int(anchored_at),
        anchored_block=int(anchored_block),
        issuer_status=IssuerStatus(issuer_status),
        accredited_at_anchor=bool(accredited_at_anchor),
        issuer_country=_country(country),
        issuer_name=str(name),
        issuer_accreditation_code=str(accreditation_code),
        current_key=checksum_address(current_key),
        current_key_status=IssuerStatus(current_key_status),
        status=CertificateStatus(status),
        reason=RevocationReason(reason),
        status_changed_at=int(changed_at),
        status_changed_by=_address_or_none(changed_by),
        successor=None if bytes(successor) == b"\0" * 32 else bytes(successor),
        chain_time=int(chain_time),
        chain_block=int(chain_block),
    )


# ABI of the verification views, encoded by hand on the hot path (checked against the artifact's
# ABI by tests/unit/test_units.py).
CERTIFICATE_QUERY_TYPE = "(address,bytes32,bytes32,bytes32[])"
CERTIFICATE_STATE_TYPE = (
    "(bool,bool,uint48,uint48,uint8,bool,bytes2,string,string,address,uint8,uint8,uint8,uint48,address,bytes32,uint48,uint48)"
)
VERIFY_CERTIFICATE_SELECTOR = keccak(text=f"verifyCertificate({CERTIFICATE_QUERY_TYPE})")[:4]
VERIFY_CERTIFICATES_SELECTOR = keccak(text=f"verifyCertificates({CERTIFICATE_QUERY_TYPE}[])")[:4]


def require_address(value: object, what: str = "address") -> str:
    """``value`` in EIP-55 form; ConfigurationError (one line, naming ``what``) unless it is an
    Ethereum address, 0x and 40 hex digits. Addresses come from command lines, ``ECOO_*`` variables
    and callers: a typo must be a configuration error, not a traceback from deep in eth-utils."""
    if isinstance(value, str) and len(value) == 42 and value[:2] in ("0x", "0X"):
        try:
            return checksum_address(value)
        except ValueError:
            pass
    raise ConfigurationError(f"{what} {value!r} is not an Ethereum address (0x and 40 hex digits)")


def require_country_code(country: str) -> None:
    """Refuse anything but two ASCII capital letters (the registry stores the country as bytes2)."""
    if len(country) != 2 or not country.isascii() or not country.isalpha() or not country.isupper():
        raise ConfigurationError(f"country must be an ISO 3166-1 alpha-2 code like 'DE', got {country!r}")


#: Called with a transaction's hash once the node has it, before its receipt (see Transactor.transact).
OnSent = Callable[[str], None] | None


class Registry(Transactor):
    """A deployed EcooRegistry on one chain."""

    def __init__(self, w3: Web3, address: str, **options: Any) -> None:
        super().__init__(w3, **options)
        self.address = to_checksum_address(require_address(address, "registry address"))
        self.contract: Contract = w3.eth.contract(address=self.address, abi=load_artifact("EcooRegistry")["abi"])

    # -- roles ---------------------------------------------------------------------------------

    @property
    def authority_role(self) -> bytes:
        return bytes(self._rpc(self.contract.functions.AUTHORITY_ROLE().call))

    def is_authority(self, account: str) -> bool:
        role = self.authority_role
        return bool(self._rpc(self.contract.functions.hasRole(role, require_address(account, "account")).call))

    def grant_authority(self, admin: Signer, account: str) -> TxResult:
        return self.transact(admin, self.contract.functions.grantRole(self.authority_role, require_address(account, "account")))

    def is_admin(self, account: str) -> bool:
        admin_role = bytes(self._rpc(self.contract.functions.DEFAULT_ADMIN_ROLE().call))
        return bool(self._rpc(self.contract.functions.hasRole(admin_role, require_address(account, "account")).call))

    def renounce_authority(self, account: Signer) -> TxResult:
        """``account`` gives up its own authority role (OpenZeppelin ``renounceRole``)."""
        fn = self.contract.functions.renounceRole(self.authority_role, to_checksum_address(account.address))
        return self.transact(account, fn)

    def eip712_domain(self) -> dict[str, Any]:
        """The EIP-712 domain the registry publishes (ERC-5267)."""
        _, name, version, chain_id, verifying_contract, _, _ = self._rpc(self.contract.functions.eip712Domain().call)
        return {"name": name, "version": version, "chainId": int(chain_id), "verifyingContract": verifying_contract}

    def revoke_authority(self, admin: Signer, account: str) -> TxResult:
        return self.transact(admin, self.contract.functions.revokeRole(self.authority_role, require_address(account, "account")))

    # -- accreditation -------------------------------------------------------------------------

    def accredit_issuer(
        self,
        authority: Signer,
        issuer: str,
        *,
        name: str,
        country: str,
        accreditation_code: str,
        metadata_hash: bytes = b"\0" * 32,
    ) -> TxResult:
        require_country_code(country)
        fn = self.contract.functions.accreditIssuer(
            require_address(issuer, "issuer"), country.encode("ascii"), name, accreditation_code, metadata_hash
        )
        return self.transact(authority, fn)

    def suspend_issuer(self, authority: Signer, issuer: str) -> TxResult:
        return self.transact(authority, self.contract.functions.suspendIssuer(require_address(issuer, "issuer")))

    def reinstate_issuer(self, authority: Signer, issuer: str) -> TxResult:
        return self.transact(authority, self.contract.functions.reinstateIssuer(require_address(issuer, "issuer")))

    def rotate_issuer_key(self, authority: Signer, old_key: str, new_key: str, *, on_sent: OnSent = None) -> TxResult:
        fn = self.contract.functions.rotateIssuerKey(require_address(old_key, "old key"), require_address(new_key, "new key"))
        return self.transact(authority, fn, on_sent)

    # -- anchoring and status ------------------------------------------------------------------

    def anchor(self, issuer: Signer, root: bytes, *, on_sent: OnSent = None) -> TxResult:
        return self.transact(issuer, self.contract.functions.anchor(root), on_sent)

    def _on_behalf(self, signer: Signer, issuer: str | None) -> str | None:
        """None when ``signer`` acts on its own certificates, else the issuer it acts for."""
        if issuer is None or require_address(issuer, "issuer") == to_checksum_address(signer.address):
            return None
        return require_address(issuer, "issuer")

    def revoke(
        self, signer: Signer, leaf: bytes, reason: RevocationReason, *, issuer: str | None = None, on_sent: OnSent = None
    ) -> TxResult:
        """Revoke certificate ``leaf``: the signer's own, or ``issuer``'s (authority or successor key)."""
        target = self._on_behalf(signer, issuer)
        fns = self.contract.functions
        fn = fns.revoke(leaf, int(reason)) if target is None else fns.revokeFor(target, leaf, int(reason))
        return self.transact(signer, fn, on_sent)

    def supersede(
        self, signer: Signer, leaf: bytes, successor: bytes, *, issuer: str | None = None, on_sent: OnSent = None
    ) -> TxResult:
        target = self._on_behalf(signer, issuer)
        fns = self.contract.functions
        fn = fns.supersede(leaf, successor) if target is None else fns.supersedeFor(target, leaf, successor)
        return self.transact(signer, fn, on_sent)

    def suspend_certificate(self, signer: Signer, leaf: bytes, *, issuer: str | None = None, on_sent: OnSent = None) -> TxResult:
        target = self._on_behalf(signer, issuer)
        fns = self.contract.functions
        fn = fns.suspendCertificate(leaf) if target is None else fns.suspendCertificateFor(target, leaf)
        return self.transact(signer, fn, on_sent)

    def lift_certificate_suspension(
        self, signer: Signer, leaf: bytes, *, issuer: str | None = None, on_sent: OnSent = None
    ) -> TxResult:
        target = self._on_behalf(signer, issuer)
        fns = self.contract.functions
        fn = fns.liftCertificateSuspension(leaf) if target is None else fns.liftCertificateSuspensionFor(target, leaf)
        return self.transact(signer, fn, on_sent)

    # -- customs (receipt, utilisation and rejection records; quantities in thousandths) --------

    def grant_customs(self, authority: Signer, customs: str, country: str) -> TxResult:
        require_country_code(country)
        fn = self.contract.functions.grantCustoms(require_address(customs, "customs key"), country.encode("ascii"))
        return self.transact(authority, fn)

    def revoke_customs(self, authority: Signer, customs: str) -> TxResult:
        return self.transact(authority, self.contract.functions.revokeCustoms(require_address(customs, "customs key")))

    def get_customs(self, customs: str) -> CustomsRecord:
        country, active = self._rpc(self.contract.functions.getCustoms(require_address(customs, "customs key")).call)
        return CustomsRecord(country=_country(country), active=bool(active))

    def record_receipt(
        self, customs: Signer, issuer: str, leaf: bytes, declaration_hash: bytes, *, on_sent: OnSent = None
    ) -> TxResult:
        fn = self.contract.functions.recordReceipt(
            require_address(issuer, "issuer"),
            require_bytes32(leaf, "leaf"),
            require_bytes32(declaration_hash, "declaration hash"),
        )
        return self.transact(customs, fn, on_sent)

    def record_utilisation(
        self,
        customs: Signer,
        issuer: str,
        leaf: bytes,
        item: int,
        certified: int,
        quantity: int,
        declaration_hash: bytes,
        *,
        on_sent: OnSent = None,
    ) -> TxResult:
        """Utilise ``quantity`` of ``item`` (certified: ``certified``); UtilisationExceededError when
        less remains, CertifiedQuantityMismatchError when the first record stated another certified quantity."""
        fn = self.contract.functions.recordUtilisation(
            require_address(issuer, "issuer"),
            require_bytes32(leaf, "leaf"),
            require_uint(item, 16, "item"),
            require_uint(certified, 128, "certified quantity"),
            require_uint(quantity, 128, "quantity"),
            require_bytes32(declaration_hash, "declaration hash"),
        )
        return self.transact(customs, fn, on_sent)

    def record_rejection(
        self, customs: Signer, issuer: str, leaf: bytes, code: int, declaration_hash: bytes, *, on_sent: OnSent = None
    ) -> TxResult:
        fn = self.contract.functions.recordRejection(
            require_address(issuer, "issuer"),
            require_bytes32(leaf, "leaf"),
            require_uint(code, 16, "rejection code"),
            require_bytes32(declaration_hash, "declaration hash"),
        )
        return self.transact(customs, fn, on_sent)

    def get_utilisation(
        self, issuer: str, leaf: bytes, items: Sequence[int], block: BlockIdentifier = "latest"
    ) -> list[ItemUtilisation]:
        """What customs recorded against ``items`` of one certificate, in one ``eth_call``."""
        data = utilisation_call(require_address(issuer, "issuer"), leaf, items)
        return items_from_abi(self._raw_call(data, [ITEM_UTILISATION_TYPE + "[]"], block))

    def get_utilisations(
        self, queries: Sequence[UtilisationQuery], block: BlockIdentifier = "latest"
    ) -> list[list[ItemUtilisation]]:
        """``get_utilisation`` for many certificates, in one ``eth_call`` (callers split at 500)."""
        if not queries:
            return []
        for query in queries:
            require_address(query.issuer, "issuer")
        raw = self._raw_call(utilisations_call(queries), [ITEM_UTILISATION_TYPE + "[][]"], block)
        return [items_from_abi(items) for items in raw]

    # -- views ---------------------------------------------------------------------------------

    def get_issuer(self, issuer: str) -> Issuer:
        raw = self._rpc(self.contract.functions.getIssuer(require_address(issuer, "issuer")).call)
        status, country, accredited_at, successor, predecessor, metadata_hash, name, code = raw
        return Issuer(
            address=require_address(issuer, "issuer"),
            status=IssuerStatus(status),
            country=_country(country),
            accredited_at=int(accredited_at),
            successor=_address_or_none(successor),
            predecessor=_address_or_none(predecessor),
            metadata_hash=Web3.to_hex(metadata_hash),
            name=name,
            accreditation_code=code,
        )

    def get_accreditation_periods(self, issuer: str) -> list[AccreditationPeriod]:
        raw = self._rpc(self.contract.functions.getAccreditationPeriods(require_address(issuer, "issuer")).call)
        return [
            AccreditationPeriod(from_block=fb, from_time=ft, until_block=ub or None, until_time=ut or None)
            for fb, ft, ub, ut in raw
        ]

    def get_anchor(self, issuer: str, root: bytes) -> tuple[int, int] | None:
        """(block time, block number) of the anchoring of ``root`` by ``issuer``, or None."""
        at, block = self._rpc(self.contract.functions.getAnchor(require_address(issuer, "issuer"), root).call)
        return (int(at), int(block)) if block else None

    @cached_property
    def _call_from(self) -> str | None:
        """The ``from`` of the verification calls, if the node needs one (asked once)."""
        return self._rpc(self.node.call_sender)

    def _raw_call(self, data: bytes, output_types: Sequence[str], block: BlockIdentifier) -> Any:
        """One ``eth_call`` straight to the provider, decoded with ``output_types``.

        web3's contract ``call`` runs middleware that asks the node for its chain id on every call
        and encodes arguments through a generic formatter pipeline; verification promises exactly
        one request per certificate (or per batch), and is the hot path, so it goes direct.
        """
        call: dict[str, Any] = {"to": self.address, "data": "0x" + data.hex()}
        if self._call_from:
            call["from"] = self._call_from
        block_param = hex(block) if isinstance(block, int) else block
        response = self._rpc(lambda: self.w3.provider.make_request(RPCEndpoint("eth_call"), [call, block_param]))
        error = response.get("error")
        if error:
            raise self._map_revert(error.get("data") if isinstance(error, dict) else None, str(error))
        raw = bytes.fromhex(str(response.get("result", "0x")).removeprefix("0x"))
        try:
            return abi_decode(list(output_types), raw)[0]
        except Exception as exc:  # noqa: BLE001 - a wrong answer must not pass for an answer
            raise TransactionFailedError(
                "(call)", f"the node's answer does not decode ({type(exc).__name__}): is {self.address} the registry?"
            ) from None

    def anchor_transaction(self, issuer: str, root: bytes, block: int) -> str | None:
        """The transaction in ``block`` whose BatchAnchored event records ``issuer`` anchoring ``root``."""
        logs = self._rpc(
            lambda: self.contract.events.BatchAnchored().get_logs(
                argument_filters={"issuer": issuer, "root": root}, from_block=block, to_block=block
            )
        )
        return str(logs[0]["transactionHash"].to_0x_hex()) if logs else None

    def events(self, from_block: int, to_block: int, names: Iterable[str] | None = None) -> list[RegistryEvent]:
        """The registry's certificate, key and customs events in blocks ``from_block..to_block``, in
        chain order; only those called ``names`` when given."""
        return self._rpc(lambda: read_events(self.w3, self.address, from_block, to_block, names))

    def head(self) -> tuple[int, str]:
        """The number and hash of the node's newest block."""
        block = self._rpc(lambda: self.w3.eth.get_block("latest"))
        return int(block["number"]), Web3.to_hex(block["hash"]).lower()

    def block_hash(self, number: int) -> str | None:
        """The hash of block ``number`` on the node's current chain (None beyond its head)."""
        from web3.exceptions import BlockNotFound

        try:
            block = self._rpc(lambda: self.w3.eth.get_block(number))
        except BlockNotFound:
            return None
        return Web3.to_hex(block["hash"]).lower()

    def transaction_state(self, tx_hash: str) -> str:
        """What the node knows of a transaction: "mined", "reverted", "pending" or "unknown"."""
        from web3.exceptions import TransactionNotFound

        try:
            receipt = self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            receipt = None
        if receipt is not None:
            return "mined" if receipt["status"] == 1 else "reverted"
        try:
            self._rpc(lambda: self.w3.eth.get_transaction(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return "unknown"
        return "pending"

    def verify_certificate(self, query: CertificateQuery, block: BlockIdentifier = "latest") -> CertificateState:
        """Everything a verifier needs about one certificate, in one ``eth_call``."""
        data = VERIFY_CERTIFICATE_SELECTOR + abi_encode([CERTIFICATE_QUERY_TYPE], [query.as_abi()])
        return _state_from_abi(self._raw_call(data, [CERTIFICATE_STATE_TYPE], block))

    def verify_certificates(
        self, queries: Sequence[CertificateQuery], block: BlockIdentifier = "latest"
    ) -> list[CertificateState]:
        """``verify_certificate`` for many certificates, in one ``eth_call``."""
        if not queries:
            return []
        data = VERIFY_CERTIFICATES_SELECTOR + abi_encode([CERTIFICATE_QUERY_TYPE + "[]"], [[q.as_abi() for q in queries]])
        return [_state_from_abi(raw) for raw in self._raw_call(data, [CERTIFICATE_STATE_TYPE + "[]"], block)]

    def hash_certificate(self, leaf: bytes, certificate_number: str) -> bytes:
        """The EIP-712 digest the issuer signs, as the contract computes it."""
        return bytes(self._rpc(self.contract.functions.hashCertificate(leaf, certificate_number).call))

    def code_hash(self) -> str:
        """keccak256 of the runtime code at the registry address (0x…a470 when there is none)."""
        return Web3.to_hex(keccak(self._rpc(lambda: self.w3.eth.get_code(self.address))))
