"""Publishing overrides: only what publishing changes (Pelican's convention)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pelicanconf import *  # noqa: E402,F403

SITEURL = "https://approvals.example.gov.cn"
RELATIVE_URLS = False
# The no-JavaScript search form goes to the search API, which nginx proxies to
# `approvals serve` (deploy/nginx.conf, deploy/approvals-search.service).
APPROVALS_SEARCH_API = "/api/search"
