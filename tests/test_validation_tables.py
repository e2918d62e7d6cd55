"""The measured tables of docs/validation/ are generated from benchmarks/data/*.json
(experiments/validation_tables.py): the committed pages must match their JSON, and the
renderer must follow the JSON, not a stored table."""

from __future__ import annotations

import json

import pytest

from experiments.validation_tables import TABLES, render_page, stale_pages


def test_validation_pages_match_their_json():
    assert stale_pages() == [], "run: python -m experiments.validation_tables --write"


def test_every_json_named_by_a_table_exists_and_is_used():
    from experiments.validation_tables import DATA, PAGES

    used = {name for page in PAGES.glob("*.md") for name in TABLES
            if f"<!-- table: {name} -->" in page.read_text()}
    assert used == set(TABLES)
    for file, _ in TABLES.values():
        assert "provenance" in json.loads((DATA / file).read_text()), file


def test_a_changed_row_changes_the_page(tmp_path):
    rows = {"provenance": {}, "rows": [
        {"am_mass_fraction": 0.9, "solid_content": 0.6, "n_am": 30, "seed": 0, "n_cbd": 1234,
         "thickness_dried_um": 20.0, "porosity_dried": 0.45, "porosity_dem": 0.47,
         "am_contacts_per_am_dried": 1.0, "cpu_s": 10.0},
        {"am_mass_fraction": 0.8, "solid_content": 0.5, "n_am": 30, "seed": 1,
         "error": "EngineInstability: stage drying | step 3"}]}
    (tmp_path / "recipe_box.json").write_text(json.dumps(rows))
    page = "text\n<!-- table: recipe-box -->\nold table\n<!-- /table -->\nmore\n"
    out = render_page(page, tmp_path)
    assert "old table" not in out and out.endswith("<!-- /table -->\nmore\n")
    assert "| 0.90 | 0.60 | 30 | 0 | 1 234 | 20.0 | 45.0 % | 47.0 % | 1.00 | 10 |" in out
    assert "failed: EngineInstability: stage drying / step 3" in out
    assert out.index("| 0.80 |") < out.index("| 0.90 |")  # sorted by recipe
    assert render_page(out, tmp_path) == out
    with pytest.raises(ValueError, match="unknown generated table 'nope'"):
        render_page("<!-- table: nope -->\n<!-- /table -->", tmp_path)
