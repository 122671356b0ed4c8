"""Page objects: pure extraction from a response, no crawl state."""
