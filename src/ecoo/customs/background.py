"""The customs service's background work: the watcher of the trust list's registries (every
``watch_interval`` seconds), the webhook deliveries (every second) and, with a customs key, the
recovery of declarations' on-chain records (every ``watch_interval`` seconds,
:mod:`.record_recovery`), each in a thread of its own so that a slow receiver never delays an
alert, nor a slow chain a delivery.

:func:`start` is called by the app factory when ``settings.background`` is true; the function it
returns stops the threads (each finishes the pass it is in; a pass is one transaction per range,
delivery or record step, so a stop in between loses nothing: the cursor, the delivery log and the
records' states say where to go on).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .declaration_records import sender_options
from .record_recovery import RecordRecovery
from .watch import Watcher
from .webhook_repository import WebhookRepository
from .webhooks import Deliverer

if TYPE_CHECKING:
    from .wiring import CustomsObjects

__all__ = ["DELIVERY_INTERVAL", "start"]

log = logging.getLogger(__name__)

#: Seconds between the passes over due webhook deliveries.
DELIVERY_INTERVAL = 1.0
#: Seconds a stop waits for each thread's pass to end.
STOP_TIMEOUT = 30.0


def _loop(name: str, stopping: threading.Event, work: Callable[[], Any], interval: float) -> None:
    while not stopping.is_set():
        try:
            work()
        except Exception:  # noqa: BLE001 - the loop outlives any one pass (the next pass retries)
            log.exception("%s: the pass failed", name)
        stopping.wait(interval)


def start(objects: CustomsObjects) -> Callable[[], None]:
    """Start the watcher, the deliverer and the records' recovery for ``objects``; returns the
    function that stops them."""
    settings = objects.settings
    watcher = Watcher(objects.db, objects.registries, confirmations=settings.confirmations, timeout=settings.rpc_timeout)
    deliverer = Deliverer(
        WebhookRepository(objects.db),
        max_attempts=settings.webhook_max_attempts,
        allow_private=settings.webhook_allow_private,
    )
    stopping = threading.Event()
    threads = [
        threading.Thread(
            target=_loop, args=("watcher", stopping, watcher.run_once, settings.watch_interval), name="ecoo-customs-watcher"
        ),
        threading.Thread(
            target=_loop, args=("webhooks", stopping, deliverer.run_once, DELIVERY_INTERVAL), name="ecoo-customs-webhooks"
        ),
    ]
    if objects.signer is not None:
        recovery = RecordRecovery(objects.db, objects.signer, objects.registries.sender, **sender_options(settings))
        threads.append(
            threading.Thread(
                target=_loop,
                args=("records", stopping, recovery.run_once, settings.watch_interval),
                name="ecoo-customs-records",
            )
        )
    for thread in threads:
        thread.daemon = True  # never keeps the process alive; stop() ends them cleanly
        thread.start()

    def stop() -> None:
        stopping.set()
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(STOP_TIMEOUT)

    return stop
