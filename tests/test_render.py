"""The render step: forked render processes, the in-memory release data, streamed items.json."""

from __future__ import annotations

import json

import pytest

from pipeline.build import DEFAULT_SETTINGS, BuildOptions, run_build
from pipeline.extract import open_source
from pipeline.release.data import load_release_data, write_release_data
from pipeline.site.render import render_site
from pipeline.validate.catalogue import build_catalogue
from pipeline.validate.mapping import load_profile
from pipeline.validate.problems import Report
from pipeline.workers import workers_in_use
from tests.fixtures import small_export, tree_bytes

PROJECT = DEFAULT_SETTINGS.parent


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    export = small_export(root / "export", n_items=9)
    run_build(BuildOptions(export=str(export), site_dir=root / "site"))
    return root, root / "site" / "current" / "data"


def test_any_number_of_render_processes_writes_the_same_site(release, tmp_path):
    _, data = release
    sites = {}
    for processes in (1, 2, 4):
        out = tmp_path / f"site{processes}"
        with workers_in_use(processes):
            render_site(data, out, DEFAULT_SETTINGS)
        sites[processes] = tree_bytes(out)
    assert len([p for p in sites[1] if p.startswith("items/") and p.endswith(".html")]) == 9
    assert sites[1] == sites[2] == sites[4]


def test_an_error_in_a_render_process_fails_the_render(release, tmp_path):
    _, data = release
    codes = sorted(load_release_data(data).items)
    out = tmp_path / "site"
    # The second item goes to the second process; its page's path is taken by a folder.
    (out / "items" / f"{codes[1]}.html").mkdir(parents=True)
    with workers_in_use(2), pytest.raises(IsADirectoryError):
        render_site(data, out, DEFAULT_SETTINGS)


def test_the_build_renders_from_memory_what_the_folder_holds(release, tmp_path):
    """The build hands its in-memory release data to Pelican; rendering from the folder gives
    the same site."""
    root, data = release
    from_folder = tmp_path / "from-folder"
    render_site(data, from_folder, DEFAULT_SETTINGS)
    built = tree_bytes(root / "site" / "current" / "site")
    rendered = tree_bytes(from_folder)
    pages = {
        p for p in rendered if p.endswith(".html") and not p.startswith(("data/", "pagefind/"))
    }
    assert pages and {p: rendered[p] for p in pages} == {p: built[p] for p in pages}


def test_release_data_is_streamed_in_the_same_format(tmp_path):
    export = small_export(tmp_path / "export", n_items=4)
    report = Report()
    catalogue = build_catalogue(
        open_source(str(export)), load_profile("contract"), report, lambda f, d: None
    )
    in_memory = write_release_data(tmp_path / "data", catalogue, report)
    records = [
        catalogue.items[k].model_dump(mode="json", exclude_none=True)
        for k in sorted(catalogue.items)
    ]
    expected = json.dumps(records, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    assert (tmp_path / "data" / "items.json").read_text("utf-8") == expected
    loaded = load_release_data(tmp_path / "data")
    assert list(in_memory.items) == list(loaded.items) == sorted(catalogue.items)
    assert in_memory.items == loaded.items and in_memory.departments == loaded.departments
    assert (tmp_path / "data" / "life_events.json").read_text("utf-8").startswith("[\n {")


def test_empty_record_lists_are_written_as_before(tmp_path):
    from pipeline.release.data import write_records_json

    write_records_json(tmp_path / "none.json", {})
    assert (tmp_path / "none.json").read_text("utf-8") == "[]\n"


def test_item_pages_macros_see_the_site_url(release, tmp_path):
    """The item and item-history pages import their macros without context (made once, not per
    page): links they make must still start with SITEURL."""
    _, data = release
    conf = tmp_path / "publish.py"
    conf.write_text(
        f"import sys\nsys.path.insert(0, {str(PROJECT)!r})\nfrom pelicanconf import *\n"
        "SITEURL = 'https://approvals.example.test'\n",
        encoding="utf-8",
    )
    out = tmp_path / "site"
    render_site(data, out, conf)
    pages = sorted(out.glob("items/*.html")) + sorted(out.glob("changes/items/*.html"))
    assert len(pages) == 18
    for page in pages:
        html = page.read_text("utf-8")
        assert 'href="/' not in html and 'src="/' not in html, page
        assert '<li><a href="https://approvals.example.test/">首页</a></li>' in html  # crumbs


def test_share_indices_cover_every_value_once_in_runs():
    from pipeline.site.generator import share_indices

    assert share_indices(9, 2) == [[0, 2, 4, 6, 8], [1, 3, 5, 7]]  # small lists: one by one
    for count, shares in ((20000, 2), (20001, 3), (5, 4), (1, 1), (0, 2)):
        taken = share_indices(count, shares)
        assert sorted(i for share in taken for i in share) == list(range(count))
    first, second = share_indices(20000, 2)
    assert first[:65] == list(range(64)) + [128] and second[:2] == [64, 65]
