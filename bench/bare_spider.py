"""The baseline: a bare Scrapy spider over the same pages, parsel and a JSONL feed.

It fetches what our crawl fetches (list pages, articles, images, attachments,
robots.txt) but keeps nothing but five fields per article.

    scrapy runspider bench/bare_spider.py -a start=URL -o out.jsonl
"""

import re

import scrapy

PAGER = re.compile(r"createPageHTML\((\d+),\s*(\d+)")
MEDIA = re.compile(r"\.(jpg|jpeg|png|gif|pdf|docx?|xlsx?)$", re.I)


class BareSpider(scrapy.Spider):
    name = "bare"
    custom_settings = {
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "ROBOTSTXT_OBEY": True,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "FEED_EXPORT_ENCODING": "utf-8",
    }

    def __init__(self, start: str, **kwargs):
        super().__init__(**kwargs)
        self.start_url = start

    async def start(self):
        yield scrapy.Request(self.start_url, callback=self.parse_list)

    def parse_list(self, response):
        for href in response.css("ul.list-ul li a::attr(href)").getall():
            yield response.follow(href, callback=self.parse_article)
        pager = PAGER.search(response.text)
        if pager:
            count, current = int(pager.group(1)), int(pager.group(2))
            if current + 1 < count:
                yield response.follow(f"index_{current + 1}.html", callback=self.parse_list)

    def parse_article(self, response):
        for href in response.css("img::attr(src), a::attr(href)").getall():
            if MEDIA.search(href) and not href.startswith(("http", "/images")):
                yield response.follow(href, callback=self.ignore)
        yield {
            "url": response.url,
            "title": response.css("h1::text, td.title::text").get(),
            "date": response.xpath("//meta[@name='PubDate']/@content").get(),
            "source": response.xpath("//meta[@name='ContentSource']/@content").get(),
            "body": " ".join(response.css(".TRS_Editor ::text, #zoom ::text").getall()),
        }

    def ignore(self, response):
        return None
