"""The ecoo web service: chambers issue through an authenticated API, customs verify through a
public API and pages; a background worker anchors pending certificates in batches.

``create_app`` is imported on first use, so that the parts without a web page (settings, store,
chambers; the ``ecoo chamber`` commands) do not load Flask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
