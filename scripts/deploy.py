#!/usr/bin/env python3
"""Deploy the ecoo registry to any JSON-RPC node and record it in deployments/<chainId>.json.

    ECOO_DEPLOYER_KEY=0x... python scripts/deploy.py --rpc-url http://127.0.0.1:8545
    python scripts/deploy.py --rpc-url URL --keystore deployer.json [--authority ADDRESS]
    python scripts/deploy.py --rpc-url URL --unlocked          # local dev chains only

A live deployment of the same contract on the same chain is reused, not deployed twice
(`--new` forces a new one). Same as `ecoo deploy`; see `--help`.
"""

import sys

from ecoo.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["deploy", *sys.argv[1:]]))
