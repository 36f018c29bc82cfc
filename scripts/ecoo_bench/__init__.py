"""Benchmarks of ecoo on a real Anvil the run starts itself (issue #5), one module per phase.

    python scripts/bench.py [--quick] [--json PATH] [--repeats N] [--workers 2] [--threads 8]

Measures, in one run:

1. gas, from receipts (views: eth_estimateGas), of the registry and of two *floor* contracts the
   script compiles itself (a bare ``mapping(bytes32 => uint256)`` write; a one-slot packed record
   plus an event), so that every figure is also shown as a ratio to the floor;
2. issuance end to end (validate, hash, sign, batch, anchor, store) through the library and the
   HTTP API, with a per-stage breakdown and cProfile summaries naming the slowest functions;
3. verification through the library (sequential, batches) and the HTTP API (single documents at
   several concurrencies, the batch endpoint), latency percentiles, JSON-RPC requests per
   verification counted on the node (Anvil logs every request it serves);
4. the service's memory (RSS of all its gunicorn processes) under the verification load;
5. growth: verification, lookup and list-query latency with 1k, 10k and 100k certificates in the
   store (rows beyond the first real ones are inserted directly into the ``certificates`` table).

Timing figures are min / median / max over ``--repeats`` runs. The service runs under gunicorn in
its own processes on 127.0.0.1; the load generator is asyncio + aiohttp (a dependency of web3).
``--quick`` is a smoke run with tiny sizes (CI); its figures mean nothing. The JSON (default
``.ecoo/bench.json``) holds the machine, the versions and every figure.
"""
