"""STUB (owner: engineer "alerts"; replace this docstring): the customs service's background work
(the watcher of the trust list's registries and the webhook deliveries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def start(objects: Any) -> Callable[[], None]:
    """Start the background work for ``objects`` (CustomsObjects); returns the function that stops it."""

    def stop() -> None:
        return None

    return stop
