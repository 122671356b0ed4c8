"""The Scrapy side: spiders, page objects, items, pipelines and extensions."""

__version__ = "0.1.0"
