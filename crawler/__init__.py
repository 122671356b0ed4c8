"""The Scrapy side: spiders, page objects, items, pipelines and extensions."""
