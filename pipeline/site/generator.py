"""ApprovalsGenerator: release data → the data-driven pages of the site."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pelican.generators import Generator

from pipeline.contract.models import Item, ItemStatus
from pipeline.labels import AUDIENCE_ORDER, ITEM_TYPE_ORDER, LABELS, label
from pipeline.paths import OutputFolder
from pipeline.release.data import ReleaseData, load_release_data
from pipeline.release.layout import read_related
from pipeline.release.quality import ELEMENTS
from pipeline.site.filters import JINJA_FILTERS
from pipeline.site.jsonld import government_service, script_json
from pipeline.site.open_data_pages import item_histories_of, write_open_data_pages
from pipeline.site.performance import (
    Performance,
    department_ranking,
    item_trend,
    mean_compression,
    ranking_chart,
    satisfaction_chart,
    suppressed_text,
    volume_trend,
)
from pipeline.site.text import initial_letter, pinyin_key, pinyin_slug
from pipeline.workers import configured_workers, process_count, run_parallel

logger = logging.getLogger(__name__)


def _share(function: Callable[[Any], Any], values: list[Any], indices: list[int]) -> list[Any]:
    return [function(values[index]) for index in indices]


def share_indices(count: int, shares: int) -> list[list[int]]:
    """Which values each process takes: runs of up to 64 neighbours, dealt in turn. Neighbours,
    because values made one after the other lie side by side in memory and a forked process
    copies each page it touches (reference counts are writes), and dealt one by one two processes
    both copy the pages of every item (rendering 20,000 items in two processes: 310,000 page
    faults dealt one by one, 272,000 in runs; one process: 25,000). In turn, because the work
    is spread about evenly along the list."""
    run = max(1, min(64, count // (shares * 8)))
    return [
        [
            i
            for start in range(share * run, count, shares * run)
            for i in range(start, min(start + run, count))
        ]
        for share in range(shares)
    ]


class ApprovalsGenerator(Generator):
    """Reads ``APPROVALS_RELEASE_DATA`` (a release-data folder) and writes the site's pages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.filters.update(JINJA_FILTERS)
        self.release: ReleaseData | None = None
        self._output = OutputFolder(Path(self.output_path))
        self._macros: Any = None
        self._deferred: list[tuple[str, str, dict[str, Any]]] | None = None
        """While set, ``write`` plans pages here instead of rendering them."""

    @property
    def release_data(self) -> ReleaseData:
        """The release data, for the pages (written after ``generate_context`` has read it)."""
        assert self.release is not None, "generate_context reads the release data first"
        return self.release

    # ------------------------------------------------------------ context

    def generate_context(self) -> None:
        root = self.settings.get("APPROVALS_RELEASE_DATA")
        if not root:
            logger.warning("APPROVALS_RELEASE_DATA is not set: no approval pages are generated")
            return
        in_memory = self.settings.get("APPROVALS_RELEASE")
        self.release = in_memory if in_memory is not None else load_release_data(Path(root))
        release = self.release
        # Sorted by pinyin in generate_output: the keys are computed with the item pages.
        self.public_items = [
            i for i in release.items.values() if i.status is not ItemStatus.abolished
        ]
        self.departments = sorted(release.departments.values(), key=lambda d: pinyin_key(d.name))
        themes = {theme for item in self.public_items for theme in item.themes}
        self.theme_slugs = self._slugs(sorted(themes, key=pinyin_key))
        self.life_events = sorted(release.life_events.values(), key=lambda e: e.code)
        self.performance = Performance.from_release(release.outcomes) if release.outcomes else None
        self.related = read_related(
            Path(self.settings.get("APPROVALS_SEARCH_DIR") or Path(root).parent / "search")
        )
        self.context["approvals"] = {
            "manifest": release.manifest,
            "item_count": len(self.public_items),
            "department_count": len(self.departments),
            "has_outcomes": self.performance is not None,
        }
        # The header and footer are the same on every page: made once here, not on each page
        # (base.html includes them itself when this is absent).
        self.context["site_chrome"] = {
            part: Markup(self.get_template(f"chrome_{part}").render(self.context))
            for part in ("header", "footer")
        }

    @staticmethod
    def _slugs(names: list[str]) -> dict[str, str]:
        slugs: dict[str, str] = {}
        used: set[str] = set()
        for name in names:
            slug, n = pinyin_slug(name), 2
            while slug in used:
                slug, n = f"{pinyin_slug(name)}-{n}", n + 1
            used.add(slug)
            slugs[name] = slug
        return slugs

    # ------------------------------------------------------------ output

    def write(self, relative: str, template: str, **values: Any) -> None:
        if self._deferred is not None:
            self._deferred.append((relative, template, values))
            return
        self._render_page((relative, template, values))

    def _render_page(self, page: tuple[str, str, dict[str, Any]]) -> None:
        relative, template, values = page
        context = {**self.context, **self.common, "output_file": relative, **values}
        self._output.write(relative, self.get_template(template).render(context))

    def write_raw(self, relative: str, text: str) -> None:
        self._output.write(relative, text)

    def generate_output(self, writer: Any) -> None:
        if self.release is None:
            return
        release = self.release
        self.common = {
            "release": release,
            "departments": self.departments,
            "labels": LABELS,
            "theme_slugs": self.theme_slugs,
            "audience_order": AUDIENCE_ORDER,
            "item_type_order": ITEM_TYPE_ORDER,
            "life_events": self.life_events,
            "department_names": {d.code: d.name for d in self.departments},
            "elements": ELEMENTS,
            "performance": self.performance,
            "suppressed_text": suppressed_text(self.performance.k) if self.performance else "",
            "has_history": (release.root / "history" / "changelog.json").is_file(),
            "item_entries": {},
        }
        # The item and item-history pages import their macros without the page's context: the
        # macros' module is then made once, not for every page (a fifth of an item page's
        # time). What those macros read besides their arguments is here, global.
        self.env.globals.update(
            SITEURL=self.settings.get("SITEURL", ""), suppressed_text=self.common["suppressed_text"]
        )
        self._copy_files()
        self._write_items(list(release.items.values()))
        self.common.update(
            by_audience=self.by_audience, by_type=self.by_type, by_theme=self.by_theme
        )
        # The other pages (lists of every item among them) are planned here and rendered in
        # the render processes too.
        self._deferred = []
        try:
            self._write_departments()
            self._write_browse()
            self._write_life_events()
            self.write("index.html", "home", page_name="index")
            self.write("quality.html", "quality", quality=release.quality)
            self.write("developers.html", "developers")
            self.write(
                "search.html", "search", search_api=self.settings.get("APPROVALS_SEARCH_API", "")
            )
            self.write("status.html", "status")
            if self.performance:
                self._write_performance(self.performance)
        finally:
            pages, self._deferred = self._deferred, None
        self.map_each(pages, self._render_page)
        self._copy_contract_docs()
        write_open_data_pages(self)

    def _copy_files(self) -> None:
        for file in self.release_data.files.values():
            self._output.copy(
                f"files/{file.file_id}/{file.filename}", self.release_data.file_path(file)
            )

    def _copy_contract_docs(self) -> None:
        docs = Path(self.settings.get("APPROVALS_CONTRACT_DOCS", ""))
        for name in ("export-contract.schema.json", "openapi.json"):
            if (docs / name).is_file():
                self._output.copy(f"contract/{name}", docs / name)

    def _write_items(self, items: list[Item]) -> None:
        """One pass over the items, in the render processes: each item's page, JSON and history
        page, its line in the lists of items (A–Z, themes, departments …: ~5 lists an item,
        rendered once) and its pinyin sort key (~30 µs a name). Then the lists are made."""
        self.events_of_item: dict[str, list[Any]] = defaultdict(list)
        for event in self.life_events:
            for code in dict.fromkeys(c for step in event.steps for c in step.items):
                self.events_of_item[code].append(event)
        self.item_histories = item_histories_of(self.release_data.root)
        # Compiled and made before the fork, not again in each render process.
        for name in ("item", "item_history"):
            self.get_template(name)
        self._macros = self.get_template("macros").make_module({**self.context, **self.common})
        done = self.map_each(items, self._write_item)
        self.common["item_entries"] = {
            item.impl_code: entries for item, (entries, _) in zip(items, done, strict=True)
        }
        keys = {item.impl_code: key for item, (_, key) in zip(items, done, strict=True)}
        self.public_items.sort(key=lambda i: keys[i.impl_code])
        self.by_department: dict[str, list[Item]] = defaultdict(list)
        self.by_theme: dict[str, list[Item]] = defaultdict(list)
        self.by_audience: dict[str, list[Item]] = defaultdict(list)
        self.by_type: dict[str, list[Item]] = defaultdict(list)
        for item in self.public_items:
            self.by_department[item.department_code].append(item)
            self.by_type[item.item_type.value].append(item)
            for theme in item.themes:
                self.by_theme[theme].append(item)
            for audience in item.audiences:
                self.by_audience[audience.value].append(item)

    def map_each(self, values: list[Any], function: Callable[[Any], Any]) -> list[Any]:
        """``[function(v) for v in values]``, in as many forked processes as the build's worker
        count (:mod:`pipeline.workers`), each taking the values ``share_indices`` gives it;
        results (picklable) come back in order.
        ``function`` may only write files and return values: what it changes in memory stays in
        its process. Pages do not depend on which process wrote them, so the output is the same
        for any number of processes. An error in any process (disk full, a bad record) is
        raised here, as it would be without them."""
        processes = max(1, min(process_count(configured_workers()), len(values)))
        indices = share_indices(len(values), processes)
        shares = run_parallel(
            [partial(_share, function, values, taken) for taken in indices], name="render"
        )
        results: list[Any] = [None] * len(values)
        for taken, share in zip(indices, shares, strict=True):
            for index, result in zip(taken, share, strict=True):
                results[index] = result
        return results

    def _write_item(self, item: Item) -> tuple[tuple[Markup, Markup], tuple[str, str] | None]:
        """Writes the item's page, JSON and history page; returns its entry in lists of items,
        with and without the department (the ``item_entry`` macro), and its pinyin sort key
        (None for an abolished item, which is in no list)."""
        department = self.release_data.departments[item.department_code]
        url = f"{self.settings.get('SITEURL', '')}/items/{item.impl_code}.html"
        jsonld = government_service(item, department, url, self.settings.get("AREA_NAME", ""))
        files = {
            i: self.release_data.files[i] for i in item.file_ids() if i in self.release_data.files
        }
        self.write(
            f"items/{item.impl_code}.html",
            "item",
            item=item,
            department=department,
            files=files,
            jsonld=Markup(script_json(jsonld)),
            outcome=self._item_outcome(item),
            life_events_of_item=self.events_of_item.get(item.impl_code, []),
            related=self.related.get(item.impl_code, []),
        )
        # Compact: json's C encoder (indent= falls back to the pure-Python one, 10x slower).
        self.write_raw(
            f"items/{item.impl_code}.json",
            json.dumps(
                item.model_dump(mode="json", exclude_none=True),
                ensure_ascii=False,
                sort_keys=True,
                separators=(",", ":"),
            )
            + "\n",
        )
        if self.item_histories is not None:
            self.item_histories.write(self, item)
        names = self.common["department_names"]
        entries = (
            self._macros.item_entry(item, names, True),
            self._macros.item_entry(item, names, False),
        )
        return entries, None if item.status is ItemStatus.abolished else pinyin_key(item.name)

    def _item_outcome(self, item: Item) -> dict[str, Any] | None:
        if not self.performance:
            return None
        summary, monthly, satisfaction = self.performance.of_item(item.impl_code)
        return {
            "summary": summary,
            "satisfaction": satisfaction,
            "trend": item_trend(self.performance, item, monthly) if monthly else None,
            "compression": self.performance.compression.get(item.impl_code),
        }

    def _department_outcome(self, code: str) -> dict[str, Any] | None:
        if not self.performance:
            return None
        summary, monthly, satisfaction = self.performance.of_department(code)
        return {
            "summary": summary,
            "satisfaction": satisfaction,
            "trend": volume_trend(
                self.performance, monthly, f"dept-{code.lower()}", "近 24 个月按时办结率"
            )
            if monthly
            else None,
            "satisfaction_chart": satisfaction_chart(
                self.performance, satisfaction, f"sat-{code.lower()}", "近 12 个月满意度"
            ),
            "compression": mean_compression(self.performance, self.by_department[code]),
            "items": [
                (
                    i,
                    self.performance.of_item(i.impl_code)[0],
                    self.performance.compression.get(i.impl_code),
                )
                for i in self.by_department[code]
            ],
        }

    def _write_performance(self, perf: Performance) -> None:
        completeness = {
            d["code"]: d for d in self.release_data.quality["completeness"]["departments"]
        }
        ranking = department_ranking(perf, self.departments, completeness, self.by_department)
        self.write(
            "performance/ranking.html", "ranking", ranking=ranking, chart=ranking_chart(ranking)
        )
        summary, monthly, satisfaction = perf.overall()
        self.write(
            "performance/index.html",
            "dashboard",
            summary=summary,
            ranking=ranking,
            trend=volume_trend(perf, monthly, "overall-on-time", "全区按时办结率（近 24 个月）")
            if monthly
            else None,
            satisfaction=satisfaction,
            satisfaction_chart=satisfaction_chart(
                perf, satisfaction, "overall-sat", "全区满意度（近 12 个月）"
            ),
        )

    def _write_departments(self) -> None:
        self.write("departments/index.html", "departments")
        scores = {d["code"]: d for d in self.release_data.quality["completeness"]["departments"]}
        for department in self.departments:
            self.write(
                f"departments/{department.code}.html",
                "department",
                department=department,
                items=self.by_department[department.code],
                score=scores.get(department.code),
                outcome=self._department_outcome(department.code),
            )

    def _write_browse(self) -> None:
        self.write("themes/index.html", "themes")
        for theme, slug in self.theme_slugs.items():
            self.write(
                f"themes/{slug}.html",
                "item_list",
                title=theme,
                kind="主题",
                items=self.by_theme[theme],
            )
        for audience in AUDIENCE_ORDER:
            self.write(
                f"audiences/{audience}.html",
                "item_list",
                title=label(audience, "audience"),
                kind="服务对象",
                items=self.by_audience.get(audience, []),
            )
        for item_type in ITEM_TYPE_ORDER:
            self.write(
                f"types/{item_type}.html",
                "item_list",
                title=label(item_type, "item_type"),
                kind="事项类型",
                items=self.by_type.get(item_type, []),
            )
        letters: dict[str, list[Item]] = defaultdict(list)
        for item in self.public_items:
            letters[initial_letter(item.name)].append(item)
        self.write("az.html", "az", letters=dict(sorted(letters.items())))

    def _write_life_events(self) -> None:
        self.write("life-events/index.html", "life_events")
        for event in self.life_events:
            self.write(
                f"life-events/{event.code}.html",
                "life_event",
                event=event,
                steps=self._grouped_steps(event),
            )

    def _grouped_steps(self, event: Any) -> list[dict[str, Any]]:
        """Consecutive steps sharing a ``group`` become one numbered step with alternatives."""
        grouped: list[dict[str, Any]] = []
        for step in event.steps:
            items = [self.release_data.items[c] for c in step.items if c in self.release_data.items]
            if step.group and grouped and grouped[-1]["group"] == step.group:
                grouped[-1]["alternatives"].append({"step": step, "linked": items})
            else:
                grouped.append(
                    {"group": step.group, "alternatives": [{"step": step, "linked": items}]}
                )
        return grouped
