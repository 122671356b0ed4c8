"""A spider that fetches given URLs through the project's capture pipelines.

    scrapy runspider tests/capture_spider.py -a urls=URL,URL -a crawl_id=ID
"""

import scrapy


class CaptureSpider(scrapy.Spider):
    name = "capture"

    def __init__(self, urls: str, crawl_id: str = "capture", **kwargs):
        super().__init__(**kwargs)
        self.urls = urls.split(",")
        self.crawl_id = crawl_id
        self.start_url = self.urls[0]

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

    def parse(self, response):
        self.crawler.stats.inc_value("capture/ok")

    def failed(self, failure):
        self.crawler.stats.inc_value("capture/failed")
