"""Services the tests start themselves: PostgreSQL 15, redis-server and an S3 endpoint.

A pytest plugin (registered in `tests/conftest.py`).  Each service runs for
the whole session in a temporary folder of its own, on 127.0.0.1 and a
free port, and is stopped at the end, its process group killed if it will
not stop; each test that asks gets a clean slate:

    def test_x(postgres_url):   # postgresql://postgres@127.0.0.1:PORT/db_3, a new database, dropped after
    def test_y(redis_url):      # redis://127.0.0.1:PORT/0, flushed before the test
    def test_z(s3_url):         # s3://test-4, a new bucket; AWS_ENDPOINT_URL and keys set for the test

The session fixtures `postgres`, `redis` and `s3` are the service objects
(`url`, `stop()`, `start()`, `restart()`), for tests that take a service
away under running workers.  A stopped service is started again before the
next test that uses it.  Data survives `restart()`: PostgreSQL and Redis
(append-only file) keep theirs on disk, and moto, which keeps buckets in
memory only, records every request and replays them after a restart.

The binaries come from Debian (`make test` installs `postgresql` and
`redis-server`) and from the `test` extra (moto); when one is missing the
tests that need it fail with one line saying what to install.
`bench/search.py --backend postgresql` uses `PostgresService` outside pytest too.
"""

from __future__ import annotations

import getpass
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from archive.children import death_signal

