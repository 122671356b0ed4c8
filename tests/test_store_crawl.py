"""Crawls into a store (moto's S3 server) and every reader of the store, end to end.

Two replica sites share their media: the Tengzhou section, and a mirror that
republishes it under another host (its own profile).  Both are crawled with
`--store s3://…` into one data folder; then the store must hold every WARC
file with its index and items, DATA/warc/ nothing; the mirror's images are
revisits of the first site's; `verify --store`, `reindex --store`,
`export --format wacz --store` and pywb replaying from S3 all work, and
pywb serves what the replica served, byte for byte.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from archive.catalogue import open_catalogue
from archive.replay import replay_url
from archive.storage import open_store
from archive.storage.s3 import S3Store
from replica.launch import ReplicaProcess, free_port
from tests.conftest import ROOT, portal_archive, read_jsonl, wait_for_server

pytestmark = pytest.mark.e2e

ARTICLES = 40
ROTATE = "ARCHIVE_WARC_MAX_SIZE=150000"  # several files per crawl


def mirror_profile(folder: Path) -> Path:
    """The Tengzhou profile as another site would republish the section: its own name and host."""
    text = (ROOT / "crawler" / "profiles" / "tengzhou.toml").read_text(encoding="utf-8")
    text = (text.replace('name = "tengzhou"', 'name = "mirror"')
            .replace("www.tengzhou.gov.cn", "www.tengzhou-mirror.example")
            .replace('"tengzhou.gov.cn"', '"tengzhou-mirror.example"'))
    path = folder / "mirror.toml"
    path.write_text(text, encoding="utf-8")
    return path


def s3_env(s3) -> dict:
    env = {**os.environ, **s3.client_environ()}
    env.pop("PORTAL_ARCHIVE_CATALOGUE", None)
    env.pop("PORTAL_ARCHIVE_STORE", None)
    return env


@pytest.fixture(scope="module")
def stored(s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("stored")
    url = f"s3://{s3.create_bucket()}/archive"
    env = s3_env(s3)
    data = root / "data"
    with ReplicaProcess(articles=ARTICLES) as first, ReplicaProcess(articles=ARTICLES) as mirror:
        results = [
            portal_archive("crawl", "--replica", first.base_url, "--data", str(data), "--store", url, "--quiet",
                           "-s", ROTATE, env=env, check=False),
            portal_archive("crawl", "--replica", mirror.base_url, "--profile", str(mirror_profile(root)),
                           "--data", str(data), "--store", url, "--quiet", "-s", ROTATE, env=env, check=False),
        ]
        items = [read_jsonl(path) for path in sorted((data / "items").glob("*.jsonl"))]
        yield {"root": root, "data": data, "url": url, "env": env, "results": results, "items": items,
               "first": first.base_url, "mirror": mirror.base_url, "store": client_store(url, s3)}


def client_store(url: str, s3) -> S3Store:
    """The store at `url`, through a client made for the test's server (the environment stays untouched)."""
    store = open_store(url)
    store._client = s3.client()
    return store


def _objects(stored) -> dict[str, int]:
    return {o.key: o.size for o in stored["store"].list()}


def test_crawls_store_every_file_and_keep_no_warc_locally(stored):
    for result in stored["results"]:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 WARC files waiting" in result.stdout
    data = stored["data"]
    assert not list((data / "warc").glob("*.warc.gz*")) and not list((data / "index").glob("*.cdxj"))
    objects = _objects(stored)
    warcs = sorted(k for k in objects if k.startswith("warc/") and k.endswith(".warc.gz"))
    assert len(warcs) >= 4
    assert {f"index/{k[5:]}.cdxj" for k in warcs} <= set(objects)
    for path in sorted((data / "items").glob("*.jsonl")):  # kept locally too
        assert objects[f"items/{path.name}"] == path.stat().st_size
    pid_names = [k.rsplit("-", 1)[-1].removesuffix(".warc.gz") for k in warcs]
    assert all(p.isdigit() for p in pid_names) and len(set(pid_names)) == 2  # one process id per crawl


