"""Structure metrics of a particle packing: thickness, density, porosity, coordination, g(r).

Definitions (used by every stage):

* thickness [µm]: for a periodic z, the box height; between two planes (a calendered film
  held at the roll position), the plane gap; otherwise from the floor plane (or the lowest
  particle bottom) to the *mean surface height*, the mean over an xy grid (cells of the
  largest AM diameter) of the highest particle top in each cell, as a profilometer reads a
  rough film.
* density [g cm⁻³] = Σ m / (Lx Ly thickness) with real masses (the paper's definition).
* porosity [-] = 1 - Σ V / (Lx Ly thickness) with real (unexpanded) particle volumes m/ρ.
* coordination number: particle-particle contacts (centre distance < r_i + r_j, contact radii).
* g(r): partial radial distribution functions of centres, minimum image on periodic axes; for a
  non-periodic z only reference particles farther than r_max from the film faces count, so the
  ideal-gas normalisation by shell volume holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from physics.state import AM_SPECIES, CBD_SPECIES, ParticleState

SPECIES_NAMES = {AM_SPECIES: "AM", CBD_SPECIES: "CBD"}


def film_bounds_um(state: ParticleState) -> tuple[float, float]:
    """(bottom, top) of the electrode along z [µm] (see module docstring)."""
    if state.periodic[2]:
        return float(state.box_lo_um[2]), float(state.box_hi_um[2])
    floors = state.wall_z_um[state.wall_side > 0]
    bottom = float(floors.max()) if floors.size else float(
        np.min(state.position_um[:, 2] - state.radius_um))
    ceilings = state.wall_z_um[state.wall_side < 0]
    if ceilings.size:
        return bottom, float(ceilings.min())
    top_of = state.position_um[:, 2] + state.radius_um
    cell = 2.0 * float(state.radius_um[state.species == AM_SPECIES].max(initial=0.0)
                       or state.radius_um.max())
    nx = max(1, int(state.box_len_um[0] // cell))
    ny = max(1, int(state.box_len_um[1] // cell))
    ix = np.clip(((state.position_um[:, 0] - state.box_lo_um[0]) / state.box_len_um[0] * nx)
                 .astype(int), 0, nx - 1)
    iy = np.clip(((state.position_um[:, 1] - state.box_lo_um[1]) / state.box_len_um[1] * ny)
                 .astype(int), 0, ny - 1)
    height = np.full(nx * ny, -np.inf)
    np.maximum.at(height, ix * ny + iy, top_of)
    filled = height[np.isfinite(height)]
    return bottom, float(filled.mean())


@dataclass(frozen=True)
class StructureMetrics:
    """Scalar descriptors of a packing (units in the names)."""

    thickness_um: float
    density_g_cm3: float
    porosity: float
    n_am: int
    n_cbd: int
    mass_pg: float
    coordination_mean: float
    coordination_am: float
    coordination_cbd: float
    max_overlap_fraction: float  # largest overlap / smaller contact radius [-]

    def to_metrics(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


def _tree(state: ParticleState, r_max: float) -> tuple[cKDTree, np.ndarray]:
    """A cKDTree whose box wraps periodic axes and never wraps the others within r_max."""
    pos = state.position_um - state.box_lo_um
    size = np.empty(3)
    for a in range(3):
        if state.periodic[a]:
            pos[:, a] = np.mod(pos[:, a], state.box_len_um[a])
            size[a] = state.box_len_um[a]
        else:
            pos[:, a] -= pos[:, a].min()
            size[a] = 2.0 * (pos[:, a].max() + r_max) + 1.0
    return cKDTree(pos, boxsize=size), pos


def _pairs_within(state: ParticleState, r_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tree, pos = _tree(state, r_max)
    pairs = tree.query_pairs(r_max, output_type="ndarray")
    d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
    size = tree.boxsize
    d -= size * np.rint(d / size)
    return pairs[:, 0], pairs[:, 1], np.sqrt(np.einsum("ij,ij->i", d, d))


def contacts(state: ParticleState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, overlap [µm]) of the particle pairs in contact."""
    i, j, r = _pairs_within(state, 2.0 * float(state.radius_um.max()))
    overlap = state.radius_um[i] + state.radius_um[j] - r
    touch = overlap > 0
    return i[touch], j[touch], overlap[touch]


