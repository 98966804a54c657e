"""The easy-read heading of a plan section (issue 14, item 4): data in the layout, optional, checked
like the other fields, the normal title when a trust's own layout has none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perfectcare_desktop.core.clinical.plan_layout import BUILTIN_FALLBACK, EASY_READ_LIMIT, load_catalogue, load_layout
from perfectcare_desktop.core.resources import resources_dir
from perfectcare_desktop.errors import LayoutInvalid


def _default() -> dict[str, Any]:
    return json.loads((resources_dir() / "plan_layouts" / "default.json").read_text(encoding="utf-8"))


def test_the_default_layout_has_a_short_plain_heading_for_every_section() -> None:
    layout = load_catalogue().latest()
    assert layout.section("warning_signs").easy_read_title == "Signs I am not OK"
    assert layout.section("making_safer").easy_read_title == "Keeping safe at home"
    for section in layout.sections:
        assert section.easy_read and section.easy_read != section.title
        assert len(section.easy_read.split()) <= 9, section.easy_read
        assert ":" not in section.easy_read  # one idea, no "When to use this plan: ..."


def test_the_built_in_fallback_has_the_same_easy_read_headings_as_the_file() -> None:
    shipped = load_catalogue().latest()
    assert [(s.key, s.easy_read) for s in BUILTIN_FALLBACK.sections] == [(s.key, s.easy_read) for s in shipped.sections]


def test_a_trust_layout_without_easy_read_headings_falls_back_to_the_titles(tmp_path: Path) -> None:
    data = _default()
    data["id"] = "trust-own"
    for raw in data["sections"]:
        raw.pop("easy_read")
    (tmp_path / "trust.json").write_text(json.dumps(data), encoding="utf-8")
    layout = load_layout(tmp_path / "trust.json")
    assert [s.easy_read_title for s in layout.sections] == [s.title for s in layout.sections]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12, "section 2 (coping_alone): 'easy_read' must be text"),
        (["Things I do"], "section 2 (coping_alone): 'easy_read' must be text"),
        ("x" * (EASY_READ_LIMIT + 1), f"section 2 (coping_alone): 'easy_read' is longer than {EASY_READ_LIMIT}"),
    ],
)
def test_a_bad_easy_read_heading_names_the_file_and_section(tmp_path: Path, value: object, message: str) -> None:
    data = _default()
    data["sections"][1]["easy_read"] = value
    (tmp_path / "trust.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LayoutInvalid, match="^trust.json: ") as err:
        load_layout(tmp_path / "trust.json")
    assert message in str(err.value)


def test_a_blank_easy_read_heading_means_the_title(tmp_path: Path) -> None:
    data = _default()
    data["sections"][0]["easy_read"] = "   "
    (tmp_path / "trust.json").write_text(json.dumps(data), encoding="utf-8")
    section = load_layout(tmp_path / "trust.json").sections[0]
    assert section.easy_read == "" and section.easy_read_title == section.title