HOST = "127.0.0.1"
PG_BIN = Path(os.environ.get("PORTAL_ARCHIVE_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class ServiceError(RuntimeError):
    """A service cannot be installed, started or stopped; the message says why (and shows its log)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Service:
    """One server process in a folder of its own; subclasses say how to run and probe it."""

    name = "service"
    stop_signal = signal.SIGTERM
    death_signal = signal.SIGKILL

    def __init__(self, port: int | None = None, workdir: Path | None = None) -> None:
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"portal-archive-{self.name}-"))
        self.log_path = self.workdir / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

    # What subclasses provide.
    @property
    def url(self) -> str:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        """True once the server answers."""
        raise NotImplementedError

    def check_installed(self) -> None:
        """Raise ServiceError naming what to install when a binary is missing."""

    def prepare(self) -> None:
        """Once, before the first start (e.g. initdb)."""

    def after_start(self) -> None:
        """After every start, once ready."""

    def run_as(self) -> str | None:
        """The user to run the server as (None: ours)."""
        return None

    def environ(self) -> dict[str, str]:
        return dict(os.environ)

    # The life cycle.
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server and wait until it answers; ServiceError (with its log) when it does not."""
        if self.running:
            return
        self.check_installed()
        if not (self.workdir / ".prepared").exists():
            self.prepare()
            (self.workdir / ".prepared").touch()
        user = self.run_as()
        with open(self.log_path, "ab") as log:
            log.write(f"--- start: {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.workdir, env=self.environ(), start_new_session=True,
                user=user, group=pwd.getpwnam(user).pw_gid if user else None, extra_groups=[] if user else None,
                preexec_fn=death_signal(self.death_signal))  # after the uid change, which clears it
        deadline = time.monotonic() + timeout
        while not self._probe():
            if self.process.poll() is not None:
                self._fail(f"exited with code {self.process.returncode} while starting")
            if time.monotonic() > deadline:
                self._fail(f"did not answer on {HOST}:{self.port} within {timeout:.0f} s")
            time.sleep(0.05)
        self.after_start()

    def _probe(self) -> bool:
        try:
            return self.ready()
        except OSError:
            return False

    def _fail(self, what: str) -> None:
        self.kill()
        raise ServiceError(f"{self.name} {what}; its log ({self.log_path}) ends:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server cleanly (its data stays); kill its process group if it will not stop."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.process.send_signal(self.stop_signal)
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """Kill the whole process group at once (no clean shutdown) and reap the server."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already
        self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop, then start on the same port: URLs stay valid and data is kept."""
        self.stop()
        self.start()

    def ensure_running(self) -> None:
        """Start the server again if a test stopped it (or it died)."""
        if not self.running:
            self.kill()  # reap a server that died
            self.start()

    def close(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self.stop()
        finally:
            if self._own_dir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PostgresService(Service):
    """Debian's PostgreSQL 15: a cluster of its own, TCP on 127.0.0.1 only, no unix socket.

    As root it runs as the `postgres` user (PostgreSQL refuses root), else as
    the current user, who is also the database superuser; trust
    authentication, which is safe on loopback in a throwaway cluster.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back clients, checkpoint, exit
    death_signal = signal.SIGQUIT  # "immediate" shutdown, should the test process die

    def __init__(self, port: int | None = None, workdir: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        super().__init__(port, workdir)
        self.user = "postgres" if os.geteuid() == 0 else getpass.getuser()
        # Tests need no durability against a machine crash; a clean stop still writes everything.
        self.settings = {"fsync": "off", "full_page_writes": "off", **(settings or {})}
        self._databases = itertools.count(1)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def url(self) -> str:
        """The maintenance database (`postgres`)."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://{self.user}@{HOST}:{self.port}/{name}"

    def run_as(self) -> str | None:
        return self.user if os.geteuid() == 0 else None

    def environ(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        return {**env, "LC_ALL": "C.UTF-8"}

    def check_installed(self) -> None:
        missing = [name for name in ("initdb", "postgres", "pg_isready") if not (PG_BIN / name).exists()]
        if missing:
            raise ServiceError(f"PostgreSQL 15 is not installed ({PG_BIN}/{missing[0]} is missing): "
                               "`make test` installs it, or apt-get install postgresql")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                raise ServiceError("the postgres user is missing: apt-get install postgresql creates it") from None

    def prepare(self) -> None:
        if self.run_as():
            os.chmod(self.workdir, 0o700)
            shutil.chown(self.workdir, self.user, self.user)
        result = subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", self.user, "--locale=C.UTF-8", "-E", "UTF8",
             "--auth=trust", "--no-sync"],
            capture_output=True, text=True, cwd=self.workdir, env=self.environ(), user=self.run_as(),
            group=self.run_as(), extra_groups=[] if self.run_as() else None)
        if result.returncode != 0:
            raise ServiceError(f"initdb failed ({result.returncode}):\n{result.stderr[-3000:]}")

    def command(self) -> list[str]:
        options = {"listen_addresses": HOST, "unix_socket_directories": "", **self.settings}
        return [str(PG_BIN / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                *[arg for key, value in options.items() for arg in ("-c", f"{key}={value}")]]

    def ready(self) -> bool:
        return subprocess.run(
            [str(PG_BIN / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-U", self.user, "-d", "postgres",
             "-t", "1"], env=self.environ(), stdin=subprocess.DEVNULL).returncode == 0

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.database_url(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A new, empty database (db_1, db_2...); returns its URL."""
        name = f"db_{next(self._databases)}"
        self.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisService(Service):
    """Debian's redis-server on 127.0.0.1, persisting to an append-only file (so a restart keeps jobs)."""

    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def check_installed(self) -> None:
        if shutil.which("redis-server") is None:
            raise ServiceError("redis-server is not installed: `make test` installs it, or apt-get install redis-server")

    def command(self) -> list[str]:
        return ["redis-server", "--bind", HOST, "--port", str(self.port), "--dir", str(self.workdir),
                "--save", "", "--appendonly", "yes", "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", ""]

    def call(self, *words: str) -> bytes:
        """One command over RESP; returns the raw first line of the reply."""
        payload = f"*{len(words)}\r\n".encode() + b"".join(
            f"${len(word.encode())}\r\n{word}\r\n".encode() for word in words)
        with socket.create_connection((HOST, self.port), timeout=5) as sock:
            sock.sendall(payload)
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.strip()

    def ready(self) -> bool:
        return self.call("PING") == b"+PONG"

    def flush(self) -> None:
        if self.call("FLUSHALL") != b"+OK":
            raise ServiceError("redis FLUSHALL failed")


class S3Service(Service):
    """moto's S3 server on 127.0.0.1.

    moto keeps buckets in memory; it records every request here and replays
    the recording after a restart, so a restart keeps the objects.
    """

    name = "s3"
    region = "us-east-1"
    access_key, secret_key = "testing", "testing"

    def __init__(self, port: int | None = None, workdir: Path | None = None) -> None:
        super().__init__(port, workdir)
        self.recording = self.workdir / "requests.jsonl"
        self._buckets = itertools.count(1)

    @property
    def url(self) -> str:
        """The endpoint (AWS_ENDPOINT_URL)."""
        return f"http://{HOST}:{self.port}"

    def check_installed(self) -> None:
        try:
            import moto.server  # noqa: F401
        except ImportError as error:
            raise ServiceError(f"moto's server cannot be imported ({error}): `make test` installs it, "
                               "or pip install -e '.[test]'") from None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]

    def environ(self) -> dict[str, str]:
        return {**os.environ, "MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": str(self.recording)}

    def client_environ(self) -> dict[str, str]:
        """What a client (boto3, pywb, a worker process) needs to reach this endpoint."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": self.region}

    def _get(self, path: str, method: str = "GET") -> int:
        request = urllib.request.Request(self.url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def ready(self) -> bool:
        return self._get("/moto-api/") == 200

    def after_start(self) -> None:
        if self.recording.exists() and self.recording.stat().st_size:
            if self._get("/moto-api/recorder/replay-recording", "POST") != 200:
                self._fail("could not replay its recorded requests")

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region)

    def create_bucket(self) -> str:
        """A new, empty bucket (test-1, test-2...); returns its name."""
        name = f"test-{next(self._buckets)}"
        self.client().create_bucket(Bucket=name)
        return name


def _started(request: pytest.FixtureRequest, service: Service) -> Service:
    request.addfinalizer(service.close)  # first, so a start that fails half-way is cleaned up too
    try:
        service.start()
    except ServiceError as error:
        pytest.fail(str(error), pytrace=False)
    return service


def _running(service: Service) -> None:
    try:
        service.ensure_running()
    except ServiceError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def postgres(request) -> PostgresService:
    """A PostgreSQL 15 server for the session (`url`: its maintenance database)."""
    return _started(request, PostgresService())


@pytest.fixture
def postgres_url(postgres: PostgresService):
    """The URL of a new, empty database, dropped after the test."""
    _running(postgres)
    url = postgres.create_database()
    yield url
    _running(postgres)
    postgres.drop_database(url)


def rows_only_role(postgres: PostgresService, url: str, role: str) -> str:
    """The URL of `url`'s database as a new login `role` that may read and write the catalogue's rows (schema
    portal_archive) and nothing else: no CREATE on the database, no ALTER of the tables."""
    import psycopg

    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN")
        conn.execute(f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC; GRANT USAGE ON SCHEMA portal_archive'
                     f" TO {role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA portal_archive TO"
                     f" {role}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA portal_archive TO {role}")
    return url.replace(f"{postgres.user}@", f"{role}@", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogue_url(request, tmp_path):
    """A new, empty catalogue on each backend in turn: a SQLite file's URL, then a PostgreSQL database's."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared-catalogue.sqlite"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def redis(request) -> RedisService:
    """A redis-server for the session."""
    return _started(request, RedisService())


@pytest.fixture
def redis_url(redis: RedisService) -> str:
    """redis://127.0.0.1:PORT/0, emptied before the test."""
    _running(redis)
    redis.flush()
    return redis.url


@pytest.fixture(scope="session")
def s3(request) -> S3Service:
    """An S3 endpoint (moto) for the session (`url`: the endpoint)."""
    return _started(request, S3Service())


@pytest.fixture
def s3_url(s3: S3Service, monkeypatch) -> str:
    """s3://BUCKET, a new bucket; the AWS_* variables point at the endpoint for the test (and its children)."""
    _running(s3)
    for key, value in s3.client_environ().items():
        monkeypatch.setenv(key, value)
    return f"s3://{s3.create_bucket()}"
