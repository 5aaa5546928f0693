// 公开审批 · 站内搜索（Pagefind 扩展版索引，浏览器内运行）。
//
// Pagefind alone has two weaknesses with Chinese: the browser cuts a query into words differently
// from the index (a compound query then asks for words the index never saw), and a quoted phrase
// returns nothing. So, before Pagefind sees a query, this script
//   1. normalises it: full-width → half-width, traditional → simplified (a map generated from
//      OpenCC for every searchable character), quotes and brackets out, lower case;
//   2. drops the words of how people ask (要办什么, 怎么, 需要 …) and keeps the rest as "runs";
//   3. searches all runs together; when that finds little, each run alone, keeping documents that
//      cover at least half of the query (as the server index does); when nothing at all is found,
//      pairs of characters (a typo still shares most of them);
//   4. re-ranks the first results: the exact name, a name that starts with or contains the query,
//      an alias, the exact phrase in the text (Pagefind's own exact search), the 新办 variant.
// The page works without JavaScript: the form then goes to the A–Z index (or the search API).

const form = document.getElementById("search-form");
const input = document.getElementById("search-q");
const app = document.getElementById("search-app");
const statusLine = document.getElementById("search-status");
const list = document.getElementById("search-results");
const filterBox = document.getElementById("search-filter-groups");
const filterPanel = document.getElementById("search-filters");
const moreButton = document.getElementById("search-more");
const base = form.dataset.pagefind;
const PAGE = 10;
const RERANK = 10;
const LOCAL_COUNT = 40;
const MIN_COVERAGE = 0.5;
const FIRST_VARIANTS = ["新办", "首次", "设立"];

let pagefind = null;
let loading = null;
let config = { filters: {}, trad: "", stopwords: [], quotes: "" };
let trad = new Map();
let stopwords = new Set();
let ranked = [];
let pending = null; // more(n) of the current results, while some are still to be checked
let shownQuery = "";
let shown = 0;
let generation = 0;

function normalise(text) {
  let out = "";
  for (const ch of (text || "").normalize("NFKC")) {
    out += config.quotes.includes(ch) ? " " : trad.get(ch) || ch;
  }
  return out.toLowerCase().replace(/\s+/g, " ").trim();
}

const segmenter = typeof Intl !== "undefined" && Intl.Segmenter ? new Intl.Segmenter("zh", { granularity: "word" }) : null;

function runsOf(text) {
  // Consecutive meaningful words form a run; stop words, spaces and punctuation end one.
  if (!segmenter) return text.split(" ").filter(Boolean);
  const parts = [...segmenter.segment(text)];
  const meaningful = parts.filter((p) => p.isWordLike && !stopwords.has(p.segment));
  if (!meaningful.length) return text.split(" ").filter(Boolean);
  const runs = [];
  let current = "";
  for (const part of parts) {
    if (part.isWordLike && !stopwords.has(part.segment)) {
      current += part.segment;
    } else if (current) {
      runs.push(current);
      current = "";
    }
  }
  if (current) runs.push(current);
  return runs;
}

const hasHan = (text) => /[\u3400-\u9fff]/.test(text);
const baseName = (name) => name.replace(/[（(][^（）()]{1,12}[）)]\s*$/, "").trim() || name;
const variantOf = (name) => (name.match(/[（(]([^（）()]{1,12})[）)]\s*$/) || [])[1] || "";

// ---------------------------------------------------------------- Pagefind's page list

// Before its first search, Pagefind loads its meta (pagefind.<hash>.pf_meta): every page's name and
// word count, every index chunk's range and name. Its names are random (hashes), ~7 bytes a page
// compressed: 137 KB at 20,000 pages. The build numbers the pages by word count and names pages and
// chunks <prefix><number in base 36>, and writes the same meta as pagefind.<hash>.meta.json with
// those prefixes, runs of word counts and the chunks' ranges (pipeline/search/pagefind_order.py):
// 1–9 KB. Pagefind's request for the .pf_meta is answered with the bytes re-encoded from it
// (Pagefind takes uncompressed bytes that start with its signature as they are); when that file
// is missing or not understood, with the .pf_meta itself.

const META_FORMAT = 1;
const utf8 = new TextEncoder();

class CborWriter {
  // The part of CBOR that Pagefind's meta uses: arrays, strings, integers, shortest heads.
  constructor() {
    this.buffer = new Uint8Array(1 << 16);
    this.length = 0;
  }

  room(size) {
    if (this.length + size <= this.buffer.length) return;
    const larger = new Uint8Array(Math.max(2 * this.buffer.length, this.length + size));
    larger.set(this.buffer.subarray(0, this.length));
    this.buffer = larger;
  }

