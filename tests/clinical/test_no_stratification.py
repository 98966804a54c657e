"""Rule 1, enforced: no risk score, rating or low/medium/high category in any layout or data file,
store column or core data class. (Widgets: tests/ui/test_plan_tab.py.) NICE NG225 1.6.1-1.6.4."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil

import pytest
from stratification import NAME_TOKENS, rates_risk

import perfectcare_desktop.core
from perfectcare_desktop.core.resources import resources_dir
from perfectcare_desktop.store.models import Base


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("path", sorted(resources_dir().rglob("*.json")), ids=lambda p: p.name)
def test_no_data_file_carries_a_rating(path) -> None:
    found = [s for s in _strings(json.loads(path.read_text(encoding="utf-8"))) if rates_risk(s)]
    assert not found, f"{path.name}: {found}"


def test_no_store_column_holds_a_rating() -> None:
    names = [f"{t.name}.{c.name}" for t in Base.metadata.tables.values() for c in t.columns]
    assert len(names) > 40
    assert not [n for n in names if any(tok in n.lower() for tok in NAME_TOKENS)]


def test_no_core_data_class_has_a_rating_field() -> None:
    fields = []
    core = perfectcare_desktop.core
    for info in pkgutil.walk_packages(core.__path__, prefix=f"{core.__name__}."):  # every folder of core/
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if dataclasses.is_dataclass(obj) and isinstance(obj, type) and obj.__module__ == module.__name__:
                fields += [f"{obj.__name__}.{f.name}" for f in dataclasses.fields(obj)]
    assert "PlanContent.sections" in fields and "CaseloadRow.plan_state" in fields
    assert not [f for f in fields if any(tok in f.lower() for tok in NAME_TOKENS)]


def test_the_guard_itself_catches_ratings() -> None:
    for text in ("Risk level", "HIGH", "low", " Medium ", "score: 3", "RAG rating", "Red/amber", "stratified",
                 "Low/Medium/High", "high concern", "moderate-risk"):  # fmt: skip
        assert rates_risk(text), text
    for text in ("High contrast theme", "Toggle high-contrast", "Warning signs", "Follow-up due",
                 "I might feel too low to look at it", "Drag to reorder"):  # fmt: skip
        assert not rates_risk(text), text
