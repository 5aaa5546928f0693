"""Search: documents, the jieba tokenizer, the Whoosh index (incremental, deterministic, facets,
pinyin, coverage), synonyms, related items, the command and the HTTP endpoint.

Built once per module from the bundled demo export (its JSON has the release data's shape), so
the file runs in seconds; the relevance set is in ``test_search_relevance.py``."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import threading
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from whoosh import fields, query
from whoosh import index as whoosh_index

from pipeline.errors import BadSearchRequest, ConfigurationError
from pipeline.gates.privacy import check_search_privacy
from pipeline.search import documents, server_index, server_query, server_write, whoosh_fast
from pipeline.search.api import MAX_PAGE_SIZE, MAX_QUERY_CHARS, SearchService, parse_request
from pipeline.search.pagefind import index as pagefind_index
from pipeline.search.server_index import JiebaTokenizer
from pipeline.search.server_query import ServerIndex
from pipeline.search.server_write import build_server_index
from pipeline.search.steps import build_search, read_documents
from pipeline.search.synonyms import load_synonyms, parse_synonyms
from pipeline.search.text import (
    base_name,
    has_han,
    normalise,
    pinyin_tokens,
    query_words,
    segmenter,
    tokens,
    words,
)

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo-export"
FOOD_NEW = "113101130024810127400000101"  # 食品经营许可（新办）
MARRIAGE = "11310113002481872T400000401"  # 结婚登记


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --site folder whose current release has the demo's data and search index."""
    root = tmp_path_factory.mktemp("search-site")
    release = root / "releases" / "r1"
    (release / "site").mkdir(parents=True)
    shutil.copytree(DEMO, release / "data", ignore=shutil.ignore_patterns("files"))
    build_search(release / "data", release, None)
    (root / "current").symlink_to("releases/r1")
    return root


@pytest.fixture(scope="module")
def search_folder(site: Path) -> Path:
    return site / "current" / "search"


@pytest.fixture(scope="module")
def index(search_folder: Path):
    with ServerIndex(search_folder) as opened:
        yield opened


@pytest.fixture(scope="module")
def docs(search_folder: Path) -> list[documents.SearchDocument]:
    return read_documents(search_folder)


def keys(page) -> list[str]:
    return [hit.key for hit in page.hits]


# ---------------------------------------------------------------- text


def test_normalise_traditional_quotes_full_width():
    assert normalise("營業執照") == "营业执照"
    assert normalise("“開飯店”") == "开饭店"
    assert normalise('"食品经营许可"') == "食品经营许可"
    assert normalise("ＫＴＶ　办理") == "ktv 办理"


def test_query_words_drop_how_people_ask():
    assert [w for w, _, _ in query_words("生孩子要办什么")] == ["生", "孩子"]
    assert [w for w, _, _ in query_words("怎么")] == ["怎么"]  # nothing but stop words: kept


def test_pinyin_full_and_initials_of_names_and_aliases():
    tokens = pinyin_tokens(["食品经营许可", "办营业执照"])
    assert {"shipinjingying", "spjy", "shipinjingyingxuke", "yyzz", "yingyezhizhao"} <= set(tokens)
    assert "kai" not in pinyin_tokens(["开饭店"])  # a single character's pinyin matches too much
    assert "sp" not in tokens  # two-letter initials too


def test_jieba_tokenizer_numbers_words_one_by_one():
    positions = [(t.text, t.pos) for t in JiebaTokenizer()("办理营业执照需要材料", positions=True)]
    assert ("营业执照", 1) in positions and ("营业", 1) in positions and ("执照", 1) in positions
    assert [p for _, p in positions] == sorted(p for _, p in positions)
    assert max(p for _, p in positions) == len(words("办理营业执照需要材料")) - 1


def test_block_by_block_cut_is_jiebas_own(docs):
    """``tokens`` cuts a text block by block (cached); jieba cuts the whole text: same words."""

    def jieba_words(text: str) -> list[tuple[str, int, int]]:
        found = [(w.strip().lower(), s, e) for w, s, e in segmenter().tokenize(text, HMM=False)]
        return [t for t in found if t[0] and not re.match(r"^[\W_]+$", t[0])]

    texts = [t for d in docs for t in (d.name, d.body, *d.aliases, *d.keywords)]
    texts += [
        "",
        " ",
        "营业执照\r\n办理",
        "ＫＴＶ 和 KTV-2 的 3.5% 收费＃",
        "㐀龥\U00020000字",
        "食品经营许可（新办）",
        "a b  c",
        "\t营业执照\u3000办理。",
        "1-2-3",
        "e@x.cn 营业",
    ]
    for text in texts:
        assert list(tokens(text)) == jieba_words(text), text


