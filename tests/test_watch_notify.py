"""Alerts (archive.watch.notify): a local SMTP server and a local webhook receive them; secrets never leak."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from archive.catalogue.changes import Change
from archive.watch.after_crawl import WatchConfig, after_crawl
from archive.watch.diff import char_diff
from archive.watch.feeds import FeedLinks
from archive.watch.notify import Summary, redact, send, should_notify, shown
from archive.watch.select import WatchedChange
from replica.server import QuietHTTPServer
from replica.launch import free_port

SECRET = "s3cret-Pa55"
LINKS = FeedLinks("http://archive.test:8001/", "http://archive.test:8090/")


class Webhook:
    """A JSON webhook on 127.0.0.1 that records what it is sent (500s when `fail` is set)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.fail = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(500 if hook.fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 (aiosmtpd) that accepts the login watcher / SECRET."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            messages.append(envelope)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=isinstance(auth_data, LoginPassword) and auth_data.login == b"watcher"
                          and auth_data.password == SECRET.encode(), handled=False)  # aiosmtpd answers 535

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(), authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    yield controller.port, messages
    controller.stop()


def summary(failed: bool = False) -> Summary:
    edited = WatchedChange(
        Change("edited", 7, "http://portal.test/a/7.html", "龙阳镇召开推进会", "2026-04-02T01:00:00.000000Z", "C2", 2,
               ["title", "body_text"]),
        old={"title": "龙阳镇召开会议", "body_text": "压缩22.9%以上。", "flags": "[]", "version": 1},
        new={"title": "龙阳镇召开推进会", "body_text": "压缩23.4%以上。", "flags": '["hijacked_city_name"]',
             "version": 2, "capture_date": "2026-04-02T01:00:00.000000Z"})
    edited.title_diff = char_diff(edited.old["title"], edited.new["title"])
    edited.body_diff = char_diff(edited.old["body_text"], edited.new["body_text"])
    withdrawn = WatchedChange(Change("withdrawn", 9, "http://portal.test/a/9.html", "已删除的文章",
                                     "2026-04-02T01:00:01.000000Z", "C2", how="404"),
                              old={"title": "已删除的文章", "version": 1, "flags": "[]"})
    return Summary("C2", "failed" if failed else "ok", failed, ("no list page could be read",) if failed else (),
                   counts={"new": 0, "edited": 1, "withdrawn": 1}, items=[edited, withdrawn],
                   flagged={"hijacked_city_name": 1}, links=LINKS)


def test_webhook_receives_the_summary_with_titles_links_and_flags(webhook):
    url = f"json://watcher:{SECRET}@127.0.0.1:{webhook.port}/hook"
    delivery = send([url], summary())
    assert delivery.sent == [f"json://watcher:****@127.0.0.1:{webhook.port}/hook"] and not delivery.failed
    [request] = webhook.received
    assert request["path"] == "/hook"
    assert base64.b64decode(request["headers"]["Authorization"].split()[1]).decode() == f"watcher:{SECRET}"
    title, message = request["body"]["title"], request["body"]["message"]
    assert "1 edited, 1 withdrawn" in title and "hijacked_city_name" in title
    assert "龙阳镇召开推进会" in message and "已删除的文章" in message
    assert "body: 压缩2«-2.9»«+3.4»%以上。" in message  # the character diff, marked
    assert "http://archive.test:8001/-/article/7?version=2#changes" in message
    assert "http://archive.test:8090/archive/20260402010000/http://portal.test/a/7.html" in message
    assert "hijacked_city_name" in message and request["body"]["type"] == "warning"


