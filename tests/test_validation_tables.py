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


def test_dem_design_rows_pair_each_calendering_with_its_indentation():
    from experiments.validation_tables import dem_design_table

    theta = {"cbd_plasticity": 0.5, "am_rolling": 0.1}
    other = {"cbd_plasticity": 0.2, "am_rolling": 0.0}
    curve = {"status": "ok", "porosity": [0.33, 0.28], "springback_percent": [1.0, 3.0],
             "cpu_s": 1000.0}
    data = {"parameters": ["cbd_plasticity", "am_rolling"],
            "measured": {"pressure_mpa": [5.92, 86.0], "porosity": [0.321, 0.263],
                         "porosity_sd": [0.013, 0.008], "recovery": 0.16,
                         "recovery_sd": 0.03},
            "runs": [{"film": "s0", "theta": theta, **curve},
                     {"film": "s1", "theta": theta, **curve},  # no indentation of s1
                     {"film": "s0", "theta": theta, "status": "ok", "cpu_s": 500.0,
                      "indent_depth_fraction": 0.1, "elastic_recovery": 0.142},
                     {"film": "s0", "theta": other, "status": "ok", "cpu_s": 1.0,
                      "indent_depth_fraction": 0.1, "elastic_recovery": 0.9}]}
    table = dem_design_table(data)
    lines = table.splitlines()
    assert len(lines) == 2 + 3  # header, rule, two calenderings, measured
    assert lines[2] == ("| 1 | s0 | 0.50 | 0.10 | 33.00 | 28.00 | 3.00 | 14.2 | 1 500 |")
    assert lines[3] == ("| 2 | s1 | 0.50 | 0.10 | 33.00 | 28.00 | 3.00 | – | 1 000 |")
    assert lines[4].endswith("| 32.1 ± 1.3 | 26.3 ± 0.8 |  | 16 ± 3 |  |")
    assert "90.0" not in table  # an indentation at another law is no one's


def test_dem_design_rows_show_the_crushed_share_and_log_scale_parameters():
    """A design over crushing parameters: the crushed AM share at each pressure joins each
    row (a failed run leaves it blank), and a log-scale parameter shows three significant
    digits (AM–AM friction 0.00712, not 0.01)."""
    from experiments.validation_tables import dem_design_table

    theta = {"am_friction": 0.00712, "am_strength_mpa": 185.7}
    data = {"parameters": ["am_friction", "am_strength_mpa"],
            "measured": {"pressure_mpa": [5.92, 86.0], "porosity": [0.321, 0.263],
                         "porosity_sd": [0.013, 0.008]},
            "runs": [{"film": "s0", "theta": theta, "status": "ok", "porosity": [0.346, 0.265],
                      "springback_percent": [1.0, 3.0], "am_crushed_fraction": [0.0, 0.275],
                      "cpu_s": 994.0},
                     {"film": "s1", "theta": theta, "status": "failed", "error": "x",
                      "cpu_s": 5.0}]}
    lines = dem_design_table(data).splitlines()
    assert lines[0] == ("| run | film | AM–AM μ | σ_0 [MPa] | 5.92 MPa | 86 MPa | spring-back at "
                        "the last [%] | crushed AM [%] | CPU s |")
    assert lines[2] == "| 1 | s0 | 0.00712 | 186 | 34.60 | 26.50 | 3.00 | 0.0 / 27.5 | 994 |"
    assert lines[3] == "| 2 | s1 | 0.00712 | 186 | failed: x |  |  |  | 5 |"
    assert lines[4] == "| measured |  |  |  | 32.1 ± 1.3 | 26.3 ± 0.8 |  |  |  |"