def structure_metrics(state: ParticleState) -> StructureMetrics:
    """Thickness, density, porosity and coordination of ``state``."""
    bottom, top = film_bounds_um(state)
    thickness = top - bottom
    volume = float(state.box_len_um[0] * state.box_len_um[1] * thickness)
    i, j, overlap = contacts(state)
    coord = np.bincount(i, minlength=state.n) + np.bincount(j, minlength=state.n)
    am = state.species == AM_SPECIES
    smaller = np.minimum(state.radius_um[i], state.radius_um[j])
    return StructureMetrics(
        thickness_um=thickness,
        density_g_cm3=float(state.mass_pg.sum()) / volume,
        porosity=1.0 - float(state.volume_um3.sum()) / volume,
        n_am=int(am.sum()), n_cbd=int((~am).sum()), mass_pg=float(state.mass_pg.sum()),
        coordination_mean=float(coord.mean()),
        coordination_am=float(coord[am].mean()) if am.any() else 0.0,
        coordination_cbd=float(coord[~am].mean()) if (~am).any() else 0.0,
        max_overlap_fraction=float((overlap / smaller).max()) if overlap.size else 0.0,
    )


@dataclass(frozen=True)
class RadialDistribution:
    """Partial g(r) curves: ``g[name]`` on ``r_um`` bin centres; name e.g. 'AM-CBD'."""

    r_um: np.ndarray
    g: dict[str, np.ndarray]

    def first_peak_um(self, name: str) -> float:
        """Position of the highest g(r) value of a partial [µm]."""
        return float(self.r_um[int(np.argmax(self.g[name]))])


def radial_distribution(state: ParticleState, r_max_um: float = 12.0,
                        dr_um: float = 0.05) -> RadialDistribution:
    """Partial radial distribution functions AM-AM, AM-CBD, CBD-CBD (module docstring)."""
    edges = np.arange(0.0, r_max_um + dr_um, dr_um)
    centres = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    i, j, r = _pairs_within(state, r_max_um)
    z = state.position_um[:, 2]
    if state.periodic[2]:
        usable = np.ones(state.n, bool)
        depth = float(state.box_len_um[2])
    else:
        bottom, top = film_bounds_um(state)
        usable = (z > bottom + r_max_um) & (z < top - r_max_um)
        depth = top - bottom
    volume = float(state.box_len_um[0] * state.box_len_um[1] * depth)
    out = {}
    for a, b in ((AM_SPECIES, AM_SPECIES), (AM_SPECIES, CBD_SPECIES),
                 (CBD_SPECIES, CBD_SPECIES)):
        name = f"{SPECIES_NAMES[a]}-{SPECIES_NAMES[b]}"
        n_b = int(np.sum(state.species == b))
        refs = int(np.sum(usable & (state.species == a)))
        if refs == 0 or n_b == 0:
            out[name] = np.zeros_like(centres)
            continue
        # count each (reference a, partner b) once, in either pair order
        fwd = usable[i] & (state.species[i] == a) & (state.species[j] == b)
        bwd = usable[j] & (state.species[j] == a) & (state.species[i] == b)
        hist = (np.histogram(r[fwd], edges)[0] + np.histogram(r[bwd], edges)[0]).astype(float)
        density_b = (n_b - (1 if a == b else 0)) / volume
        out[name] = hist / (refs * density_b * shell)
    return RadialDistribution(centres, out)


