"""Disclosure completeness over the seed's ten elements."""

from __future__ import annotations

from pipeline.contract.models import Item
from pipeline.release.quality import ELEMENTS, item_gaps
from tests.fixtures import credit_code, item


def test_a_complete_item_has_no_gaps():
    assert item_gaps(Item.model_validate(item(1, credit_code(1)))) == []


def test_each_missing_element_is_named():
    record = item(
        1,
        credit_code(1),
        supervision_measures=None,
        responsible=None,
        department_nature=None,
        is_charged=True,
        fees=[{"name": "工本费", "standard": "每证10元"}],
        legal_bases=[{"title": "《某条例》", "role": "setting"}],
    )
    record["process_steps"][0].pop("actor")
    gaps = item_gaps(Item.model_validate(record))
    assert gaps == ["authority", "basis", "procedure", "responsible_post", "fees", "supervision"]
    assert list(ELEMENTS)[:3] == ["authority", "content", "basis"] and len(ELEMENTS) == 10
