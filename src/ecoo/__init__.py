"""ecoo: a registry for electronic certificates of origin anchored on an EVM chain."""

from .errors import EcooError

__all__ = ["EcooError", "__version__"]
__version__ = "0.1.0"
