"""Pelican settings for local builds (``approvals build`` passes the release-data folder)."""

from pathlib import Path

from pipeline.site.filters import JINJA_FILTERS  # noqa: F401 - a Pelican setting

HERE = Path(__file__).resolve().parent

SITENAME = "宝山区公开审批"
SITESUBTITLE = "行政审批事项办事指南、办理情况与开放数据"
AREA_NAME = "上海市宝山区"
SITEURL = ""
RELATIVE_URLS = False
DEFAULT_LANG = "zh-CN"
TIMEZONE = "Asia/Shanghai"
DEFAULT_DATE = "fs"

PATH = str(HERE / "content")
THEME = str(HERE / "theme")
PAGE_PATHS = ["pages"]
ARTICLE_PATHS = ["articles"]
STATIC_PATHS: list[str] = []
PAGE_URL = "pages/{slug}.html"
PAGE_SAVE_AS = "pages/{slug}.html"

PLUGINS = ["pipeline.site"]
APPROVALS_RELEASE_DATA = ""
APPROVALS_CONTRACT_DOCS = str(HERE / "docs")

# Our generator writes the home page and every data page; Pelican's blog pages are off.
DIRECT_TEMPLATES: list[str] = []
PAGINATED_TEMPLATES: dict = {}
PAGINATION_PATTERNS = [
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
]
AUTHOR_SAVE_AS = CATEGORY_SAVE_AS = TAG_SAVE_AS = ""
AUTHORS_SAVE_AS = CATEGORIES_SAVE_AS = TAGS_SAVE_AS = ARCHIVES_SAVE_AS = ""
FEED_ALL_ATOM = FEED_ALL_RSS = CATEGORY_FEED_ATOM = TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = None
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False

JINJA_ENVIRONMENT = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "autoescape": True,
    "auto_reload": False,
    "extensions": [],
}
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.toc": {"permalink": False},
    },
    "output_format": "html5",
}
