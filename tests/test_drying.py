"""Slurry + drying mechanics at ci size (80 AM + 1 922 CBD, shortened step caps).

The porosity/density validation against the paper (40-44 %, 2.3-2.5 g/cm³) runs at the
fast and paper sizes in ``benchmarks/slurry.py`` (minutes); these tests check the mechanics.
"""

import dataclasses
import math

import numpy as np
import pytest

from physics.materials import paper_recipe
from physics.slurry import DryingProtocol, build_slurry, dry_electrode
from physics.state import ParticleState
from physics.structure import contacts, radial_distribution

SHORT = DryingProtocol(max_slurry_steps=6000, shrink_steps=5000, max_dried_steps=6000,
                       window=4)


@pytest.fixture(scope="module")
def dried():
    return dry_electrode(paper_recipe(), 80, seed=3, protocol=SHORT)


def test_density_rises_and_mass_is_conserved(dried):
    counts = paper_recipe().counts_for_am(80)
    assert dried.dried.n == dried.slurry.n == counts.n_am + counts.n_cbd
    assert dried.dried.mass_pg.sum() == pytest.approx(counts.am_mass_pg + counts.cbd_mass_pg,
                                                      rel=1e-12)
    assert dried.metrics.density_g_cm3 > dried.slurry_metrics.density_g_cm3
    densities = [r["density_g_cm3"] for r in dried.log if r["phase"] == "slurry"]
    assert densities[-1] > densities[0]  # the slurry consolidates under 1 atm
    assert np.isfinite(dried.dried.position_um).all()


def test_overlaps_stay_small(dried):
    """Overlap / smaller contact radius: AM-AM and CBD-CBD below 0.3 (CBD pairs sit at the LJ
    minimum 1.235 µm inside their 1.3 µm contact diameter, 5 % by design), AM-CBD below 0.7
    (a CBD pressed into the 2 % AM contact shell, whose LJ minimum lies inside it).
    Measured at fast size: maxima 0.18, 0.24, 0.49."""
    state = dried.dried
    i, j, overlap = contacts(state)
    frac = overlap / np.minimum(state.radius_um[i], state.radius_um[j])
    kinds = state.species[i].astype(int) + state.species[j].astype(int)  # 0 AM-AM, 1, 2 CBD-CBD
    assert frac[kinds == 0].max(initial=0) < 0.3
    assert frac[kinds == 2].max() < 0.3
    assert frac[kinds == 1].max() < 0.7


def test_cbd_shrunk_and_cbd_aggregates(dried):
    cbd = dried.dried.species == 1
    assert np.allclose(dried.dried.radius_um[cbd], 0.65)
    rdf = radial_distribution(dried.dried, r_max_um=6.0)
    assert 1.1 <= rdf.first_peak_um("CBD-CBD") <= 1.45  # near 2 × 0.65 µm


def test_dried_state_roundtrip(dried, tmp_path):
    back = ParticleState.load(dried.dried.save(tmp_path / "dried.npz"))
    assert np.array_equal(back.position_um, dried.dried.position_um)
    assert back.meta["stage"] == "dried" and back.meta["seed"] == 3




def test_protocol_rejects_an_abrupt_switch():
    with pytest.raises(ValueError, match="shrink_steps = 500 must be >= 10"):
        DryingProtocol(shrink_steps=500)


def test_build_rejects_thin_periodic_column():
    with pytest.raises(ValueError, match="box length along z"):
        build_slurry(paper_recipe(), 10, 25.8, seed=0, protocol=DryingProtocol(mode="periodic"))


RECIPE_BOX = [(0.80, 0.50), (0.80, 0.80), (0.98, 0.50), (0.98, 0.80), (0.89, 0.65), (0.94, 0.60)]
#: a few thousand steps per stage: enough to reach the instabilities and the dense placement
TINY = DryingProtocol(check_every=100, window=2, max_slurry_steps=1500, shrink_steps=1000,
                      max_dried_steps=1000, relax_steps=500)


def test_fixed_seed_reproduces_the_structure():
    """Every stage of the protocol, each a few thousand steps, on a 30-AM film (the size does
    not change what is tested: a seed fixes the whole chain bit for bit)."""
    a = dry_electrode(paper_recipe(), 30, seed=5, protocol=TINY)
    b = dry_electrode(paper_recipe(), 30, seed=5, protocol=TINY)
    assert np.array_equal(a.dried.position_um, b.dried.position_um)
    assert np.array_equal(a.slurry.position_um, b.slurry.position_um)