  bytes(array) {
    this.room(array.length);
    this.buffer.set(array, this.length);
    this.length += array.length;
  }

  head(major, value) {
    const type = major << 5;
    if (value < 24) this.bytes([type | value]);
    else if (value < 0x100) this.bytes([type | 24, value]);
    else if (value < 0x10000) this.bytes([type | 25, value >> 8, value & 255]);
    else if (value < 0x100000000) this.bytes([type | 26, value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
    else throw new Error("CBOR: integer too large");
  }

  value(value) {
    if (typeof value === "string") {
      const encoded = utf8.encode(value);
      this.head(3, encoded.length);
      this.bytes(encoded);
    } else if (Number.isSafeInteger(value)) {
      if (value >= 0) this.head(0, value);
      else this.head(1, -1 - value);
    } else if (Array.isArray(value)) {
      this.head(4, value.length);
      for (const item of value) this.value(item);
    } else {
      throw new Error(`CBOR: unexpected ${typeof value}`);
    }
  }

  done() {
    return this.buffer.slice(0, this.length);
  }
}

function expandMeta(compact) {
  // meta.json → the bytes of the .pf_meta, uncompressed ("pagefind_dcd" + CBOR).
  if (compact.format !== META_FORMAT || !Array.isArray(compact.meta) || compact.meta[1] !== null || compact.meta[2] !== null) {
    throw new Error("meta.json: unknown format");
  }
  const { prefix, word_counts: runs } = compact.pages;
  const chunks = compact.chunks.ranges.map(([low, high], n) => [low, high, compact.chunks.prefix + n.toString(36)]);
  const out = new CborWriter();
  out.bytes(utf8.encode("pagefind_dcd"));
  out.head(4, compact.meta.length);
  compact.meta.forEach((value, index) => {
    if (index === 2) return out.value(chunks);
    if (index !== 1) return out.value(value);
    out.head(4, runs.reduce((total, [, repeat]) => total + repeat, 0));
    let page = 0;
    for (const [count, repeat] of runs) {
      for (let i = 0; i < repeat; i++, page++) {
        out.bytes([0x82]);
        out.value(prefix + page.toString(36));
        out.value(count);
      }
    }
  });
  return out.done();
}

function answerMetaRequest(bundle) {
  // Until Pagefind has asked for its meta, answer that one request from meta.json.
  const original = globalThis.fetch;
  const pattern = /^pagefind\.[\w-]+\.pf_meta$/;
  globalThis.fetch = async function (input, init) {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href).href;
    if (!url.startsWith(bundle) || !pattern.test(url.slice(bundle.length))) return original.call(this, input, init);
    globalThis.fetch = original;
    try {
      const response = await original(url.replace(/\.pf_meta$/, ".meta.json"));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return new Response(expandMeta(await response.json()));
    } catch (error) {
      console.warn("meta.json 不可用，改用 Pagefind 的 .pf_meta：", error);
      return original(input, init);
    }
  };
}

async function load() {
  if (pagefind) return pagefind;
  loading ||= (async () => {
    const bundle = new URL(base, location.href).href;
    const [module, settings] = await Promise.all([
      import(`${base}pagefind.js`),
      fetch(`${base}search-config.json`).then((r) => (r.ok ? r.json() : config)),
    ]);
    config = { ...config, ...settings };
    for (let i = 0; i + 1 < config.trad.length; i += 2) trad.set(config.trad[i], config.trad[i + 1]);
    stopwords = new Set(config.stopwords);
    answerMetaRequest(bundle);
    await module.options({ basePath: base, noWorker: true, excerptLength: 24 });
    await module.init();
    pagefind = module;
    return pagefind;
  })();
  return loading;
}

function filterOptions(filters) {
  const chosen = {};
  for (const [key, values] of Object.entries(filters)) if (values.length) chosen[key] = { any: values };
  return { filters: chosen };
}

// ---------------------------------------------------------------- finding

async function find(query, filters) {
  // → {text, candidates: [{result, coverage, exact}], counts (null when not exact)}
  const pf = await load();
  const text = normalise(query);
  const options = filterOptions(filters);
  if (!text) {
    if (!Object.keys(options.filters).length) return { text, candidates: [], counts: null };
    const all = await pf.search(null, options);
    return { text, candidates: all.results.map((r) => ({ result: r, coverage: 1, exact: false })), counts: all.filters };
  }
  const runs = runsOf(text);
  const main = await pf.search(runs.join(" "), options);
  if (!hasHan(text)) {
    // Pinyin, initials, Latin words: Pagefind's own prefix matching is what is wanted.
    return { text, candidates: main.results.map((r) => ({ result: r, coverage: 1, exact: false })), counts: main.filters };
  }
  let found = await covering(pf, runs, options, main);
  if (!found.candidates.length && runs.join("").length >= 3) {
    // A typo: most pairs of neighbouring characters are still right.
    const compact = runs.join("");
    const pairs = [...new Set([...Array(compact.length - 1).keys()].map((i) => compact.slice(i, i + 2)))];
    found = await covering(pf, pairs.filter(hasHan), options, { results: [], filters: null });
  }
  return { text: runs.join(""), ...found };
}

async function exactIds(pf, part, options) {
  const response = await pf.search(`"${part}"`, options);
  return { ids: new Map(response.results.map((r) => [r.id, r])), filters: response.filters };
}

async function covering(pf, parts, options, main) {
  // Pagefind matches loosely (a word it does not know is dropped or split into characters), so a
  // document counts only for the parts it contains as such (Pagefind's exact-phrase search), and
  // must contain parts making up at least half of the query's characters — the server's rule.
  const total = parts.reduce((n, p) => n + p.length, 0) || 1;
  const weight = new Map();
  const byId = new Map(main.results.map((r) => [r.id, r]));
  const phrase = new Set();
  let single = null;
  for (const part of parts) {
    let pieces = [part];
    let found = await exactIds(pf, part, options);
    if (found.ids.size) phrase.add(part);
    if (!found.ids.size && segmenter) {
      // Its words, one by one; single characters do not count (开 and 户 are in everything).
      pieces = [...segmenter.segment(part)].filter((p) => p.isWordLike && p.segment.length > 1).map((p) => p.segment);
      if (pieces.length === 1 && pieces[0] === part) pieces = [];
    } else {
      pieces = [];
      if (parts.length === 1) single = found;
      for (const [id, r] of found.ids) {
        weight.set(id, (weight.get(id) || 0) + part.length);
        if (!byId.has(id)) byId.set(id, r);
      }
    }
    for (const piece of pieces) {
      const sub = await exactIds(pf, piece, options);
      for (const [id, r] of sub.ids) {
        weight.set(id, (weight.get(id) || 0) + piece.length);
        if (!byId.has(id)) byId.set(id, r);
      }
    }
  }
  let candidates = [];
  for (const [id, w] of weight) {
    if (w / total >= MIN_COVERAGE - 1e-9) {
      candidates.push({ result: byId.get(id), coverage: Math.min(1, w / total), exact: phrase.size > 0 });
    }
  }
  let more = null;
  if (phrase.size < parts.length) ({ accepted: candidates, more } = await literally(candidates, parts, total));
  // Filter counts are exact when the results are one phrase's; otherwise they are counted below.
  return { candidates, more: more && !more.done() ? more : null, counts: single ? single.filters : null };
}

const byCoverageThenScore = (a, b) => b.coverage - a.coverage || b.result.score - a.result.score;

async function literally(candidates, parts, total) {
  // Some part was not found whole, so its words were looked up one by one, and Pagefind's
  // exact search for a word it cut differently can be loose: check the text itself. The text is
  // in each result's fragment, a download, so of the LOCAL_COUNT best by score only as many are
  // checked as are about to be shown, in the order they are ranked in: first until RERANK pass
  // (the ones re-ranked and shown first are then the same as if all had been checked), the rest
  // when more results are asked for (or the filter counts need them).
  // → {accepted (in rank order), more(n): up to n further accepted, [] when none is left}
  const pool = candidates.sort((a, b) => b.result.score - a.result.score).slice(0, LOCAL_COUNT).sort(byCoverageThenScore);
  const words = (part) => (segmenter ? [...segmenter.segment(part)].filter((p) => p.isWordLike && p.segment.length > 1).map((p) => p.segment) : [part]);
  const covers = (data) => {
    const content = normalise(data.content || "").replace(/\s+/g, "");
    const covered = parts.reduce((n, part) => n + (content.includes(part) ? part.length
      : words(part).filter((w) => content.includes(w)).reduce((m, w) => m + w.length, 0)), 0);
    return covered / total >= MIN_COVERAGE - 1e-9;
  };
  let next = 0;
  const more = async (wanted) => {
    const accepted = [];
    while (accepted.length < wanted && next < pool.length) {
      const batch = pool.slice(next, next + Math.min(wanted - accepted.length, LOCAL_COUNT));
      next += batch.length;
      const datas = await Promise.all(batch.map((c) => c.result.data()));
      batch.forEach((c, i) => {
        c.data = datas[i];
        if (covers(datas[i])) accepted.push(c);
      });
    }
    return accepted;
  };
  more.done = () => next >= pool.length;
  return { accepted: await more(RERANK), more };
}

function bonus(data, query, exact) {
  const name = normalise(data.meta.title || "");
  const aliases = (data.meta.aliases || "").split("、").map(normalise).filter(Boolean);
  let points = 0;
  if (name === query || normalise(baseName(data.meta.title || "")) === query) points += 8;
  else if (name.startsWith(query)) points += 4;
  else if (name.includes(query)) points += 3;
  if (aliases.includes(query)) points += 4;
  else if (aliases.some((a) => a.includes(query))) points += 2;
  if (exact) points += 2;
  const variant = variantOf(data.meta.title || "");
  if (variant && !query.includes(variant) && FIRST_VARIANTS.some((v) => variant.includes(v))) points += 0.5;
  return points;
}

async function rank(found) {
  const ordered = found.candidates.sort(byCoverageThenScore);
  const head = ordered.slice(0, RERANK);
  const datas = await Promise.all(head.map((c) => c.data || c.result.data()));
  head.forEach((c, i) => {
    c.data = datas[i];
    c.bonus = found.text ? bonus(datas[i], found.text, c.exact) : 0;
  });
  head.sort((a, b) => b.bonus - a.bonus || b.coverage - a.coverage || b.result.score - a.result.score);
  return head.concat(ordered.slice(RERANK));
}

// The relevance tests call this: the same path as the page, minus the drawing.
async function searchUrls(query, filters = {}) {
  const ranked = await rank(await find(query, filters));
  const top = ranked.slice(0, 10);
  const datas = await Promise.all(top.map((c) => c.data || c.result.data()));
  return datas.map((d) => d.url);
}

// ---------------------------------------------------------------- drawing

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function resultItem(data) {
  const li = element("li", { class: "search-result" });
  const heading = element("h2", { class: "search-result-title" });
  heading.append(element("a", { href: data.url }, data.meta.title || data.url));
  li.append(heading);
  const meta = element("p", { class: "search-result-meta" });
  if (data.meta.kind === "life_event") {
    meta.append(element("span", { class: "badge" }, "一件事"), " 按步骤办理相关事项");
  } else {
    const parts = [["部门", data.meta.department], ["时限", data.meta.limit ? `承诺 ${data.meta.limit}` : ""], ["收费", data.meta.fee]];
    parts.filter(([, v]) => v).forEach(([label, value], i) => {
      if (i) meta.append(" · ");
      meta.append(element("span", { class: "visually-hidden" }, `${label}：`), value);
    });
    if (data.meta.status) meta.append(" · ", element("strong", {}, data.meta.status));
  }
  li.append(meta);
  if (data.meta.aliases) li.append(element("p", { class: "search-result-aliases" }, `也叫：${data.meta.aliases}`));
  return li;
}

function showCount(query = shownQuery) {
  shownQuery = query;
  const count = pending ? `${ranked.length} 个以上` : `${ranked.length} 个`;
  statusLine.textContent = query ? `找到 ${count}与“${query}”相关的结果` : `共 ${count}事项`;
}

async function showMore() {
  const current = generation;
  if (pending && shown + PAGE > ranked.length) {
    const more = await pending(shown + PAGE - ranked.length);
    if (current !== generation) return;
    ranked.push(...more);
    if (pending.done()) pending = null;
    showCount();
  }
  const slice = ranked.slice(shown, shown + PAGE);
  const datas = await Promise.all(slice.map((c) => c.data || c.result.data()));
  if (current !== generation) return;
  datas.forEach((d) => list.append(resultItem(d)));
  shown += slice.length;
  moreButton.hidden = shown >= ranked.length && !pending;
}

function chosenFilters() {
  const chosen = {};
  for (const box of filterBox.querySelectorAll("input[type=checkbox]:checked")) {
    (chosen[box.name] ||= []).push(box.value);
  }
  return chosen;
}

function drawFilters(counts, chosen) {
  const known = counts || {};
  filterBox.replaceChildren();
  for (const [key, label] of Object.entries(config.filters)) {
    const values = new Set([...Object.keys(known[key] || {}), ...(chosen[key] || [])]);
    if (!values.size) continue;
    const fieldset = element("fieldset", { class: "search-filter" });
    fieldset.append(element("legend", {}, label));
    const ul = element("ul");
    for (const value of [...values].sort((a, b) => (known[key]?.[b] ?? 0) - (known[key]?.[a] ?? 0) || a.localeCompare(b, "zh"))) {
      const count = known[key]?.[value];
      if (count === 0 && !(chosen[key] || []).includes(value)) continue;
      const box = element("input", { type: "checkbox", name: key, value });
      box.checked = (chosen[key] || []).includes(value);
      const labelNode = element("label");
      labelNode.append(box, ` ${value} `);
      if (count !== undefined) labelNode.append(element("span", { class: "count" }, `（${count}）`));
      const li = element("li");
      li.append(labelNode);
      ul.append(li);
    }
    fieldset.append(ul);
    filterBox.append(fieldset);
  }
}

async function countLocally(order) {
  // Counts of each filter value among the results themselves (their fragments), when no single
  // Pagefind response holds them; beyond LOCAL_COUNT results the counts are left out.
  if (order.length > LOCAL_COUNT) return {};
  const datas = await Promise.all(order.map((c) => c.data || c.result.data()));
  const counts = {};
  for (const data of datas) {
    for (const [key, values] of Object.entries(data.filters || {})) {
      counts[key] ||= {};
      for (const value of values) counts[key][value] = (counts[key][value] || 0) + 1;
    }
  }
  return counts;
}

function remember(query, filters) {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  for (const [key, values] of Object.entries(filters)) values.forEach((v) => params.append(key, v));
  const search = params.toString();
  history.replaceState(null, "", `${location.pathname}${search ? "?" + search : ""}`);
}

let filtersLoaded = null;

function loadFilters() {
  // The filter lists: without them results carry no counts. They list every page per value, so
  // they grow with the site (a few KB for the demo, hundreds of KB at 20,000 items): they are
  // loaded when the filter panel is opened (it starts closed), not for every first query.
  filtersLoaded ||= load().then((pf) => pf.filters());
  return filtersLoaded;
}

async function run() {
  const current = ++generation;
  if (filterPanel.open || Object.keys(chosenFilters()).length) await loadFilters();
  const query = input.value.trim().slice(0, 100);
  const filters = chosenFilters();
  remember(query, filters);
  if (!query && !Object.keys(filters).length) {
    list.replaceChildren();
    statusLine.textContent = "";
    moreButton.hidden = true;
    if (filterPanel.open) drawFilters(await loadFilters(), filters); // browse by filter alone
    else filterBox.replaceChildren();
    return;
  }
  statusLine.textContent = "正在搜索…";
  const found = await find(query, filters);
  const order = await rank(found);
  if (current !== generation) return; // a newer search has started
  // The filter counts are drawn when the panel is open (opening it runs the search again): when
  // Pagefind gives none, counting them reads the fragments of every result (up to LOCAL_COUNT).
  const counting = filterPanel.open || Object.keys(filters).length;
  if (counting && !found.counts && found.more) order.push(...(await found.more(LOCAL_COUNT)));
  if (current !== generation) return;
  ranked = order;
  pending = found.more && !found.more.done() ? found.more : null;
  shown = 0;
  list.replaceChildren();
  if (counting) drawFilters(found.counts || (await countLocally(order)), filters);
  else filterBox.replaceChildren();
  if (!ranked.length) {
    statusLine.replaceChildren(`没有找到与“${query}”相关的事项。试试换个说法（例如“开饭店”“办营业执照”），或查看 `,
      element("a", { href: form.dataset.az }, "全部事项 A–Z"), "。");
    moreButton.hidden = true;
    return;
  }
  showCount(query);
  await showMore();
}

function debounce(fn, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function fail(error) {
  console.warn("站内搜索不可用：", error);
  statusLine.replaceChildren("站内搜索暂时不可用，请使用 ", element("a", { href: form.dataset.az }, "全部事项 A–Z"), " 查找。");
}

function start() {
  document.getElementById("search-nojs")?.setAttribute("hidden", "");
  app.hidden = false;
  if (new URLSearchParams(location.search).toString().match(/(^|&)(department|type|audience|online|free|visits)=/)) filterPanel.open = true;
  const params = new URLSearchParams(location.search);
  input.value = params.get("q") || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run().catch(fail);
  });
  input.addEventListener("input", debounce(() => run().catch(fail), 250));
  filterBox.addEventListener("change", () => run().catch(fail));
  filterPanel.addEventListener("toggle", () => {
    if (filterPanel.open) run().catch(fail);
  });
  moreButton.addEventListener("click", () => showMore().catch(fail));
  load()
    .then(() => {
      const chosen = {};
      for (const key of Object.keys(config.filters)) {
        const values = params.getAll(key);
        if (values.length) chosen[key] = values;
      }
      drawFilters({}, chosen);
      return run();
    })
    .catch(fail);
}

window.approvalsSearch = { searchUrls, expandMeta, normalise: (q) => load().then(() => normalise(q)) };
start();
