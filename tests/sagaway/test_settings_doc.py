"""The settings page is generated from `Settings`: every field described, the page current."""

from __future__ import annotations

from pathlib import Path

from sagaway.cli.settings_doc import render
from sagaway.settings import Settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_says_what_it_does() -> None:
    assert [name for name, f in Settings.model_fields.items() if not f.description] == []


def test_the_committed_settings_page_is_current() -> None:
    assert PAGE.read_text() == render(), "stale: run `make docs` and commit docs/settings.md"


def test_every_setting_has_a_row() -> None:
    page = render()
    for name in Settings.model_fields:
        assert f"SAGAWAY_{name.upper()}" in page, name