@pytest.mark.parametrize("am_mass_fraction,solid_content", RECIPE_BOX)
def test_every_recipe_of_the_box_dries_and_relaxes(am_mass_fraction, solid_content):
    """Corners and centre of the declared recipe box (AM 0.80-0.98, solids 0.50-0.80) and the
    94 %/60 % recipe that used to blow up: the slurry is placed (a paste is placed taller and
    consolidated), the drying runs (a blown-up sub-block is re-run with half the step), and
    the dried film survives the switch to the DEM law.  30 AM particles and a few thousand
    steps per stage: mechanics only (``benchmarks/recipe_box.py`` dries the box at full
    length)."""
    from physics.calender import dem_relaxed
    from physics.pipeline import ProcessInputs
    from physics.structure import structure_metrics

    recipe = ProcessInputs(am_mass_fraction=am_mass_fraction,
                           solid_content=solid_content).recipe()
    res = dry_electrode(recipe, 30, seed=0, protocol=TINY)
    counts = recipe.counts_for_am(30)
    assert res.dried.n == counts.n_am + counts.n_cbd
    assert np.isfinite(res.dried.position_um).all()
    assert np.allclose(res.dried.radius_um[res.dried.species == 1], recipe.cbd_radius_dry_um)
    assert 0.2 < res.metrics.porosity < 0.9
    film = dem_relaxed(res.dried)
    assert np.isfinite(film.position_um).all()
    assert 0.2 < structure_metrics(film).porosity < 0.9


def test_a_blown_up_sub_block_is_rerun_with_half_the_step_and_the_step_comes_back():
    """At 4 × the slurry step the swollen blobs' summed dashpots blow the integration up
    within a few steps; the sub-block is re-run from its start with half the step, the step
    is doubled back after a stable stretch, the run ends finite, and every shrink stage lasts
    its nominal simulated time (check_every × its nominal step) whatever the step did."""
    protocol = dataclasses.replace(TINY, dt_slurry_us=0.004)
    res = dry_electrode(paper_recipe(), 30, seed=0, protocol=protocol)
    assert res.dt_halvings >= 1 and res.dt_restores >= 1
    assert np.isfinite(res.dried.position_um).all()
    n = protocol.shrink_steps // protocol.check_every
    dt_log = math.log(protocol.dt_dried_us / protocol.dt_slurry_us)
    t_prev = [r["time_us"] for r in res.log if r["phase"] == "slurry"][-1]
    shrink = [r for r in res.log if r["phase"] == "shrink"]
    assert len(shrink) == n
    for k, row in enumerate(shrink, 1):
        nominal = protocol.check_every * protocol.dt_slurry_us * math.exp(dt_log * k / n)
        assert row["time_us"] - t_prev == pytest.approx(nominal, rel=1e-6), k
        t_prev = row["time_us"]




def test_a_step_that_keeps_blowing_up_after_coming_back_settles_at_half(monkeypatch):
    """A stand-in integration that blows up after 10 sub-blocks at the full step, every
    time (a slurry whose steady state needs the smaller step): each blow-up after the first
    doubling-back doubles the stable stretch asked before the next one, so over 100 000
    nominal steps the run blows up 8 times (not once per ~30 sub-blocks, ~70) and every
    block lasts its nominal simulated time."""
    import physics.slurry as slurry
    from physics.engine import EngineInstability

    class Stand:
        dt, step_count, stage, full = 0.001, 0, "slurry", 0

        def snapshot(self):
            return {"step_count": self.step_count}

        def restore(self, snap):
            self.step_count = snap["step_count"]

    def sub_block(sim, *args):
        if sim.dt > 0.75e-3:
            sim.full += 1
            if sim.full > 10:
                sim.full = 0
                raise EngineInstability("stand-in blow-up")
        sim.step_count += slurry.SUB_STEPS
        return 1.0

    monkeypatch.setattr(slurry, "_sub_block", sub_block)
    sim, control = Stand(), slurry._StepControl()
    for _ in range(200):
        slurry._step_block(sim, TINY, None, None, 1.0, 500, control)
    assert control.nominal_steps == pytest.approx(200 * 500)
    assert 3 <= control.halvings <= 10 and control.restore_after >= 320  # measured: 8, 2560
    assert control.scale == 0.5 and sim.dt == pytest.approx(0.0005)