def test_the_writers_fields_index_as_whoosh_does(docs):
    """While writing, jieba fields are indexed in one pass and the others remember their values:
    the postings are Whoosh's own (each value indexed twice: remembered the second time)."""
    schema = server_index.make_schema()
    fast = whoosh_fast.writing_schema(schema)
    assert {n for n in schema.names() if type(fast[n]) is whoosh_fast._JiebaText} == {
        "name",
        "aliases",
        "keywords",
        "body",
    }
    assert isinstance(fast["department"], whoosh_fast._Remembered)
    assert not isinstance(fast["body"], whoosh_fast._Remembered)  # positions: not remembered
    for _ in range(2):
        for doc in docs:
            for name, value in server_write.document_fields(doc).items():
                if schema[name].indexed:
                    assert list(fast[name].index(value)) == list(schema[name].index(value)), (
                        name,
                        value,
                    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_fast_writer_writes_what_whooshs_writer_writes(
    docs, search_folder: Path, tmp_path: Path, monkeypatch, caplog
):
    """Term pool, lengths read once, jieba fields indexed in one pass: the same files, byte for
    byte, as Whoosh's own writer (what a Whoosh version the fast writer does not know gets),
    for a full build and for an incremental update (changed, added and removed documents),
    and for a pool that overflows into temporary runs."""
    synonyms = load_synonyms()
    by_key = {d.key: d for d in docs}
    changed = documents._finish(
        replace(by_key[MARRIAGE], name="结婚登记（预约）", body="结婚登记 预约 户口簿")
    )
    added = documents._finish(replace(by_key[FOOD_NEW], key="NEW-1", url="/items/NEW-1.html"))
    next_docs = [changed if d.key == MARRIAGE else d for d in docs[1:]] + [added]

    def build(name: str, version: str | None = None) -> dict[str, bytes]:
        build_server_index(docs, tmp_path / name, synonyms, whoosh_version=version)
        build_server_index(
            next_docs,
            tmp_path / f"{name}-next",
            synonyms,
            previous=tmp_path / name,
            whoosh_version=version,
        )
        return {
            **_tree(tmp_path / name),
            **{f"next/{k}": v for k, v in _tree(tmp_path / f"{name}-next").items()},
        }

    ours = build("ours")
    assert not [r for r in caplog.records if "whoosh_internals_unsupported" in r.getMessage()]
    assert build("whoosh", "3.99.0") == ours
    # One warning per writer, but Pelican's logger class (set for the whole process once Pelican
    # is imported) drops a repeated message: at least one.
    warnings = [r for r in caplog.records if "whoosh_internals_unsupported" in r.getMessage()]
    assert warnings and all(r.levelname == "WARNING" for r in warnings)
    assert all("version=3.99.0" in r.getMessage() for r in warnings)
    with monkeypatch.context() as patched:
        runs: list[str] = []
        patched.setattr(whoosh_fast, "LIMIT_MB", 1)
        patched.setattr(whoosh_fast.TermPool, "POSTING_BYTES", 2**20 // 4000)
        patched.setattr(
            whoosh_fast.TermPool,
            "_add_run",
            lambda pool, path: (runs.append(path), pool.runs.append(path)),
        )
        assert build("spilled") == ours
        assert len(runs) > 3


def test_related_items_rank_as_a_plain_sort_would(index, docs):
    """Related items come level by level (whole-number scores, a department bonus under one):
    the same as scoring every item and sorting them all."""

    def plain(key: str) -> list[str]:
        with index._searchers.session() as session:
            return _plain(session, key)

    def _plain(session, key: str) -> list[str]:
        docnum = index._docnum(session, key)
        stored = session.searcher.stored_fields(docnum)["document"]
        base = base_name(stored["name"])
        weighted = [(("exact_name", normalise(base)), 4.0)]
        weighted += [(("exact_alias", normalise(a)), 2.0) for a in stored["aliases"]]
        weighted += [
            (("name", w), 1.0) for w in dict.fromkeys(words(base)) if has_han(w) and len(w) > 1
        ]
        scores: dict[int, float] = {}
        for term, weight in weighted:
            found = index._docs(session, *term)
            if len(found) > server_query.RELATED_MAX_DF and term[0] == "name":
                continue
            for other in found & index._items:
                scores[other] = scores.get(other, 0.0) + weight
        scores.pop(docnum, None)
        department = index._facets["department"].get(stored["department"], frozenset())
        ranked = sorted(scores, key=lambda d: (-(scores[d] + 0.5 * (d in department)), d))
        return [index._key_of[d] for d in ranked[:5]]

    items = [d.key for d in docs if d.kind == documents.ITEM]
    assert all(index.related_keys(key) == plain(key) for key in items)
    assert [h.key for h in index.related(FOOD_NEW)] == plain(FOOD_NEW)
    assert index.related_keys(FOOD_NEW, 2) == plain(FOOD_NEW)[:2]
    assert index.related_keys("NO-SUCH-KEY") == [] and index.related_keys(FOOD_NEW, 0) == []


def test_phrase_queries_work_with_sequential_positions(tmp_path: Path):
    """jieba's ChineseAnalyzer records character offsets as positions, so 营业执照 办理 is never
    'adjacent'; with sequential positions the phrase matches exactly where the words touch."""
    ix = whoosh_index.create_in(
        tmp_path,
        fields.Schema(
            key=fields.ID(stored=True), text=fields.TEXT(analyzer=JiebaTokenizer(), phrase=True)
        ),
    )
    with ix.writer() as writer:
        writer.add_document(key="a", text="营业执照办理指南")
        writer.add_document(key="b", text="办理营业执照的材料")
    with ix.searcher() as searcher:
        found = [hit["key"] for hit in searcher.search(query.Phrase("text", ["营业执照", "办理"]))]
        assert found == ["a"]
        found = [hit["key"] for hit in searcher.search(query.Phrase("text", ["办理", "营业执照"]))]
        assert found == ["b"]


# ---------------------------------------------------------------- synonyms


def test_synonyms_file_ships_and_maps_colloquial_phrases():
    synonyms = load_synonyms()
    assert set(synonyms.entries["开饭店"]) >= {"餐饮", "食品经营"}
    assert set(synonyms.entries["生孩子"]) >= {"出生", "生育"}
    assert "开饭店" in synonyms.phrases_for(["食品经营许可（新办）"])


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"synonyms": []},
        {"synonyms": {"开": ["餐饮"]}},
        {"synonyms": {"开饭店": []}},
        {"synonyms": {"开饭店": [1]}},
    ],
)
def test_a_bad_synonyms_file_is_a_configuration_error(data):
    with pytest.raises(ConfigurationError):
        parse_synonyms(data, "synonyms.yaml")