def test_email_over_smtp_with_login(smtp):
    port, messages = smtp
    url = f"mailto://watcher:{SECRET}@127.0.0.1:{port}?from=archive@example.org&to=researcher@example.org"
    delivery = send([url], summary())
    assert len(delivery.sent) == 1, delivery.failed
    [envelope] = messages
    assert envelope.rcpt_tos == ["researcher@example.org"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "1 edited" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "龙阳镇召开推进会" in text and "[修改 edited] 龙阳镇召开推进会" in text


def test_failed_targets_are_counted_and_say_why_without_secrets(smtp, webhook, caplog, capsys):
    port, messages = smtp
    webhook.fail = True
    dead = free_port()
    urls = [f"json://watcher:{SECRET}@127.0.0.1:{dead}/hook",  # nobody listens
            f"json://watcher:{SECRET}@127.0.0.1:{webhook.port}/hook",  # answers 500
            f"mailto://watcher:wrong-{SECRET}@127.0.0.1:{port}?from=a@example.org&to=b@example.org",  # bad login
            f"nosuchscheme://{SECRET}@example.org"]  # not an apprise URL
    with caplog.at_level(logging.DEBUG):
        delivery = send(urls, summary())
    assert not delivery.sent and len(delivery.failed) == 4 and not messages
    assert "not a notification URL" in delivery.failed[3]
    everything = "\n".join(delivery.failed) + caplog.text + "".join(capsys.readouterr())
    assert SECRET not in everything
    assert all(why.split(": ", 1)[1] for why in delivery.failed), delivery.failed


@pytest.mark.parametrize("on,total,failed,expected", [
    (("changes",), 0, False, False), (("changes",), 2, False, True), (("changes",), 0, True, False),
    (("failure",), 0, True, True), (("failure",), 2, False, False), (("changes", "failure"), 0, True, True),
    (("always",), 0, False, True),
])
def test_when_to_notify(on, total, failed, expected):
    found = Summary("C", "failed" if failed else "ok", failed, counts={"new": total, "edited": 0, "withdrawn": 0})
    assert should_notify(on, found) is expected


def test_a_failed_crawl_says_so():
    text = summary(failed=True)
    assert "FAILED" in text.title() and "no list page could be read" in text.body()


def test_shown_and_redacted_forms_hide_passwords_and_tokens():
    token = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    urls = [f"mailtos://me:{SECRET}@smtp.example.org?to=a@example.org", f"tgram://123456789:{token}/12345"]
    assert all(SECRET not in shown(url) and token not in shown(url) for url in urls)
    text = redact(f"login failed for me:{SECRET} on {urls[1]} ({token})", urls)
    assert SECRET not in text and token not in text


def test_config_merges_options_settings_and_environment(tmp_path):
    settings = {"ARCHIVE_NOTIFY": "json://127.0.0.1:9/a json://127.0.0.1:9/b", "ARCHIVE_NOTIFY_ON": "failure",
                "ARCHIVE_UI_URL": "https://archive.example.org/", "DOWNLOAD_DELAY": "2"}
    config = WatchConfig.resolve(settings, notify=["json://127.0.0.1:9/a"], feeds_dir=tmp_path)
    assert config.notify == ("json://127.0.0.1:9/a", "json://127.0.0.1:9/b")
    assert config.notify_on == ("failure",) and config.ui_url == "https://archive.example.org/"
    assert settings == {"DOWNLOAD_DELAY": "2"}  # Scrapy never sees the watch settings
    with pytest.raises(ValueError, match="sometimes"):
        WatchConfig.resolve({"ARCHIVE_NOTIFY_ON": "sometimes"})


def test_after_crawl_reports_a_feed_folder_it_cannot_write(tmp_path):
    (tmp_path / "data").mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    lines = []
    done = after_crawl(tmp_path / "data", "C", status="ok", failed=False, reasons=(),
                       config=WatchConfig(feeds_dir=blocker / "feeds"), log=lines.append)
    assert done.feed_error and not done.feeds and lines and "NOT written" in lines[0]


def test_schedule_passes_alert_urls_to_each_crawl_through_its_environment(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from archive.cli import main

    started = []

    class FakeCrawl:
        def __init__(self, args, env=None, **kwargs):
            started.append((args, env))

        def wait(self):
            return 0

        def poll(self):
            return 0

    monkeypatch.setattr("archive.cli.schedule.subprocess.Popen", FakeCrawl)
    monkeypatch.setenv("PORTAL_ARCHIVE_NOTIFY", "json://127.0.0.1:9/already")
    result = CliRunner().invoke(main, ["schedule", "--every", "1s", "--max-runs", "1", "--data", str(tmp_path),
                                       "--notify", f"json://u:{SECRET}@127.0.0.1:9/hook", "--notify-on", "failure",
                                       "--feeds-dir", str(tmp_path / "feeds"), "--", "--replica", "http://x"])
    assert result.exit_code == 0, result.output
    [(args, env)] = started
    assert SECRET not in " ".join(args) and SECRET not in result.output
    assert args[-4:] == ["--feeds-dir", str(tmp_path / "feeds"), "--replica", "http://x"]
    assert args[args.index("--notify-on") + 1] == "failure"
    assert env["PORTAL_ARCHIVE_NOTIFY"].split() == [f"json://u:{SECRET}@127.0.0.1:9/hook", "json://127.0.0.1:9/already"]


def test_a_broken_catalogue_still_gets_the_outcome_out(tmp_path, webhook):
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    lines = []
    done = after_crawl(data, "C9", status="failed", failed=True, reasons=("WARC writer error",),
                       config=WatchConfig(notify=(f"json://127.0.0.1:{webhook.port}/hook",), notify_on=("failure",),
                                          feeds_dir=tmp_path / "feeds"), log=lines.append)
    assert done.feed_error and done.notified and len(done.delivery.sent) == 1
    [request] = webhook.received
    assert "FAILED" in request["body"]["title"] and "WARC writer error" in request["body"]["message"]


def test_bad_watch_options_are_usage_errors(tmp_path):
    from click.testing import CliRunner

    from archive.cli import main

    runner = CliRunner()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(main, ["crawl", "--data", str(tmp_path / "d"), "--feeds-dir", str(blocker)])
    assert result.exit_code == 2 and "is a file" in result.output
    result = runner.invoke(main, ["crawl", "--data", str(tmp_path / "d"), "--notify-on", "sometimes"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["crawl", "--data", str(tmp_path / "d"), "-s", "ARCHIVE_NOTIFY_ON=sometimes"])
    assert result.exit_code == 2 and "sometimes" in result.output
    # A link setting with a control character made the end of the crawl a traceback (feeds, alerts lost).
    for setting in ("ARCHIVE_UI_URL=http://127.0.0.1:8001/\x01", "ARCHIVE_REPLAY_URL=javascript:alert(1)"):
        result = runner.invoke(main, ["crawl", "--data", str(tmp_path / "d"), "-s", setting])
        assert result.exit_code == 2 and "is not an http(s) URL" in result.output, setting
    # The same links given to `changes` (its feeds) were a traceback in the feed's XML (exit 1).
    for option, link in (("--ui-url", "http://127.0.0.1:8001/\x01"), ("--replay-url", "javascript:alert(1)")):
        result = runner.invoke(main, ["changes", "--data", str(tmp_path), "--format", "atom", option, link])
        assert result.exit_code == 2 and "is not an http(s) URL" in result.output, option
    result = runner.invoke(main, ["changes", "--data", str(tmp_path), "--json", "--format", "atom"])
    assert result.exit_code == 2 and "contradict" in result.output
    assert not (tmp_path / "d").exists()  # nothing started


def test_a_webhook_that_redirects_is_not_sent(webhook):
    """apprise followed a 301 as a GET without the message, and the alert read "sent"."""
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.send_response(301)
            self.send_header("Location", f"http://127.0.0.1:{webhook.port}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = QuietHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        delivery = send([f"json://127.0.0.1:{server.server_address[1]}/hook"], summary(), timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert delivery.sent == [] and len(delivery.failed) == 1


def test_a_receiver_that_trickles_does_not_hold_the_crawl(webhook):
    """A receiver answering a byte at a time kept the crawl's process alive for as long as it went on."""
    import time

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = QuietHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    started = time.monotonic()
    try:
        delivery = send([f"json://127.0.0.1:{server.server_address[1]}/hook"], summary(), timeout=1)
    finally:
        server.shutdown = lambda: None  # its handler thread trickles on; the server is left to the test's end
    assert time.monotonic() - started < 60 and delivery.sent == [] and "no answer within" in delivery.failed[0]


def test_targets_split_at_white_space_and_at_commas_that_start_a_url():
    from archive.watch.after_crawl import _split

    assert _split("mailto://u:p@h/?to=a@x.cn,b@x.cn json://127.0.0.1:1/x,form://127.0.0.1:2/ , ") == [
        "mailto://u:p@h/?to=a@x.cn,b@x.cn", "json://127.0.0.1:1/x", "form://127.0.0.1:2/"]


def test_archived_text_never_acts_on_a_terminal_or_in_a_message():
    from archive.watch.diff import char_diff, marks, printable

    hostile = "标题\x1b[2J\x07\u202e反转\x9b"
    assert printable(hostile) == "标题\ufffd[2J\ufffd\ufffd反转\ufffd"
    assert "\x1b" not in marks(char_diff("标题", hostile))
    item = summary().items[0]
    item.new["title"] = hostile
    assert "\x1b" not in Summary("C", "ok", False, (), counts={"new": 0, "edited": 1, "withdrawn": 0},
                                 items=[item], flagged={}, links=LINKS).body()


def test_a_since_with_an_offset_is_the_same_moment_in_utc():
    """--since 2026-12-03T08:00:00+08:00 was compared as text with UTC times ending in Z: 8 hours off."""
    from archive.watch.select import iso_moment

    assert iso_moment("2026-12-03T08:00:00+08:00") == iso_moment("2026-12-03T00:00:00Z") == \
        "2026-12-03T00:00:00.000000Z"
    assert iso_moment("2026-12-03") == "2026-12-03"
    # Written as the catalogue writes its times: ...:20Z sorted after every change of that second ('.' < 'Z').
    assert "2026-12-03T09:56:20.123098Z" >= iso_moment("2026-12-03T09:56:20Z")
    assert "2026-12-03T09:56:20.528063Z" >= iso_moment("2026-12-03T17:56:20.5+08:00")
    assert "2026-12-03T09:56:20.100000Z" >= iso_moment("2026-12-03T09:56:20")  # no zone: UTC


def test_a_huge_title_is_cut_in_the_message():
    """A hijacked page's 10,000-character title (or title edit) was copied whole into every message."""
    from archive.watch.diff import char_diff
    from archive.watch.notify import SHOWN

    item = summary().items[0]
    long_old, long_new = "旧" * 10_000, "旧" * 5_000 + "新" * 5_000
    item.new["title"], item.old["title"] = long_new, long_old
    item.title_diff = char_diff(long_old, long_new)
    item.body_diff = char_diff("甲" * 10_000, "乙" * 10_000)
    body = Summary("C", "ok", False, (), counts={"new": 0, "edited": 1, "withdrawn": 0}, items=[item], flagged={},
                   links=LINKS).body()
    lines = body.splitlines()
    assert max(len(line) for line in lines) < SHOWN + 20, max(len(line) for line in lines)
    title_line = next(line for line in lines if line.startswith("  title: "))
    assert title_line.count("«") == title_line.count("»") >= 1  # a mark the cut opened is closed
    assert "http://portal.test/a/7.html" in body  # links are never cut
