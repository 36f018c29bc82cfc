"""The ecoo web service: chambers issue through an authenticated API, customs verify through a
public API and pages; a background worker anchors pending certificates in batches."""

from .app import create_app

__all__ = ["create_app"]
