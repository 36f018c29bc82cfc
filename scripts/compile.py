#!/usr/bin/env python3
"""Compile contracts/ with the pinned solc and write the artifacts shipped in the package.

python scripts/compile.py          # write src/ecoo/artifacts/*.json
python scripts/compile.py --check  # exit 1 if the shipped artifacts differ from a fresh build
"""

import sys

from ecoo.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["compile", *sys.argv[1:]]))