def test_a_broken_yaml_file_names_itself(tmp_path: Path):
    path = tmp_path / "synonyms.yaml"
    path.write_text("synonyms: [开饭店", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="synonyms.yaml"):
        load_synonyms(path)


# ---------------------------------------------------------------- documents


def test_documents_cover_published_items_and_life_events(docs):
    items = json.loads((DEMO / "items.json").read_text("utf-8"))
    published = {i["impl_code"] for i in items if i["status"] != "abolished"}
    events = {e["code"] for e in json.loads((DEMO / "life_events.json").read_text("utf-8"))}
    assert {d.key for d in docs if d.kind == documents.ITEM} == published
    assert {d.key for d in docs if d.kind == documents.LIFE_EVENT} == events
    food = next(d for d in docs if d.key == FOOD_NEW)
    assert food.url == f"/items/{FOOD_NEW}.html" and food.department == "上海市宝山区市场监督管理局"
    assert food.limit == "5 个工作日" and food.fee == "不收费" and food.type == "行政许可"
    assert set(food.filters) == set(documents.FILTERS)
    assert "开餐厅" in food.keywords and "spjy" in food.pinyin


def test_fingerprints_change_with_content_only(docs):
    food = next(d for d in docs if d.key == FOOD_NEW)
    assert documents._fingerprint(food) == food.fingerprint
    renamed = replace(food, name="食品经营许可（新办理）")
    assert documents._fingerprint(renamed) != food.fingerprint


