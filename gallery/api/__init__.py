"""The gallery's REST API: thin DRF views, one module per resource (items, versions, comments,
reports, collections and partners), their output serializers, the request fields they share, and
the page and error shapes every endpoint answers with. URLs are in gallery/api_urls.py."""
