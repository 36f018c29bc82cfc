"""The embedded chain (py-evm in this process, through eth-tester) and everything it does
differently from a JSON-RPC node.

Code that talks to a chain asks the chain's :class:`~ecoo.chain.NodeAdapter` (from
:func:`ecoo.chain.node_adapter`) instead of testing "is this eth-tester?": :class:`EmbeddedNode`
is the adapter for this chain, and every eth-tester quirk ecoo works around lives in it.
eth-tester is an optional extra: without it the embedded chain cannot start and
:data:`EMBEDDED_ERRORS` is empty.
"""

from __future__ import annotations

import ast
import uuid
from typing import Any

from web3 import Web3

#: The URL that selects the embedded chain (``--rpc-url embedded``), and the one it reports.
EMBEDDED = "embedded"


def new_embedded_web3() -> Web3:
    """A fresh in-process chain; see :func:`ecoo.chain.embedded_chain`."""
    from web3 import EthereumTesterProvider

    return Web3(EthereumTesterProvider())


def _embedded_errors() -> tuple[type[BaseException], ...]:
    try:
        from eth_tester.exceptions import TransactionFailed, ValidationError
    except ImportError:  # the embedded chain is an optional extra
        return ()
    return (TransactionFailed, ValidationError)


#: What the embedded chain raises instead of answering with a JSON-RPC error (a revert, a used nonce).
EMBEDDED_ERRORS = _embedded_errors()


class EmbeddedNode:
    """The :class:`~ecoo.chain.NodeAdapter` of an embedded chain."""

    url = EMBEDDED
    embedded = True
    errors = EMBEDDED_ERRORS

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3

    def identity(self) -> str:
        """A token stored on the provider (``id()`` is reused after garbage collection, which
        would hand a new chain an old chain's nonces)."""
        provider: Any = self._w3.provider
        token = getattr(provider, "_ecoo_node_token", None)
        if token is None:
            token = f"in-process:{uuid.uuid4()}"
            provider._ecoo_node_token = token
        return str(token)

    def revert_data(self, exc: BaseException) -> bytes | None:
        """eth-tester reports a revert as the text "execution reverted: b'...'": recover the bytes."""
        text = str(exc.args[0]) if exc.args else ""
        _, _, literal = text.partition("execution reverted: ")
        if not literal.startswith(("b'", 'b"')):
            return None
        try:
            value = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None

    def call_sender(self) -> str | None:
        """eth-tester insists on a funded sender even for calls: its first account."""
        return str(self._w3.eth.accounts[0])
