"""The report: targets met or missed, and docs/benchmarks.md rendered from the figures."""

from __future__ import annotations

from typing import Any

from .common import TARGETS
from .gas import customs_gas_table
from .library import LIBRARY_STAGES

# -- the report --------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _mmm(fig: dict[str, Any], digits: int = 0) -> str:
    return f"{_fmt(fig['min'], digits)} / **{_fmt(fig['median'], digits)}** / {_fmt(fig['max'], digits)}"


def _split(row: dict[str, Any]) -> str:
    """How the service's CPU time divided between its two busiest processes, per run (e.g. 50/50)."""
    parts = []
    for cpu in row["service_cpu_seconds_per_process"]:
        top = cpu[:2]
        total = sum(top) or 1.0
        parts.append("/".join(f"{100 * c / total:.0f}" for c in top))
    return ", ".join(parts)


def _runs(row: dict[str, Any]) -> str:
    return f"{row['repeats']}" + (" (time budget)" if row["cut_by_time_budget"] else "")


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []

    def add(name: str, required: str, measured: float, met: bool, miss: str) -> None:
        out.append(
            {"target": name, "required": required, "measured": round(measured, 3), "met": met, "miss": "" if met else miss}
        )

    lib = results["issuance"]["library"]
    largest = lib[str(max(int(k) for k in lib))]
    rate = largest["per_second"]["median"]
    add(
        f"issuance, library, {largest['certificates']:,}-certificate batch",
        "≥ 3,000/s",
        rate,
        rate >= TARGETS["issuance_library_10k_per_s"],
        f"{TARGETS['issuance_library_10k_per_s'] / rate:.1f}× too slow",
    )
    seq = results["verification"]["library"]["sequential"]
    calls = seq["rpc_per_verification"].get("eth_call", 0)
    # Two since issue 10: the status checks and the customs utilisation, each one eth_call.
    add(
        "eth_call per verification (single: status + utilisation)",
        "2",
        calls,
        calls == 2 and seq["rpc_per_verification"]["total"] == 2,
        f"{calls}",
    )
    batch = results["verification"]["library"]["batches"]
    per = batch["rpc_per_certificate"]["total"]
    add(f"JSON-RPC requests per certificate in batches of {batch['batch_size']}", "< 1", per, per < 1, f"{per}")
    rate = seq["per_second"]["median"]
    add("verification, library, sequential", "≥ 1,000/s", rate, rate >= 1_000, f"{1_000 / rate:.1f}× too slow")
    rate = batch["per_second"]["median"]
    add("verification, library, batches", "≥ 5,000/s", rate, rate >= 5_000, f"{5_000 / rate:.1f}× too slow")
    c16 = results["verification"]["http"]["single"].get("16")
    if c16:
        rate = c16["per_second"]["median"]
        add("verification, HTTP, concurrency 16", "≥ 500/s", rate, rate >= 500, f"{500 / rate:.1f}× too slow")
        p99 = c16["p99"]["median"]
        add("verification, HTTP, concurrency 16, p99", "≤ 50 ms", p99, p99 <= 50, f"{p99 / 50:.1f}× too slow")
    rate = results["verification"]["http"]["batch"]["per_second"]["median"]
    add("verification, HTTP batch endpoint", "≥ 3,000/s", rate, rate >= 3_000, f"{3_000 / rate:.1f}× too slow")
    check = results["gas"].get("customs", {}).get("utilisation_check")
    if check:
        add(
            "gas of a customs utilisation record (first or later)",
            f"≤ {check['limit']:,}",
            check["max_measured"],
            check["met"],
            f"{check['max_measured'] - check['limit']:,} over",
        )
    rss = results["memory"]["peak_rss_sum_mb"]
    add("service RSS under verification load", "≤ 200 MB", rss, rss <= 200, f"{rss - 200:.0f} MB over")
    return out


