// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// Floor 1: one bare mapping(bytes32 => uint256) write per operation; one read per certificate.
contract FloorBare {
    mapping(bytes32 => uint256) private _slots;

    function anchor(bytes32 root) external { _slots[root] = block.timestamp; }
    function revoke(bytes32 leaf, uint8 reason) external { _slots[leaf] = reason; }
    function supersede(bytes32 leaf, bytes32 successor) external { _slots[leaf] = uint256(successor); }
    function suspend(bytes32 leaf) external { _slots[leaf] = 1; }

    function verify(bytes32[] calldata keys) external view returns (uint256[] memory values) {
        values = new uint256[](keys.length);
        for (uint256 i; i < keys.length; ++i) values[i] = _slots[keys[i]];
    }
}

/// Floor 2: one packed one-slot record per operation, keyed by the caller, plus an event
/// (supersede also stores the successor: two slots). The view takes the registry's query shape,
/// checks the Merkle path (sorted pairs) and reads the anchor and the status records.
contract FloorPacked {
    struct Anchor { uint64 time; uint64 blockNumber; }
    struct Status { uint8 status; uint8 reason; uint64 time; address by; }
    struct Query { address issuer; bytes32 root; bytes32 leaf; bytes32[] proof; }
    struct Answer { bool proofValid; uint64 anchoredAt; uint8 status; uint8 reason; }

    mapping(address => mapping(bytes32 => Anchor)) private _anchors;
    mapping(address => mapping(bytes32 => Status)) private _statuses;
    mapping(address => mapping(bytes32 => bytes32)) private _successors;

    event Anchored(address indexed issuer, bytes32 indexed root);
    event StatusChanged(address indexed issuer, bytes32 indexed leaf, uint8 status, uint8 reason);
    event Superseded(address indexed issuer, bytes32 indexed leaf, bytes32 successor);

    function anchor(bytes32 root) external {
        _anchors[msg.sender][root] = Anchor(uint64(block.timestamp), uint64(block.number));
        emit Anchored(msg.sender, root);
    }

    function revoke(bytes32 leaf, uint8 reason) external {
        _statuses[msg.sender][leaf] = Status(2, reason, uint64(block.timestamp), msg.sender);
        emit StatusChanged(msg.sender, leaf, 2, reason);
    }

    function suspend(bytes32 leaf) external {
        _statuses[msg.sender][leaf] = Status(1, 0, uint64(block.timestamp), msg.sender);
        emit StatusChanged(msg.sender, leaf, 1, 0);
    }

    function supersede(bytes32 leaf, bytes32 successor) external {
        _statuses[msg.sender][leaf] = Status(2, 4, uint64(block.timestamp), msg.sender);
        _successors[msg.sender][leaf] = successor;
        emit Superseded(msg.sender, leaf, successor);
    }

    function verify(Query[] calldata queries) external view returns (Answer[] memory answers) {
        answers = new Answer[](queries.length);
        for (uint256 i; i < queries.length; ++i) {
            Query calldata q = queries[i];
            bytes32 node = q.leaf;
            for (uint256 j; j < q.proof.length; ++j) node = _pair(node, q.proof[j]);
            Anchor memory a = _anchors[q.issuer][q.root];
            Status memory s = _statuses[q.issuer][q.leaf];
            answers[i] = Answer(node == q.root, a.time, s.status, s.reason);
        }
    }

    function _pair(bytes32 a, bytes32 b) private pure returns (bytes32 value) {
        (bytes32 lo, bytes32 hi) = a < b ? (a, b) : (b, a);
        assembly ("memory-safe") {
            mstore(0x00, lo)
            mstore(0x20, hi)
            value := keccak256(0x00, 0x40)
        }
    }
}
