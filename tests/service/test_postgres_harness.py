"""The throwaway PostgreSQL harness (tests/postgres.py): starts, isolates, speaks PostgreSQL, cleans up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy

from tests.support.postgres import PostgresError, PostgresServer, libpq_url, sweep_stale_dirs

pytestmark = pytest.mark.postgres  # starts its own PostgreSQL servers: left out of `make test-fast`

HERE = Path(__file__).resolve().parents[1] / "support"  # postgres.py, imported by the child


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    instance = PostgresServer()
    try:
        instance.start()
    except Exception as exc:  # noqa: BLE001 - any start failure is a test failure, never a skip
        pytest.fail(f"could not start PostgreSQL: {exc}")
    yield instance
    instance.stop()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_server_answers_with_real_postgresql(server: PostgresServer) -> None:
    assert server.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert server.url.endswith("/ecoo")
    engine = sqlalchemy.create_engine(server.url)
    try:
        with engine.connect() as connection:
            version = connection.execute(sqlalchemy.text("SELECT version()")).scalar_one()
            database = connection.execute(sqlalchemy.text("SELECT current_database()")).scalar_one()
            encoding = connection.execute(sqlalchemy.text("SHOW server_encoding")).scalar_one()
    finally:
        engine.dispose()
    assert "PostgreSQL" in version
    assert database == "ecoo"
    assert encoding == "UTF8"


def test_each_new_database_is_fresh_and_isolated(server: PostgresServer) -> None:
    first, second = server.new_database(), server.new_database()
    assert first != second
    engines = [sqlalchemy.create_engine(url) for url in (first, second)]
    try:
        with engines[0].begin() as connection:
            connection.execute(sqlalchemy.text("CREATE TABLE certificates (id integer PRIMARY KEY)"))
            connection.execute(sqlalchemy.text("INSERT INTO certificates VALUES (1)"))
        assert sqlalchemy.inspect(engines[0]).has_table("certificates")
        assert not sqlalchemy.inspect(engines[1]).has_table("certificates")
    finally:
        for engine in engines:
            engine.dispose()


def test_new_database_from_a_prepared_template(server: PostgresServer) -> None:
    template_url = server.new_database("template")
    with psycopg.connect(libpq_url(template_url), autocommit=True) as connection:
        connection.execute("CREATE TABLE schema_marker (version integer)")
        connection.execute("INSERT INTO schema_marker VALUES (7)")
    template = template_url.rsplit("/", 1)[1]
    copy_url = server.new_database(template=template)
    with psycopg.connect(libpq_url(copy_url)) as connection:
        assert connection.execute("SELECT version FROM schema_marker").fetchall() == [(7,)]


def test_for_update_skip_locked_with_two_connections(server: PostgresServer) -> None:
    url = libpq_url(server.new_database())
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE jobs (id integer PRIMARY KEY)")
        setup.execute("INSERT INTO jobs SELECT generate_series(1, 3)")
    claim = "SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    with psycopg.connect(url) as worker_a, psycopg.connect(url) as worker_b:
        worker_b.execute("SET lock_timeout = '5s'")  # a missing SKIP LOCKED fails fast instead of hanging
        assert worker_a.execute(claim).fetchone() == (1,)  # transaction open, row 1 locked
        assert worker_b.execute(claim).fetchone() == (2,)  # skips the locked row instead of waiting
        worker_a.rollback()
        worker_b.rollback()
        assert worker_b.execute(claim).fetchone() == (1,)


def test_stop_leaves_no_process_or_directory() -> None:
    server = PostgresServer().start()
    pid, port, directory = server.pid, server.port, server.directory
    assert pid is not None and port is not None and directory is not None
    connection = psycopg.connect(server.libpq_url)  # an open client session too: fast shutdown ends it
    try:
        connection.execute("SELECT 1")
        processes = [pid, *_children(pid)]
        assert len(processes) > 2  # postmaster, checkpointer, writers, this backend...
        server.stop()
    finally:
        connection.close()
    assert not [p for p in processes if _alive(p)]
    assert not directory.exists()
    assert not _port_open(port)
    assert not server.running
    server.stop()  # idempotent


def test_server_dies_with_a_killed_test_process() -> None:
    script = (
        "import sys, time\n"
        "from postgres import PostgresServer\n"
        "s = PostgresServer().start()\n"
        "print(s.pid, s.port, s.directory, flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True) as child:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        pid, port, directory = int(line[0]), int(line[1]), Path(line[2])
        processes = [pid, *_children(pid)]
        assert _alive(pid)
        child.send_signal(signal.SIGKILL)  # no atexit, no finalizer: only PR_SET_PDEATHSIG can act
        child.wait()
    deadline = time.monotonic() + 30
    while [p for p in processes if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in processes if _alive(p)]
    assert not _port_open(port)
    assert directory.exists()  # left behind by the kill ...
    sweep_stale_dirs(directory.parent)
    assert not directory.exists()  # ... and removed by the next session's start


def test_missing_binaries_fail_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ECOO_PG_BIN", str(tmp_path))
    with pytest.raises(PostgresError, match="ECOO_PG_BIN"):
        PostgresServer().start()
