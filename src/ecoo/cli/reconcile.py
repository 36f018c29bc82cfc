"""``ecoo reconcile``: compare the service's database with the chain, and repair it from the chain."""

from __future__ import annotations

import click

from .output import EXIT_ERROR, Output, handle_errors, json_option
from .service import service_settings


@click.command("reconcile")
@click.option("--check", "check_only", is_flag=True, help="Report what differs; change nothing.")
@click.option("--rpc-url", envvar="ECOO_RPC_URL", default=None)
@json_option
@handle_errors
def reconcile_command(check_only: bool, rpc_url: str | None, as_json: bool) -> None:
    """Compare every certificate's status in the database with the registry's, at the newest
    confirmed block; repair what differs from the chain (unless --check). Exits non-zero when a
    divergence remains."""
    from ..service.reconcile import Reconciler
    from ..service.wiring import build_services

    services = build_services(service_settings(rpc_url, False, worker=False))
    try:
        report = Reconciler(services.store, services.chain.registry, services.follower).run(repair=not check_only)
    finally:
        services.store.close()
    lines = [f"checked {report.checked} certificate(s) at block {report.block}: {len(report.found)} differ from the chain"]
    lines += [f"  {d.number} (id {d.id}): database {d.database}, chain {d.chain}" for d in report.found]
    if report.repaired:
        lines.append(f"repaired from the chain; {len(report.remaining)} still differ")
    Output(as_json).result(report.to_json(), lines)
    if report.remaining:
        raise SystemExit(EXIT_ERROR)
