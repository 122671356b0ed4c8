"""The servers the tests start themselves (tests/services.py): start, use, restart with data kept, stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest
import redis as redis_client

from tests.services import HOST, PostgresService, RedisService, S3Service, ServiceError


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def _listen_addresses(pid: int) -> set[str]:
    """The local addresses the process `pid` (and its children) listen on, from /proc."""
    inodes = set()
    for proc in [pid, *_children(pid)]:
        try:
            for fd in os.listdir(f"/proc/{proc}/fd"):
                target = os.readlink(f"/proc/{proc}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/net/{table}") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                    found.add(fields[1])
    with open("/proc/net/unix") as lines:
        for line in list(lines)[1:]:
            fields = line.split()
            if fields[6] in inodes and len(fields) > 7:
                found.add("unix:" + fields[7])
    return found


def _children(pid: int) -> list[int]:
    result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(word) for word in result.stdout.split()]


LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def _only_loopback(service) -> None:
    addresses = _listen_addresses(service.process.pid)
    assert addresses, "found no listening socket"
    assert {address.split(":")[0] for address in addresses} == {LOOPBACK}, addresses
    assert all(address.endswith(f":{service.port:04X}") for address in addresses)


def test_postgres_query_restart_keeps_data(postgres, postgres_url):
    assert postgres_url.startswith(f"postgresql://{postgres.user}@127.0.0.1:{postgres.port}/db_")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
        assert conn.execute("SHOW lc_ctype").fetchone()[0] == "C.UTF-8"
        conn.execute("CREATE TABLE t (word text)")
        conn.execute("INSERT INTO t VALUES ('人民政府')")
        if os.geteuid() == 0:  # PostgreSQL refuses root: it runs as the postgres user
            assert conn.execute("SELECT current_user").fetchone()[0] == "postgres"
    _only_loopback(postgres)
    old_pid = postgres.process.pid
    postgres.restart()
    assert postgres.process.pid != old_pid
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT word FROM t").fetchall() == [("人民政府",)]


def test_postgres_gives_each_test_a_new_database(postgres_url):
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert tables == 0  # the table of the test before is not here


def test_postgres_stop_then_next_test_finds_it_running(postgres, postgres_url):
    postgres.stop()
    assert not postgres.running and not _listening(postgres.port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres_url, connect_timeout=2)


def test_postgres_started_again(postgres, postgres_url):
    assert postgres.running  # the test before stopped it
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_redis_query_restart_keeps_data(redis, redis_url):
    assert redis_url == f"redis://127.0.0.1:{redis.port}/0"
    client = redis_client.Redis.from_url(redis_url)
    client.rpush("jobs", "site-1", "site-2")
    _only_loopback(redis)
    redis.restart()
    client = redis_client.Redis.from_url(redis_url)
    assert client.lrange("jobs", 0, -1) == [b"site-1", b"site-2"]  # the append-only file kept them
    redis.stop()
    with pytest.raises(redis_client.ConnectionError):
        client.ping()


def test_redis_is_flushed_for_each_test(redis_url):
    client = redis_client.Redis.from_url(redis_url)
    assert client.dbsize() == 0


def test_s3_bucket_restart_keeps_objects(s3, s3_url):
    import boto3

    bucket = s3_url.removeprefix("s3://")
    assert os.environ["AWS_ENDPOINT_URL"] == s3.url
    client = boto3.client("s3")  # from the environment the fixture set, as a worker would
    client.put_object(Bucket=bucket, Key="warc/a.warc.gz", Body=b"\x1f\x8b" + bytes(range(256)) * 100)
    _only_loopback(s3)
    s3.restart()
    body = boto3.client("s3").get_object(Bucket=bucket, Key="warc/a.warc.gz")["Body"].read()
    assert body == b"\x1f\x8b" + bytes(range(256)) * 100
    s3.stop()
    with pytest.raises(Exception, match="(?i)connect"):
        boto3.client("s3", config=_no_retries()).list_objects_v2(Bucket=bucket)


def _no_retries():
    from botocore.config import Config

    return Config(retries={"max_attempts": 1}, connect_timeout=2)


def test_s3_gives_each_test_a_new_bucket(s3, s3_url):
    import boto3

    bucket = s3_url.removeprefix("s3://")
    assert boto3.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert len(boto3.client("s3").list_buckets()["Buckets"]) >= 2  # the last test's bucket came back


def test_a_missing_binary_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setattr("tests.services.PG_BIN", tmp_path / "nowhere")
    with pytest.raises(ServiceError, match=r"PostgreSQL 15 is not installed .* `make test` installs it"):
        PostgresService(workdir=tmp_path).start()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServiceError, match="redis-server is not installed: `make test` installs it"):
        RedisService(workdir=tmp_path).start()


def test_a_server_that_cannot_start_shows_its_log(tmp_path):
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        service = RedisService(port=taken.getsockname()[1], workdir=tmp_path)
        with pytest.raises(ServiceError, match=r"(?s)redis exited with code \d+ while starting.*log.*ends:.*"):
            service.start()
    assert service.process is None


def test_a_server_that_ignores_stop_is_killed_with_its_group(tmp_path):
    class Stubborn(S3Service):
        name = "stubborn"

        def command(self):
            # A child that ignores SIGTERM and a grandchild in the same group.
            code = textwrap.dedent(f"""
                import signal, subprocess, sys, time
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                sys.argv = ["moto", "-H", "{HOST}", "-p", "{self.port}"]
                from moto.server import main
                main()
            """)
            return [sys.executable, "-c", code]

    service = Stubborn(workdir=tmp_path)
    service.start()
    group = service.process.pid
    grandchildren = _children(group)
    assert grandchildren
    service.stop(timeout=1)
    assert not _listening(service.port)
    assert service.process is None
    assert not os.path.exists(f"/proc/{group}")  # reaped
    assert _eventually(lambda: all(_zombie(pid) for pid in grandchildren))  # killed (left for init to reap)


def test_no_process_left_when_the_test_process_dies(tmp_path):
    """kill -9 of the process that started a server takes the server down with it."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.getcwd())!r})
        from tests.services import RedisService
        service = RedisService(workdir={str(tmp_path)!r})
        service.start()
        print(service.port, service.process.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        port, pid = map(int, parent.stdout.readline().split())
        assert _listening(port)
        parent.kill()
        parent.wait()
        assert _eventually(lambda: _zombie(pid) and not _listening(port))
    finally:
        parent.kill()


def _eventually(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _zombie(pid: int) -> bool:
    """True when `pid` is dead (gone, or a zombie not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
