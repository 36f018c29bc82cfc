"""The root of ecoo's exceptions and the errors of configuration, the chain, input and the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..urls import redact_url


class EcooError(Exception):
    """Root of every error ecoo raises on purpose."""


class ConfigurationError(EcooError, ValueError):
    """A setting, key source or argument is missing or wrong."""


class TrustListRefusedError(ConfigurationError):
    """A trust list that must not be used: its signature does not hold, its configured publisher
    did not sign it, or it is older than (or forks) a sequence this verifier already accepted."""


class CompilerNotFoundError(EcooError):
    """No solc of the pinned version is available."""


class CompilationError(EcooError):
    """solc rejected the sources."""


class ChainUnavailableError(EcooError, ConnectionError):
    """The chain's JSON-RPC endpoint cannot be reached or does not answer.

    Never a verdict about a certificate: callers must report "unavailable", not "revoked".
    """

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url  # in full, for code; the message shows only redact_url(url)
        self.detail = detail  # the cause alone, without the URL or the hint
        # Starting a dev node helps only someone who meant a node on this machine: a customs
        # officer whose trust list names a remote registry needs to hear about that node instead.
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:  # a malformed URL (e.g. "http://[broken") names no host of ours
            host = ""
        hint = (
            "start one with `ecoo up` (a local chain with the registry deployed) or `make run` (that and the service)"
            if host in ("127.0.0.1", "localhost", "::1", "0.0.0.0")
            else "check that the node is up and that the URL is right (a remote node: ask its operator)"
        )
        super().__init__(f"no Ethereum node answers at {redact_url(url)}{': ' + detail if detail else ''}; {hint}")


class SendOutcomeUnknownError(ChainUnavailableError):
    """The node did not answer a transaction's send: it may or may not have the transaction."""


class DeploymentNotFoundError(EcooError):
    """No live registry deployment is recorded for this chain."""

    def __init__(self, chain_id: int, where: str) -> None:
        self.chain_id = chain_id
        super().__init__(f"no registry deployed on chain {chain_id} (looked in {where}); run `ecoo deploy` first")


class TransactionFailedError(EcooError):
    """A transaction was mined but reverted without a recognisable registry error."""

    def __init__(self, tx_hash: str, detail: str = "") -> None:
        self.tx_hash = tx_hash
        super().__init__(f"transaction {tx_hash} failed{': ' + detail if detail else ''}")


class AnvilError(EcooError):
    """The managed Anvil could not be started."""


class DataDirectoryInUseError(EcooError):
    """Another ecoo process runs the managed node of this data directory (see ecoo.datadir_lock)."""

    def __init__(self, data_dir: str, holder: str) -> None:
        self.data_dir = data_dir
        self.holder = holder
        super().__init__(f"data directory {data_dir} is in use by {holder}; stop that one first, or set ECOO_DATA_DIR")


# Input and the certificate protocol


class InputError(EcooError, ValueError):
    """An input file cannot be read as what it should be."""


class CanonicalizationError(EcooError, ValueError):
    """The value has no RFC 8785 form."""


class ProtocolError(EcooError, ValueError):
    """A certificate or proof block is not well formed."""


class PdfError(EcooError, ValueError):
    """A PDF is not an ecoo certificate PDF, or a document cannot be printed as one."""


class InvalidCertificatesError(EcooError, ValueError):
    """Some certificates of a batch failed validation; nothing was anchored."""

    def __init__(self, failures: Mapping[int, Sequence[Any]], labels: Sequence[str]) -> None:
        self.failures = dict(failures)
        first_index = min(self.failures)
        first = self.failures[first_index][0]
        count = sum(len(v) for v in self.failures.values())
        super().__init__(
            f"{len(self.failures)} of {len(labels)} certificate(s) invalid ({count} issue(s)); nothing was issued. "
            f"First: {labels[first_index]} {first.path or '/'}: {first.message}"
        )


class StoreError(EcooError):
    """A database operation failed for a reason the caller should report."""


class DuplicateCertificateError(StoreError):
    """The chamber already has a certificate with this number."""

    def __init__(self, number: str, existing_id: int) -> None:
        self.number, self.existing_id = number, existing_id
        super().__init__(f"certificate {number!r} already exists (id {existing_id}); it is never issued twice")


class IntentConflictError(StoreError):
    """The certificate already has an open intent (the store's unique open-intent column)."""


class CursorMovedError(StoreError):
    """Another pass moved the chain follower's cursor meanwhile: this pass's reading is dropped."""


class VaultError(EcooError):
    """A stored key cannot be decrypted (wrong master key or tampered row)."""


class DeclarationInputError(InputError):
    """A customs declaration (or a certificate presented with it) is not what it should be;
    ``field`` points at the member (JSON Pointer, e.g. ``/lines/0/quantity``)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")