# ---------------------------------------------------------------- the server index


def test_exact_colloquial_pinyin_initials_traditional_and_quoted(index):
    assert keys(index.search("食品经营许可"))[0] == FOOD_NEW
    assert FOOD_NEW in keys(index.search("开饭店"))[:3]
    assert FOOD_NEW in keys(index.search("開飯店"))[:3]
    assert keys(index.search("shipinjingying"))[0] == FOOD_NEW
    assert FOOD_NEW in keys(index.search("spjy"))
    assert FOOD_NEW in keys(index.search('"食品经营许可"'))[:1]
    yyzz = {h.name for h in index.search("yyzz").hits}
    assert {"个体工商户设立登记", "有限责任公司设立登记"} <= yyzz
    assert keys(index.search("營業執照")) == keys(index.search("营业执照"))


def test_queries_about_nothing_here_return_nothing(index):
    for text in ("火星移民", "比特币挖矿许可", "股票开户"):
        page = index.search(text)
        assert page.total == 0 and page.hits == [], text


def test_filters_narrow_and_facets_count(index):
    everything = index.search("许可")
    assert everything.total > 20
    assert sum(everything.facets["type"].values()) == everything.total  # every document has a type
    narrowed = index.search("许可", {"department": ["上海市宝山区市场监督管理局"]})
    assert 0 < narrowed.total < everything.total
    assert narrowed.total == everything.facets["department"]["上海市宝山区市场监督管理局"]
    assert {h.department for h in narrowed.hits} == {"上海市宝山区市场监督管理局"}
    events = index.search("开办", {"type": [documents.LIFE_EVENT_TYPE]})
    assert events.total and {h.kind for h in events.hits} == {documents.LIFE_EVENT}


def test_pages_do_not_overlap(index):
    first, second = (
        index.search("许可", page=1, page_size=5),
        index.search("许可", page=2, page_size=5),
    )
    assert len(first.hits) == len(second.hits) == 5
    assert not set(keys(first)) & set(keys(second))
    assert keys(index.search("许可", page_size=10)) == keys(first) + keys(second)


def test_results_carry_what_a_result_shows(index):
    hit = index.search("结婚登记").hits[0].as_dict()
    assert hit["impl_code"] == MARRIAGE and hit["name"] == "结婚登记"
    assert hit["department"] and hit["limit"] and hit["fee"] and hit["url"].endswith(".html")


def test_related_items_are_other_variants_first(index):
    related = index.related(FOOD_NEW)
    assert len(related) == 5 and FOOD_NEW not in [h.key for h in related]
    assert {h.name for h in related[:3]} == {
        "食品经营许可（变更）",
        "食品经营许可（延续）",
        "食品经营许可（注销）",
    }
    assert all(h.kind == documents.ITEM for h in related)


def test_same_documents_give_byte_identical_indexes(docs, tmp_path: Path):
    synonyms = load_synonyms()
    for name in ("a", "b"):
        build_server_index(docs, tmp_path / name, synonyms)
    tree = {
        name: {
            p.relative_to(tmp_path / name).as_posix(): p.read_bytes()
            for p in sorted((tmp_path / name).rglob("*"))
            if p.is_file()
        }
        for name in ("a", "b")
    }
    assert tree["a"] == tree["b"]


def test_incremental_update_reindexes_only_what_changed(docs, search_folder: Path, tmp_path: Path):
    synonyms = load_synonyms()
    by_key = {d.key: d for d in docs}
    changed = documents._finish(replace(by_key[MARRIAGE], name="结婚登记（预约）"))
    added = documents._finish(
        replace(
            by_key[FOOD_NEW],
            key="NEW-1",
            url="/items/NEW-1.html",
            name="宠物美容店备案",
            aliases=("开宠物店",),
            keywords=(),
        )
    )
    removed = "11310113002484168A400000601"  # 养犬登记
    new_docs = [changed if d.key == MARRIAGE else d for d in docs if d.key != removed] + [added]
    stats = build_server_index(new_docs, tmp_path / "next", synonyms, previous=search_folder)
    assert (stats.mode, stats.added, stats.updated, stats.deleted) == ("incremental", 1, 1, 1)
    assert stats.unchanged == len(docs) - 2
    with ServerIndex(tmp_path / "next") as updated:
        assert keys(updated.search("宠物美容店备案"))[0] == "NEW-1"
        assert keys(updated.search("结婚登记（预约）"))[0] == MARRIAGE
        assert removed not in keys(updated.search("养犬登记"))
        assert updated.doc_count == len(new_docs)
        full = build_server_index(new_docs, tmp_path / "full", synonyms)
        assert full.mode == "full"
        with ServerIndex(tmp_path / "full") as rebuilt:
            for text in ("结婚", "开饭店", "yyzz", "许可"):
                assert keys(updated.search(text)) == keys(rebuilt.search(text)), text
    # The live release's index is only read: the update works on a copy.
    with ServerIndex(search_folder) as live:
        assert removed in keys(live.search("养犬登记"))


