"""ECOO_MAX_BLOCK_AGE: the customs service does not believe a node whose newest block is older (a
node that has stopped syncing answers VALID for a certificate revoked since)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ecoo.customs.config import CustomsSettings
from ecoo.errors import ConfigurationError
from tests.support.chain import node_rpc
from tests.support.customs import IssuingChamber, customs_env, make_customs


def test_the_setting_is_read_and_checked(tmp_path: Path) -> None:
    env = customs_env(tmp_path, tmp_path / "trust-list.json")
    assert CustomsSettings.from_env(env).max_block_age is None  # default: no limit
    assert CustomsSettings.from_env(env | {"ECOO_MAX_BLOCK_AGE": "120"}).max_block_age == 120.0
    for bad in ("0", "-5", "nan"):
        with pytest.raises(ConfigurationError, match="ECOO_MAX_BLOCK_AGE"):
            CustomsSettings.from_env(env | {"ECOO_MAX_BLOCK_AGE": bad})


def test_a_node_behind_makes_the_documents_unavailable_until_it_has_a_new_block(
    issuing_chamber: IssuingChamber, trust_list_file: Path, tmp_path: Path
) -> None:
    harness = make_customs(tmp_path, issuing_chamber, trust_list_file, max_block_age=1.0)
    try:
        time.sleep(2.0)  # the node mines on demand: nothing sent meanwhile, its head is > 1 s old
        answer = harness.client.post("/api/v1/verify", json=issuing_chamber.documents[0], headers=harness.officer)
        assert answer.status_code == 503 and answer.json["verdict"] == "UNAVAILABLE"
        message = next(c["message"] for c in answer.json["checks"] if c["name"] == "anchored")
        assert "the node is behind: its newest block is" in message and "more than the 1 s allowed" in message

        node_rpc(issuing_chamber.node, "evm_mine")  # a new block: the node's answers are fresh again
        answer = harness.client.post("/api/v1/verify", json=issuing_chamber.documents[0], headers=harness.officer)
        assert answer.status_code == 200 and answer.json["verdict"] == "VALID"
    finally:
        harness.close()