def test_the_crushing_table_shows_a_binder_film_where_a_run_has_one():
    """Runs with coated AM–AM friction add the bare friction and the film depth; a run
    without a film shows a dash there, and a scan without any film has no such column."""
    from experiments.validation_tables import crushing_table

    contact = {"plasticity": 0.2, "bridge_stiffness_ratio": 1.07,
               "bridge_equilibrium_fraction": 0.523, "am_rolling": 0.147, "am_yield_gpa": 13.44,
               "am_strength_mpa": 0.0, "am_weibull_modulus": 5.0, "am_crushed_yield_gpa": 2.0}
    point = {"pressure_target_mpa": 5.92, "porosity": 0.3403, "am_crushed_fraction": 0.0,
             "am_stress_p95_mpa": 16.0}
    runs = [{"film": "s0", "binder_contact": {**contact, "am_film_depth": 0.05,
                                              "am_bare_friction": 0.03},
             "am_friction": 0.002, "points": [point], "first_crush_mpa": None, "wall_s": 972.0},
            {"film": "s0", "binder_contact": contact, "am_friction": 0.002, "points": [point],
             "first_crush_mpa": None, "wall_s": 980.0}]
    lines = crushing_table({"runs": runs}, binder=True).splitlines()
    assert "| AM–AM μ | bare AM–AM μ (film depth δ_max/R*) | intact AM–AM p_y" in lines[0]
    assert "| 0.147 | 0.002 | 0.03 (0.05) | 13.44 | – |" in lines[2]
    assert "| 0.147 | 0.002 | – | 13.44 | – |" in lines[3]
    plain = crushing_table({"runs": runs[1:]}, binder=True).splitlines()
    assert "bare AM–AM μ" not in plain[0] and "| 0.002 | 13.44 |" in plain[2]
    assert "roll T" not in lines[0]
    heated = crushing_table({"runs": [{**runs[1], "temperature_c": 120.0}, runs[1]]},
                            binder=True).splitlines()
    assert heated[0].startswith("| film | roll T [°C] | CBD λ_p |")
    assert heated[2].startswith("| s0 | 120 | 0.2 |") and heated[3].startswith("| s0 | 60 |")


def test_the_indentation_table_shows_the_plateau_only_where_a_run_recorded_it():
    """Indentations recorded with the plateau's softening β show it and the factor on the
    bridge's equilibrium arm; earlier rows (the arm took the short-time factor) show dashes."""
    from experiments.validation_tables import indentation_runs_table

    contact = {"bridge_stiffness_ratio": 0.5, "bridge_equilibrium_fraction": 0.35,
               "am_film_depth": 0.05, "am_bare_friction": 0.06}
    row = {"film": "s0", "binder_contact": contact, "temperature_c": 25.0,
           "loading_time_s": 500.0, "elastic_recovery": 0.0597, "plastic_work_fraction": 0.98,
           "wall_s": 450.0}
    new = {**row, "plateau_softening_per_k": 0.015, "bridge_equilibrium_scale": 2.554,
           "elastic_recovery": 0.1247}
    lines = indentation_runs_table({"indentations": [row, new]}).splitlines()
    assert "| plateau β [1/K] | equilibrium-arm factor |" in lines[0]
    assert lines[2].startswith("| s0 | 0.5 | 0.35 | – | – | 0.06 (0.05) | 25 | 500 | 6.0 |")
    assert lines[3].startswith("| s0 | 0.5 | 0.35 | 0.015 | 2.55 | 0.06 (0.05) | 25 | 500 | 12.5 |")


def test_the_load_path_table_gives_each_calendering_its_am_share_and_coordination():
    from experiments.validation_tables import dem_load_path_table

    theta = {"cbd_plasticity": 0.5}
    data = {"parameters": ["cbd_plasticity"],
            "measured": {"pressure_mpa": [5.92, 86.0], "porosity": [0.321, 0.263],
                         "porosity_sd": [0.013, 0.008]},
            "runs": [{"film": "s0", "theta": theta, "status": "ok",
                      "load_share_am_am": [0.836, 0.96], "am_contacts_per_am_max": [3.39, 5.65]},
                     {"film": "s0", "theta": theta, "status": "ok",
                      "indent_depth_fraction": 0.1, "elastic_recovery": 0.2},
                     {"film": "s1", "theta": theta, "status": "failed", "error": "x"},
                     {"film": "s1", "theta": theta, "status": "ok"}]}
    lines = dem_load_path_table(data).splitlines()
    assert len(lines) == 2 + 2  # the indentation and the failed run have no row
    assert lines[2] == "| 1 | s0 | 0.50 | 83.6 | 96.0 | 3.39 | 5.65 |"
    assert lines[3] == "| 3 | s1 | 0.50 | – | – | – | – |"