def test_an_index_of_another_schema_version_is_rebuilt(docs, search_folder: Path, tmp_path: Path):
    previous = tmp_path / "old"
    shutil.copytree(search_folder, previous)
    meta = json.loads((previous / "index.json").read_text("utf-8"))
    (previous / "index.json").write_text(json.dumps({**meta, "schema_version": 0}), "utf-8")
    assert build_server_index(docs, tmp_path / "new", load_synonyms(), previous).mode == "full"


def test_a_missing_index_is_a_configuration_error(tmp_path: Path):
    with pytest.raises(ConfigurationError):
        ServerIndex(tmp_path)


# ---------------------------------------------------------------- the browser index's pages


def test_pages_for_pagefind_carry_weights_filters_and_meta(docs):
    food = next(d for d in docs if d.key == FOOD_NEW)
    html = pagefind_index.document_html(food)
    assert "data-pagefind-body" in html and 'data-pagefind-weight="10"' in html
    assert 'data-pagefind-filter="department[content]" content="上海市宝山区市场监督管理局"' in html
    assert 'data-pagefind-meta="limit[content]" content="5 个工作日"' in html
    assert "食 品 经 营 许 可" in html  # the name character by character, for the browser's cut


def test_trad_map_covers_searchable_characters(docs):
    pairs = pagefind_index.trad_to_simp_map(docs)
    assert pairs["營"] == "营" and pairs["執"] == "执" and pairs["飯"] == "饭"
    assert all(len(t) == len(s) == 1 for t, s in pairs.items())


def test_pagefind_extended_is_installed():
    assert "extended" in pagefind_index.pagefind_binary().name


# ---------------------------------------------------------------- privacy


def test_privacy_gate_reads_the_search_folder(site: Path, tmp_path: Path):
    from pipeline.gates.privacy.scanner import PiiFound, PiiScanner

    release = site / "current"
    check_search_privacy(PiiScanner(set(), set()), release)  # the catalogue holds nobody's data
    leaky = tmp_path / "leaky"
    shutil.copytree(release / "search", leaky / "search")
    planted = json.loads((leaky / "search/documents.json").read_text("utf-8"))
    planted[0]["body"] += " 联系人邮箱 zhang.san@example-mail.cn"
    (leaky / "search/documents.json").write_text(json.dumps(planted, ensure_ascii=False), "utf-8")
    with pytest.raises(PiiFound):
        check_search_privacy(PiiScanner(set(), set()), leaky)


# ---------------------------------------------------------------- API and command


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ["x" * (MAX_QUERY_CHARS + 1)]}, "最多"),
        ({"q": ["开饭店"], "page_size": [str(MAX_PAGE_SIZE + 1)]}, "page_size"),
        ({"q": ["开饭店"], "page": ["0"]}, "page"),
        ({"q": ["开饭店"], "page": ["abc"]}, "page"),
        ({"q": ["开饭店"], "sort": ["name"]}, "sort"),
        ({}, "q"),
    ],
)
def test_requests_out_of_bounds_are_refused(params, message):
    with pytest.raises(BadSearchRequest, match=message):
        parse_request(params)


@pytest.fixture(scope="module")
def api(site: Path):
    from pipeline.ops.serve import make_server

    server = make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    server.search.close()


def _get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local server
            return response.status, response.headers.get_content_type(), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), json.load(error)


