"""``python -m ecoo``: the same as the ``ecoo`` console script."""

from .cli import main

raise SystemExit(main())
