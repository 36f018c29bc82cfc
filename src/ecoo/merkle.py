"""Merkle trees compatible with OpenZeppelin ``MerkleProof`` (keccak256 of sorted pairs).

Levels are built bottom-up from the leaves in the given order; a node without a sibling is
promoted unchanged to the next level (never duplicated, so no two leaf sets share a root by
padding). A batch of one has ``root == leaf`` and an empty proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .hashing import keccak


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin ``Hashes.commutativeKeccak256``: keccak256 of the two nodes in sorted order."""
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Same answer as ``MerkleProof.verify(proof, root, leaf)`` on chain."""
    return process_proof(leaf, proof) == root


@dataclass(frozen=True)
class MerkleTree:
    """All levels of a tree; ``levels[0]`` are the leaves, ``levels[-1] == (root,)``."""

    levels: tuple[tuple[bytes, ...], ...]

    @classmethod
    def build(cls, leaves: Sequence[bytes]) -> MerkleTree:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        for leaf in leaves:
            if not isinstance(leaf, bytes) or len(leaf) != 32:
                raise ValueError("every leaf must be 32 bytes")
        if len(set(leaves)) != len(leaves):
            raise ValueError("duplicate leaves: each certificate must have a distinct leaf")
        levels = [tuple(leaves)]
        while len(levels[-1]) > 1:
            below = levels[-1]
            above = [hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            levels.append(tuple(above))
        return cls(levels=tuple(levels))

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    @property
    def leaves(self) -> tuple[bytes, ...]:
        return self.levels[0]

    def proof(self, index: int) -> tuple[bytes, ...]:
        """Siblings from leaf ``index`` up to the root."""
        if not 0 <= index < len(self.leaves):
            raise IndexError(f"leaf index {index} out of range 0..{len(self.leaves) - 1}")
        proof = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index //= 2
        return tuple(proof)
