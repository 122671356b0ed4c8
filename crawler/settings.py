"""Scrapy settings for the archive crawler.

The defaults are polite, for the real portal.  Against a loopback host (the
replica) the spider lifts the throttle itself (see `GongyeSpider.from_crawler`).
Project settings of our own are prefixed ARCHIVE_ and documented in
`crawler.options.SETTINGS`.
"""

from crawler.options import defaults

BOT_NAME = "portal_archive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness towards the real portal.
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
# A body cut off mid-transfer is still a capture: it is archived with
# WARC-Truncated instead of being thrown away.
DOWNLOAD_FAIL_ON_DATALOSS = False
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
HTTPCACHE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# Holds each site to CONCURRENT_REQUESTS_PER_DOMAIN (Scrapy 2.19 overran it: crawler/downloader.py).
DOWNLOADER = "crawler.downloader.PoliteDownloader"

# Scrapy's, with the codings asked for limited to those every WARC tool reads: Scrapy would also ask for br
# and zstd, which warcio (`warcio check`, py-wacz's `wacz create`) cannot read with brotli 1.2 or at all.
# (A server that sends them unasked is still archived and read by portal-archive's own readers.)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en",
    "Accept-Encoding": "gzip, deflate",
}

# Capture needs the time each exchange really started (after the slot delay).
DOWNLOAD_HANDLERS = {
    "http": "crawler.capture.CaptureDownloadHandler",
    "https": "crawler.capture.CaptureDownloadHandler",
}

ITEM_PIPELINES = {
    "crawler.pipelines.problems.ProblemsPipeline": 100,
    "crawler.pipelines.media.ArticleMediaPipeline": 200,
    "crawler.pipelines.warc.WarcPipeline": 300,
    "crawler.pipelines.jsonl.JsonLinesPipeline": 400,
}

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.TruncatedRetryMiddleware": 560,
    "crawler.middlewares.RetryAfterMiddleware": 570,
    # A robots.txt that cannot be read (5xx, no answer) disallows the site, as RFC 9309 asks.
    "crawler.middlewares.RobotsUnreachableMiddleware": 540,
    # Scrapy's, in its place, keeping a page whose <base href> is no URL.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,
}
REDIRECT_MAX_TIMES = 5  # a redirect loop is given up after five hops

EXTENSIONS = {
    "crawler.extensions.progress.ProgressReport": 500,
    # Known articles and the listing's state, from the catalogue, for incremental crawls.
    "crawler.extensions.incremental.Incremental": 100,
    # Finished WARC files, their indexes and the items to the store (ARCHIVE_STORE), off the reactor thread.
    "crawler.extensions.store.StoreUploads": 600,
}
MEDIA_ALLOW_REDIRECTS = True

globals().update(defaults())