def tile_xy(state: ParticleState, n: int) -> ParticleState:
    """The structure replicated n × n times across its periodic x-y cross-section (the paper
    tiles its cell 4 × 4 for micro-indentation)."""
    if not (isinstance(n, int | np.integer) and 1 <= n <= 10):
        raise ValueError(f"tile count n = {n!r} is outside the allowed range [1, 10]")
    if not (state.periodic[0] and state.periodic[1]):
        raise ValueError("tile_xy needs a structure periodic in x and y")
    if n == 1:
        return state
    lx, ly = float(state.box_len_um[0]), float(state.box_len_um[1])
    shifts = np.array([(i * lx, j * ly, 0.0) for i in range(n) for j in range(n)])
    pos = (state.position_um[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    hi = state.box_hi_um.copy()
    hi[0] = state.box_lo_um[0] + n * lx
    hi[1] = state.box_lo_um[1] + n * ly

    def rep(a: np.ndarray) -> np.ndarray:
        return np.tile(a, n * n)

    return ParticleState(
        position_um=pos, radius_um=rep(state.radius_um), species=rep(state.species),
        mass_pg=rep(state.mass_pg), density_g_cm3=rep(state.density_g_cm3),
        box_lo_um=state.box_lo_um.copy(), box_hi_um=hi, periodic=state.periodic.copy(),
        wall_z_um=state.wall_z_um.copy(), wall_side=state.wall_side.copy(),
        meta={**state.meta, "tiled_xy": int(n)})


def am_cbd_shell_count(state: ParticleState, gap_um: float = 0.2) -> float:
    """Mean number of CBD particles per AM particle whose surfaces are closer than ``gap_um``
    (contact radii; overlapping pairs count): how densely binder coats the AM surfaces.

    The AM–CBD g(r) of a polydisperse AM has one contact spike per AM size; this one number
    collapses them (Ngandjong et al. 2021 §3 read the compaction of CBD onto AM off those
    spikes)."""
    if not gap_um >= 0:
        raise ValueError(f"gap_um = {gap_um!r}; allowed range [0, inf)")
    reach = 2.0 * float(state.radius_um.max()) + gap_um
    i, j, r = _pairs_within(state, reach)
    gap = r - state.radius_um[i] - state.radius_um[j]
    si, sj = state.species[i], state.species[j]
    mixed = (si != sj) & (gap < gap_um)
    n_am = int(np.sum(state.species == AM_SPECIES))
    return float(mixed.sum()) / n_am if n_am else 0.0


def open_periodic_z(state: ParticleState, n_bins: int = 400) -> ParticleState:
    """A z-periodic structure (fully periodic drying, as the paper's CGMD) opened into a film
    on a floor plane, ready for calendering.

    The periodic column is cut at the height crossed by the least particle volume (AM counted
    first: the cut avoids AM particles if it can), the particles are unwrapped to lie above the
    cut, and a floor plane (the current collector) is put under the lowest particle bottom.
    The free top is open; the box keeps the unwrapped height plus one largest diameter.
    """
    if not state.periodic[2]:
        raise ValueError("open_periodic_z: the structure is not periodic in z")
    lo, length = float(state.box_lo_um[2]), float(state.box_len_um[2])
    z = (state.position_um[:, 2] - lo) % length
    r = state.radius_um
    heights = (np.arange(n_bins) + 0.5) * length / n_bins
    # distance of each candidate cut to each centre, minimum image along z
    d = np.abs((heights[:, None] - z[None, :] + 0.5 * length) % length - 0.5 * length)
    crossed = d < r[None, :]
    is_am = state.species == AM_SPECIES
    am_cut = (crossed & is_am[None, :]) @ state.volume_um3
    all_cut = crossed @ state.volume_um3
    best = int(np.lexsort((all_cut, am_cut))[0])
    z_cut = heights[best]
    z_new = (z - z_cut) % length  # centres in [0, L): a cut particle sticks out below or above
    floor = float(np.min(z_new - r))
    z_new -= floor
    pos = state.position_um.copy()
    pos[:, 2] = z_new
    top = float(np.max(z_new + r))
    box_lo = state.box_lo_um.copy()
    box_hi = state.box_hi_um.copy()
    box_lo[2], box_hi[2] = 0.0, top + 2.0 * float(r.max())
    meta = {**state.meta, "opened_periodic_z_at_um": lo + z_cut,
            "opened_periodic_z_am_volume_cut_um3": float(am_cut[best])}
    return replace(state, position_um=pos, box_lo_um=box_lo, box_hi_um=box_hi,
                   periodic=np.array([state.periodic[0], state.periodic[1], False]),
                   wall_z_um=np.array([0.0]), wall_side=np.array([1]), meta=meta)


AM_CONTACT_EXPANSION = 1.02  # the paper's AM contact diameter / real diameter (Table S2, §2)


@dataclass(frozen=True)
class AMSkeleton:
    """The AM–AM contact network of a packing (:func:`am_skeleton`).

    Attributes:
        contacts_per_am: AM–AM contacts per AM particle, a contact being a centre distance
            below 1.02 × the sum of the real radii (the paper's g(r) contact peaks, which the
            DEM's expanded diameters turn into load-bearing Hertz contacts).
        near_contacts_per_am: the same within ``near_factor`` × the real radius sum (pairs
            that a small strain closes).
        isolated_fraction: share of AM particles without an AM–AM contact [-].
        largest_cluster_fraction: share of AM particles in the largest AM–AM contact
            cluster [-].
        spans_film: the largest cluster reaches from within one AM radius of the film bottom
            to within one AM radius of its top (an AM load path through the thickness; False
            for a z-periodic column).
    """

    contacts_per_am: float
    near_contacts_per_am: float
    isolated_fraction: float
    largest_cluster_fraction: float
    spans_film: bool

    def to_metrics(self) -> dict[str, float]:
        return {f"am_skeleton_{k}": float(v) for k, v in self.__dict__.items()}


def am_skeleton(state: ParticleState, near_factor: float = 1.05) -> AMSkeleton:
    """AM–AM coordination and connectivity of ``state`` (see :class:`AMSkeleton`).

    Real AM radii come from mass and density, so the reading does not depend on the contact
    radius a stage gives the AM (1.14 d solvent shell in the slurry, 1.02 d after drying).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not near_factor >= AM_CONTACT_EXPANSION:
        raise ValueError(f"near_factor = {near_factor!r}; allowed range "
                         f"[{AM_CONTACT_EXPANSION}, inf)")
    am = np.flatnonzero(state.species == AM_SPECIES)
    if am.size == 0:
        raise ValueError("am_skeleton: the structure holds no AM particle")
    sub = replace(state, position_um=state.position_um[am], radius_um=state.radius_um[am],
                  species=state.species[am], mass_pg=state.mass_pg[am],
                  density_g_cm3=state.density_g_cm3[am])
    r_real = (3.0 * sub.volume_um3 / (4.0 * np.pi)) ** (1.0 / 3.0)
    i, j, r = _pairs_within(sub, 2.0 * near_factor * float(r_real.max()))
    ratio = r / (r_real[i] + r_real[j])
    touch = ratio < AM_CONTACT_EXPANSION
    near = ratio < near_factor
    n = am.size
    graph = coo_matrix((np.ones(int(touch.sum())), (i[touch], j[touch])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    biggest = label == int(np.argmax(sizes))
    degree = np.bincount(i[touch], minlength=n) + np.bincount(j[touch], minlength=n)
    spans = False
    if not state.periodic[2]:
        bottom, top = film_bounds_um(state)
        z = sub.position_um[biggest, 2]
        rb = r_real[biggest]
        spans = bool(np.any(z - rb <= bottom + r_real.mean())
                     and np.any(z + rb >= top - r_real.mean()))
    return AMSkeleton(contacts_per_am=2.0 * float(touch.sum()) / n,
                      near_contacts_per_am=2.0 * float(near.sum()) / n,
                      isolated_fraction=float(np.mean(degree == 0)),
                      largest_cluster_fraction=float(sizes.max()) / n, spans_film=spans)
