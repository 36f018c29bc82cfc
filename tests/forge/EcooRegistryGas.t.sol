// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {EcooRegistry} from "../../contracts/EcooRegistry.sol";
import {RevocationReason} from "../../contracts/EcooRegistryTypes.sol";
import {RegistryFixture} from "./RegistryFixture.sol";

/// @notice The operations of scripts/gas_report.py, five times each on fresh hashes, for
/// `forge test --match-contract Gas --gas-report --isolate` (README, "Gas"). With `--isolate`
/// every top-level call is its own transaction, so the figures are receipt gas like Anvil's.
contract EcooRegistryGasTest is RegistryFixture {
    uint256 internal constant REPEATS = 5;

    function _hash(string memory what, uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode(what, i));
    }

    function test_gas_deploy() public {
        new EcooRegistry(admin, authority);
    }

    function test_gas_accredit_and_suspend_issuer() public {
        for (uint256 i = 0; i < REPEATS; ++i) {
            address key = makeAddr(string.concat("chamber-", vm.toString(i)));
            vm.prank(authority);
            registry.accreditIssuer(key, "DE", "Handelskammer Hamburg", "WCF-DE-0001", bytes32(0));
            vm.prank(authority);
            registry.suspendIssuer(key);
        }
    }

    function test_gas_anchor() public {
        for (uint256 i = 0; i < REPEATS; ++i) {
            vm.prank(issuer);
            registry.anchor(_hash("root", i));
        }
    }

    function test_gas_revoke() public {
        for (uint256 i = 0; i < REPEATS; ++i) {
            vm.prank(issuer);
            registry.revoke(_hash("revoke", i), RevocationReason.Fraud);
            vm.prank(authority);
            registry.revokeFor(issuer, _hash("revokeFor", i), RevocationReason.Fraud);
        }
    }

    function test_gas_supersede_suspend_lift() public {
        for (uint256 i = 0; i < REPEATS; ++i) {
            vm.startPrank(issuer);
            registry.supersede(_hash("old", i), _hash("new", i));
            registry.suspendCertificate(_hash("suspend", i));
            registry.suspendCertificate(_hash("lift", i));
            registry.liftCertificateSuspension(_hash("lift", i));
            vm.stopPrank();
        }
    }

    function test_gas_customs_records() public {
        address customs = makeAddr("customs-nl");
        vm.prank(authority);
        registry.grantCustoms(customs, "NL");
        for (uint256 i = 0; i < REPEATS; ++i) {
            bytes32 leaf = _hash("customs", i);
            bytes32 declaration = _hash("declaration", i);
            vm.startPrank(customs);
            registry.recordReceipt(issuer, leaf, declaration);
            registry.recordUtilisation(issuer, leaf, 1, 12_000, 2_000, declaration); // first: fixes certified
            registry.recordUtilisation(issuer, leaf, 1, 12_000, 3_000, declaration); // later
            registry.recordRejection(issuer, leaf, 4, declaration);
            vm.stopPrank();
            address other = makeAddr(string.concat("customs-", vm.toString(i)));
            vm.startPrank(authority);
            registry.grantCustoms(other, "BE");
            registry.revokeCustoms(other);
            vm.stopPrank();
        }
    }
}