def render(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    lines = [
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, Linux {m['kernel']}; "
        f"Python {v['python']}, web3 {v['packages']['web3']}, {v['anvil']}, eth-keys backend {v['eth_keys_backend']}; "
        f"ecoo {v['ecoo_commit']}; mode {results['mode']}, {results['plan']['repeats']} repeat(s); "
        f"{results['wall_seconds']:.0f} s.",
        "",
        "### Gas (receipts; views: eth_estimateGas) — min / **median** / max",
        "",
        "| operation | ecoo | floor: bare mapping write | floor: packed slot + event | ecoo ÷ bare | ecoo ÷ packed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["gas"]["operations"].items():
        lines.append(
            f"| {name} | {_mmm(row['ecoo'])} | {_fmt(row['floor_bare']['median'])} | {_fmt(row['floor_packed_event']['median'])} "
            f"| {row['ratio_to_bare']:.2f} | {row['ratio_to_packed_event']:.2f} |"
        )
    if "customs" in results["gas"]:
        lines += [
            "",
            "### Customs records: gas (receipts) beside the floor (intrinsic + calldata + the storage writes it must make)",
            "",
            *customs_gas_table(results["gas"]["customs"]),
        ]
    lines += [
        "",
        "### Issuance (end to end: validate, hash, sign, batch, anchor, store) — certificates/s, min / **median** / max",
        "",
        "| path | certificates | runs | per second | slowest stage (share) |",
        "|---|---:|---:|---:|---|",
    ]
    for size, row in results["issuance"]["library"].items():
        slow = row["slowest_stage"]
        lines.append(
            f"| library (`CertificateIssuer.issue` + files) | {int(size):,} | {_runs(row)} | {_mmm(row['per_second'])} "
            f"| {slow} ({row['stage_share'][slow]:.0%}) |"
        )
    for size, row in results["issuance"]["http"].items():
        lines.append(
            f"| HTTP `POST /certificates/batch` ({row['request_size']:,}/request, {row['request_concurrency']} in flight) "
            f"until all ISSUED | {int(size):,} | {_runs(row)} | "
            f"{_mmm(row['per_second'])} | accepting {row['accept_seconds']['median']:.1f} s, anchoring tail "
            f"{row['anchoring_tail_seconds']['median']:.1f} s |"
        )
    biggest = results["issuance"]["library"][max(results["issuance"]["library"], key=int)]
    lines += [
        "",
        f"Library stages at {biggest['certificates']:,} certificates (median share of the time, rate of that stage alone):",
        "",
    ]
    lines += ["| stage | share | stage alone, per second |", "|---|---:|---:|"]
    for key, label in LIBRARY_STAGES:
        lines.append(f"| {key}: {label} | {biggest['stage_share'][key]:.1%} | {_fmt(biggest['stage_per_second'][key])} |")
    lines += [
        "",
        "### Verification — per second and latency (ms), min / **median** / max",
        "",
        "| path | per second | p50 | p95 | p99 | JSON-RPC requests per certificate | service CPU split between workers, per run |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    lib = results["verification"]["library"]
    seq, bat = lib["sequential"], lib["batches"]

    def rpc(counts: dict[str, float]) -> str:
        return ", ".join(f"{k} {val:g}" for k, val in counts.items() if k != "total") or "0"

    lines.append(
        f"| library, sequential single documents | {_mmm(seq['per_second'])} | {_mmm(seq['p50'], 2)} | {_mmm(seq['p95'], 2)} "
        f"| {_mmm(seq['p99'], 2)} | {rpc(seq['rpc_per_verification'])} | |"
    )
    lines.append(
        f"| library, batches of {bat['batch_size']} (latency per batch) | {_mmm(bat['per_second'])} | {_mmm(bat['p50'], 1)} "
        f"| {_mmm(bat['p95'], 1)} | {_mmm(bat['p99'], 1)} | {rpc(bat['rpc_per_certificate'])} | |"
    )
    http = results["verification"]["http"]
    for conc, row in http["single"].items():
        lines.append(
            f"| HTTP `POST /verify`, concurrency {conc} | {_mmm(row['per_second'])} | {_mmm(row['p50'], 1)} | {_mmm(row['p95'], 1)} "
            f"| {_mmm(row['p99'], 1)} | {rpc(row['rpc_per_verification'])} | {_split(row)} |"
        )
    row = http["batch"]
    lines.append(
        f"| HTTP `POST /verify/batch`, {row['batch_size']} per request, concurrency {row['concurrency']} (latency per request) "
        f"| {_mmm(row['per_second'])} | {_mmm(row['p50'], 1)} | {_mmm(row['p95'], 1)} | {_mmm(row['p99'], 1)} "
        f"| {rpc(row['rpc_per_certificate'])} | {_split(row)} |"
    )
    mem = results["memory"]
    lines += [
        "",
        f"### Memory: service ({mem['processes']} processes) peak RSS under the verification load "
        f"**{mem['peak_rss_sum_mb']:.0f} MB** summed RSS, {mem['peak_pss_sum_mb']:.0f} MB PSS "
        f"(idle {mem['rss_idle_mb']:.0f} MB RSS; per-process high-water marks "
        f"{', '.join(f'{x:.0f}' for x in mem['vmhwm_per_process_mb'])} MB)",
        "",
        "What one interpreter's RSS is made of (MB added by each import, in this order): "
        + ", ".join(f"{name} {mb:g}" for name, mb in mem["import_footprint_mb"].items()),
        "",
        "### Growth — p50 latency in ms (median of repeats) by certificates in the store",
        "",
    ]
    growth = results["growth"]
    sizes = [str(s) for s in growth["sizes"]]
    lines.append("| query | " + " | ".join(f"{int(s):,}" for s in sizes) + " | largest ÷ smallest |")
    lines.append("|---|" + "---:|" * (len(sizes) + 1))
    for name, by_size in growth["queries"].items():
        cells = " | ".join(f"{by_size[s]['p50']['median']:.2f}" for s in sizes)
        lines.append(f"| {name} | {cells} | {growth['p50_ratio_largest_to_smallest'][name]:.2f} |")
    lines += customs_rows(results)
    lines += [
        "",
        "### Targets",
        "",
        "| target | required | measured (median) | met | miss |",
        "|---|---|---:|---|---|",
    ]
    for t in results["targets"]:
        lines.append(
            f"| {t['target']} | {t['required']} | {t['measured']:,.4g} | {'yes' if t['met'] else '**no**'} | {t['miss']} |"
        )
    if results.get("warning"):
        lines.insert(0, f"**WARNING: {results['warning']}: these figures mix two versions.**\n")
    return "\n".join(lines)


# -- customs (issue #10) -----------------------------------------------------------------------


def customs_rows(results: dict[str, Any]) -> list[str]:
    """The customs section: declarations through the customs service's API, with and without the
    customs key, and their JSON-RPC requests by method and registry ([] when the phase did not run)."""
    c = results.get("customs")
    if not c:
        return []
    spread = ", ".join(f"{r['certificates_per_declaration']} on chain {r['label']}" for r in c["registries"])
    lines = [
        "",
        f"### Customs: a declaration of {c['certificates_per_declaration']} certificates from {len(c['registries'])} registries "
        f"({spread}; a line each), `POST /api/v1/declarations` one at a time, {c['declarations_per_repeat']} per repeat "
        f"— latency (ms) and per second, min / **median** / max; "
        + (
            f"nodes mine a block every {c['block_time_seconds']:g} s"
            if c.get("block_time_seconds")
            else "Anvil mines each transaction at once"
        ),
        "",
        "| customs key | declarations/s | p50 | p95 | p99 | JSON-RPC requests per declaration |",
        "|---|---:|---:|---:|---:|---|",
    ]

    def rpc(counts: dict[str, float]) -> str:
        return f"**{counts['total']:g}**: " + ", ".join(f"{k} {v:g}" for k, v in counts.items() if k != "total" and v)

    for name, label in (("without_key", "none (verify, read utilisation, decide, store)"), ("with_key", "yes (+ records)")):
        row = c[name]
        lines.append(
            f"| {label} | {_mmm(row['per_second'], 2)} | {_mmm(row['p50'])} | {_mmm(row['p95'])} | {_mmm(row['p99'])} "
            f"| {rpc(row['rpc_per_declaration'])} |"
        )
    records = c["records"]
    lines.append(
        f"| the records alone (with − without) | | {records['p50_ms']:,.0f} ({records['p50_share']:.0%} of p50) | | "
        f"| {rpc(records['rpc_per_declaration'])} ({records['transactions_per_declaration']} transactions) |"
    )
    lines += ["", "JSON-RPC requests per declaration by registry:", ""]
    lines += ["| registry (chain id) | without key | with key |", "|---|---|---|"]
    for label in c["without_key"]["rpc_per_declaration_by_registry"]:
        lines.append(
            f"| {label} | {rpc(c['without_key']['rpc_per_declaration_by_registry'][label])} "
            f"| {rpc(c['with_key']['rpc_per_declaration_by_registry'][label])} |"
        )
    profile = c["profile_with_key"]
    lines += [
        "",
        f"One declaration with the key, in process under cProfile ({profile['wall_seconds']:.2f} s wall; cumulative share):",
        "",
        "| function | share |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {share:.1%} |" for name, share in profile["named_cumulative_share"].items()]
    return lines


def render_customs(results: dict[str, Any]) -> str:
    """The report of ``--only customs``: the machine and the customs section."""
    m, v = results["machine"], results["versions"]
    head = (
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, Linux {m['kernel']}; "
        f"Python {v['python']}, web3 {v['packages']['web3']}, {v['anvil']}; ecoo {v['ecoo_commit']}; "
        f"mode {results['mode']}, {results['plan']['repeats']} repeat(s); {results['wall_seconds']:.0f} s."
    )
    return "\n".join([head, *customs_rows(results)])
