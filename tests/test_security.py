"""What comes from the portal never escapes the data folder or the crawl's scope."""

from __future__ import annotations

import hashlib

import pytest

from crawler.pipelines.media import ArticleMediaPipeline
from crawler.urls import canonical_url, host_allowed
from tests.test_pipelines import project_crawler


@pytest.mark.parametrize("content_type", ["image/jpeg", "../../etc/passwd", "text/html; name=/etc/x", None])
def test_media_is_named_by_digest_only(tmp_path, content_type):
    crawler = project_crawler(ARCHIVE_DATA_DIR=str(tmp_path), ARCHIVE_MEDIA_FILES=True)
    pipeline = ArticleMediaPipeline(crawler=crawler)
    body = b"\xff\xd8 not really a jpeg"
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    relative = pipeline._store(body, digest, content_type)
    stored = (tmp_path / "media" / relative).resolve()
    assert stored.is_file() and stored.read_bytes() == body
    assert (tmp_path / "media").resolve() in stored.parents
    assert stored.name.startswith(hashlib.sha256(body).hexdigest())
    assert ".." not in relative and not relative.startswith("/")


@pytest.mark.parametrize("url", [
    "http://evil.example/x.jpg", "http://10.0.0.1/admin", "http://192.168.1.1/", "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/", "//evil.example/a.pdf", "javascript:alert(1)",
    "http://www.tengzhou.gov.cn.evil.example/a.jpg",
])
def test_out_of_scope_hosts_are_refused(url):
    assert not host_allowed(url, ["www.tengzhou.gov.cn", "127.0.0.1"])


def test_in_scope_hosts_are_allowed():
    assert host_allowed("http://www.tengzhou.gov.cn/xwzx/gyjj/a.jpg", ["tengzhou.gov.cn"])
    assert host_allowed("http://127.0.0.1:8000/xwzx/gyjj/a.jpg", ["127.0.0.1"])


def test_tracking_parameters_and_fragments_are_dropped():
    tracking = ["utm_source", "from", "spm"]
    base = "http://127.0.0.1/xwzx/gyjj/202103/t20210315_1.html"
    for suffix in ("?utm_source=wx", "#content", "?from=timeline&spm=a.b", "?utm_source=wx#comment"):
        assert canonical_url(base + suffix, tracking) == base
    assert canonical_url(base + "?page=2", tracking) == base + "?page=2"


def test_replay_binds_loopback_by_default():
    from click.testing import CliRunner

    from archive.cli.replay import command

    params = {p.name: p.default for p in command.params}
    assert params["host"] == "127.0.0.1"
    assert "127.0.0.1" in CliRunner().invoke(command, ["--help"]).output
