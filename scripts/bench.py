#!/usr/bin/env python3
"""Benchmarks of ecoo on a real Anvil this script starts itself: `python scripts/bench.py [--quick]`.

The phases live in the package scripts/ecoo_bench/ (one module each; the floor contracts as
Solidity in scripts/ecoo_bench/floor/); this file is only the command.
"""

from __future__ import annotations

import sys

from ecoo_bench.main import main

if __name__ == "__main__":
    sys.exit(main())