def test_stored_files_pass_gzip_t_and_warcio_check(stored, tmp_path):
    store = stored["store"]
    for key in (k for k in _objects(stored) if k.endswith(".warc.gz")):
        path = store.get(key, tmp_path / Path(key).name)
        assert path.sha256 == store.stat(key).sha256
        local = tmp_path / Path(key).name
        assert subprocess.run(["gzip", "-t", str(local)]).returncode == 0
        check = subprocess.run([str(Path(sys.executable).with_name("warcio")), "check", "-v", str(local)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        local.unlink()


def test_mirror_media_are_revisits_of_the_first_sites(stored):
    first, mirror = stored["items"]
    media = [entry for item in mirror for kind in ("images", "attachments") for entry in item[kind]]
    assert len(media) > 20
    assert all(entry["warc"]["revisit"] for entry in media)
    assert not any(entry["warc"]["revisit"] for item in first for entry in item["images"])
    assert not any(item["warc"]["revisit"] for item in mirror)  # pages stay whole
    originals = {entry["digest"] for item in first for entry in item["images"] + item["attachments"]}
    assert {entry["digest"] for entry in media} <= originals


def test_verify_store_passes_and_finds_damage(stored, s3):
    result = portal_archive("verify", "--store", stored["url"], "--quiet", env=stored["env"], check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    # A copy of the archive in another bucket, one file rotted at rest and one index lost.
    copy = f"s3://{s3.create_bucket()}/archive"
    client = s3.client()
    source, _, prefix = stored["url"][5:].partition("/")
    target = copy[5:].partition("/")[0]
    keys = sorted(_objects(stored))
    for key in keys:
        client.copy_object(Bucket=target, Key=f"{prefix}/{key}", CopySource={"Bucket": source, "Key": f"{prefix}/{key}"})
    rotten = next(k for k in keys if k.endswith(".warc.gz"))
    head = client.head_object(Bucket=target, Key=f"{prefix}/{rotten}")
    body = bytearray(client.get_object(Bucket=target, Key=f"{prefix}/{rotten}")["Body"].read())
    body[len(body) // 2] ^= 0xFF
    client.put_object(Bucket=target, Key=f"{prefix}/{rotten}", Body=bytes(body), Metadata=head["Metadata"])
    lost = [k for k in keys if k.endswith(".warc.gz")][-1]
    client.delete_object(Bucket=target, Key=f"{prefix}/index/{lost[5:]}.cdxj")
    result = portal_archive("verify", "--store", copy, "--json", "--quiet", env=stored["env"], check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    messages = [(p["file"], p["message"]) for p in report["problems"]]
    assert any(file.endswith(rotten) and "stored as" in message for file, message in messages)
    assert any(file.endswith(lost) and "no CDXJ index" in message for file, message in messages)


def test_verify_store_checks_the_catalogue_holds_no_file_the_store_lacks(stored, s3):
    """A WARC file deleted from the store with its index leaves no trace in the store: the catalogue (of
    --data, or $PORTAL_ARCHIVE_CATALOGUE) still says it held it, as docs/deployment.md promises."""
    args = ["verify", "--data", str(stored["data"]), "--quiet"]
    result = portal_archive(*args, "--store", stored["url"], env=stored["env"], check=False)
    assert result.returncode == 0 and "checked against the catalogue: OK" in result.stdout, result.stdout
    copy = f"s3://{s3.create_bucket()}/archive"
    client = s3.client()
    source, _, prefix = stored["url"][5:].partition("/")
    target = copy[5:].partition("/")[0]
    keys = sorted(_objects(stored))
    gone = [k for k in keys if k.endswith(".warc.gz")][-1]
    for key in keys:
        if key not in (gone, f"index/{gone[5:]}.cdxj"):
            client.copy_object(Bucket=target, Key=f"{prefix}/{key}",
                               CopySource={"Bucket": source, "Key": f"{prefix}/{key}"})
    assert portal_archive("verify", "--store", copy, "--quiet", env=stored["env"], check=False).returncode == 0
    result = portal_archive(*args, "--store", copy, "--json", env=stored["env"], check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = [(p["file"], p["message"]) for p in json.loads(result.stdout)["problems"]]
    assert problems == [(f"{copy}/{gone}", problems[0][1])] and "the catalogue holds records" in problems[0][1]


def test_verify_store_unreachable_exits_8(stored):
    env = dict(stored["env"], AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    result = portal_archive("verify", "--store", stored["url"], env=env, check=False)
    assert result.returncode == 8 and "Error:" in result.stderr


def test_reindex_from_the_store_equals_the_live_catalogue(stored):
    rebuilt = stored["root"] / "rebuilt"
    portal_archive("reindex", "--data", str(rebuilt), "--store", stored["url"], env=stored["env"])
    assert not (rebuilt / "items").exists()  # items are in the store: none restored locally
    with open_catalogue(stored["data"], readonly=True) as live, open_catalogue(rebuilt, readonly=True) as again:
        assert live.counts()["articles"] == 2 * ARTICLES
        for table in live.TABLES:
            assert again.dump_table(table) == live.dump_table(table), table


def test_export_wacz_from_the_store_holds_the_originals_of_revisited_media(stored, tmp_path):
    out = tmp_path / "mirror.wacz"
    portal_archive("export", "--format", "wacz", "--site", "mirror", "--out", str(out), "--data",
                   str(stored["data"]), "--store", stored["url"], env=stored["env"])
    check = subprocess.run([sys.executable, "-c", "import sys; from wacz.main import main; sys.exit(main())",
                            "validate", "-f", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    import zipfile

    with zipfile.ZipFile(out) as package:
        packaged = {Path(n).name for n in package.namelist() if n.endswith(".warc.gz")}
    first_files = {e["warc"]["file"] for item in stored["items"][0] for e in item["images"]}
    mirror_media = {e["warc"]["record_id"] for item in stored["items"][1] for e in item["images"]}
    assert mirror_media and packaged & first_files  # the originals came along
    # Without --store, the files are not in DATA: a clear error, not a broken package.
    missing = portal_archive("export", "--format", "wacz", "--out", str(tmp_path / "x.wacz"), "--data",
                             str(stored["data"]), env=stored["env"], check=False)
    assert missing.returncode == 7 and "--store" in missing.stderr


def test_export_store_applies_to_wacz_only(stored, tmp_path):
    result = portal_archive("export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--data",
                            str(stored["data"]), "--store", stored["url"], env=stored["env"], check=False)
    assert result.returncode == 2 and "wacz" in result.stderr


@pytest.fixture(scope="module")
def replay_from_s3(stored):
    port = free_port()
    folder = stored["root"] / "replay-only"  # a reader's machine: nothing local but what replay makes
    process = subprocess.Popen([sys.executable, "-m", "archive", "replay", "--data", str(folder), "--port",
                                str(port), "--store", stored["url"]], env=stored["env"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base + "/", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _replayed(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        body = answer.read()
        return gzip.decompress(body) if answer.headers.get("Content-Encoding") == "gzip" else body


def _stamp(date: str) -> str:
    return "".join(ch for ch in date if ch.isdigit())[:14]


def test_pywb_replays_pages_and_media_from_s3_as_the_replica_served_them(stored, replay_from_s3):
    first, mirror = stored["items"]
    seed = next(i for i in first if "攻坚五问" in (i["title"] or ""))
    gbk = next(i for i in first if i["charset"]["declared"] == "gbk")
    for item in (seed, gbk, mirror[0]):
        served = urllib.request.urlopen(item["url"], timeout=30).read()  # the replica, still up
        stamp = _stamp(item["warc"]["date"])
        assert _replayed(replay_url(replay_from_s3, stamp, item["url"], "id_")) == served
        for entry in item["images"][:2] + item["attachments"][:1]:
            # A mirror image is a revisit: pywb follows it to the first site's record, at another URL.
            expected = urllib.request.urlopen(entry["url"], timeout=30).read()
            assert _replayed(replay_url(replay_from_s3, stamp, entry["url"], "id_")) == expected


def test_worker_command_line_with_postgresql_and_s3(s3, postgres_url, tmp_path):
    """What a worker runs: crawl --profile FILE --data WORKDIR --store URL, PORTAL_ARCHIVE_CATALOGUE set."""
    url = f"s3://{s3.create_bucket()}/national"
    env = dict(s3_env(s3), PORTAL_ARCHIVE_CATALOGUE=postgres_url)
    work = tmp_path / "work"
    with ReplicaProcess(articles=20) as replica:
        result = portal_archive("crawl", "--profile", str(ROOT / "crawler" / "profiles" / "tengzhou.toml"),
                                "--replica", replica.base_url, "--data", str(work), "--store", url, "--quiet",
                                env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (work / "catalog.sqlite").exists() and not list((work / "warc").glob("*.warc.gz"))
    with open_catalogue(work, postgres_url, readonly=True) as catalogue:
        counts = catalogue.counts()
        files = {c["file"] for c in [catalogue.capture(i) for i in range(1, counts["captures"] + 1)] if c}
    assert counts["articles"] == 20
    stored = {o.name for o in client_store(url, s3).list("warc/")}
    assert files <= stored  # every record the catalogue points at is in the store, under the same name
    assert portal_archive("verify", "--store", url, "--quiet", env=env, check=False).returncode == 0