def test_api_answers_json(api: str):
    status, kind, body = _get(
        f"{api}/api/search?q=%E5%BC%80%E9%A5%AD%E5%BA%97&page_size=3"
    )  # 开饭店
    assert (status, kind) == (200, "application/json")
    assert body["total"] >= 3 and len(body["results"]) == 3 and body["page_size"] == 3
    assert body["results"][0]["impl_code"] == FOOD_NEW
    assert body["facet_names"]["department"] == "部门" and body["facets"]["department"]


def test_api_errors_are_json_without_traces(api: str, site: Path, monkeypatch):
    status, kind, body = _get(f"{api}/api/search?q={'x' * 101}")
    assert (status, kind) == (400, "application/json") and "最多" in body["error"]
    status, _, body = _get(f"{api}/api/search?q=a&page_size=1000")
    assert status == 400 and "page_size" in body["error"]

    def boom(self, request):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(SearchService, "answer", boom)
    status, kind, body = _get(f"{api}/api/search?q=abc")
    assert (status, kind) == (500, "application/json")
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)


def test_api_without_an_index_says_so(tmp_path: Path):
    (tmp_path / "releases/r0/site").mkdir(parents=True)
    (tmp_path / "current").symlink_to("releases/r0")
    from pipeline.errors import SearchUnavailable

    with pytest.raises(SearchUnavailable):
        SearchService(tmp_path).index()


def test_search_command_json_and_filters(site: Path, capsys):
    from pipeline.cli import main

    assert main(["search", "开饭店", "--site", str(site), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results[0]["impl_code"] == FOOD_NEW and all("url" in r for r in results)
    assert (
        main(
            [
                "search",
                "许可",
                "--site",
                str(site),
                "--department",
                "区市场监管局",
                "--type",
                "licensing",
                "--json",
                "--limit",
                "50",
            ]
        )
        == 0
    )
    results = json.loads(capsys.readouterr().out)
    assert results and {r["department"] for r in results} == {"上海市宝山区市场监督管理局"}
    assert {r["type"] for r in results} == {"行政许可"}
    assert main(["search", "结婚登记", "--site", str(site)]) == 0
    out = capsys.readouterr().out
    assert "结婚登记" in out and MARRIAGE in out
    assert main(["search", "x" * 101, "--site", str(site)]) == 2


def test_pagefind_bundles_of_the_same_documents_are_byte_identical(docs, tmp_path: Path):
    """Pagefind writes filter values in hash-map order; pagefind_order makes them stable."""
    for name in ("a", "b"):
        pagefind_index.build_browser_index(docs, tmp_path / name)
    tree = {
        name: {
            p.relative_to(tmp_path / name).as_posix(): p.read_bytes()
            for p in sorted((tmp_path / name).rglob("*"))
            if p.is_file()
        }
        for name in ("a", "b")
    }
    assert tree["a"] == tree["b"]
    assert not any(
        name.startswith("pagefind/pagefind-ui") for name in tree["a"]
    )  # unused, not published


def test_cbor_round_trip_of_the_subset_pagefind_uses():
    from pipeline.search.pagefind import bundle as pagefind_bundle

    value = [
        "1.5.2",
        [["zh-cn_abc1234", 390], ["个人", [0, 1, 2, 70000]]],
        {"k": None, "t": True},
        -5,
        b"\x00\xff",
        2**40,
    ]
    raw = gzip.decompress(pagefind_bundle.pack(value))
    assert raw.startswith(pagefind_bundle.MAGIC)
    assert pagefind_bundle._decode(raw, len(pagefind_bundle.MAGIC)) == (value, len(raw))


def test_documents_from_the_builds_memory_equal_those_from_the_folder(tmp_path):
    """The build makes the documents from its release data in memory; the folder gives the same."""
    from pipeline.extract import open_source
    from pipeline.release.data import write_release_data
    from pipeline.validate.catalogue import build_catalogue
    from pipeline.validate.mapping import load_profile
    from pipeline.validate.problems import Report

    report = Report()
    catalogue = build_catalogue(
        open_source(str(DEMO)), load_profile("contract"), report, lambda f, d: None
    )
    in_memory = write_release_data(tmp_path / "data", catalogue, report)
    synonyms = load_synonyms()
    from_folder = documents.build_documents(tmp_path / "data", synonyms)
    assert len(from_folder) > 200 and any(d.kind == documents.LIFE_EVENT for d in from_folder)
    assert documents.build_documents(tmp_path / "data", synonyms, in_memory) == from_folder
