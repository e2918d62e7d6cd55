"""Electronic conduction through the particles' contact network (a resistor network on the
DEM contacts), beside the voxel solve of :mod:`physics.transport`.

Why a second model.  The voxel solve conducts through shared voxel faces.  The CBD spheres'
contacts have radii of ~0.2 µm (the intersection circles in the dried and calendered films),
below the paper's 0.25 µm voxel: the grid keeps or loses each such neck by where the sphere
centres fall, and a CBD network that the DEM holds together spans the voxel image or not
(docs/validation/electronic_limit.md: the `ci` films at 5.92 MPa span in the contact graph
and not on the 0.25 µm image).  The network model takes the contacts from the particle
structure itself, at any voxel size.

Model (one node per particle, one resistor per contact; the nodes are equipotential):

* A contact is a pair with overlap δ = r_i + r_j − |x_i − x_j| > 0 (contact radii of the
  state: AM expanded by 2 %, as the DEM's contacts; periodic in x and y).  Its radius a is
  that of the circle where the two spheres intersect, ≈ sqrt(2 R* δ) with R* = r_i r_j /
  (r_i + r_j): the flattened contact of a plastic (binder) contact.  Hertz's elastic
  a = sqrt(R* δ) is 1/√2 of it; against a voxel solve of a sphere chain the intersection
  radius gives the closer resistance (tests/test_conduction.py).
* Its resistance is Holm's constriction resistance of a circular contact into each of the two
  bodies, 1/(4 a σ_i) + 1/(4 a σ_j) (R. Holm, *Electric Contacts*, 4th ed., Springer 1967,
  §4; a ≪ r: each body is a half-space), in series with an interface film of conductance G
  per contact area on AM–CBD and AM–AM contacts, 1/(G π a²) (the contact conductances of
  :class:`physics.transport.ContactConductance`; none on CBD–CBD contacts, one phase).
  The bulk path through a particle between its contacts is not resolved: with a/r ≈ 0.2 the
  constriction carries most of the resistance (tests/test_conduction.py measures the
  difference to a voxel solve of a sphere chain).
* σ_eff along z is measured between two probe planes inset by ``probe_inset_um`` (default
  one CBD diameter, 1.3 µm) from the film's bottom and top (:func:`physics.structure.
  film_bounds_um`): every particle reaching below the lower plane is held at 0 V, every
  particle reaching above the upper one at 1 V, and σ_eff = I L / (A ΔV) with L the planes'
  distance and A the cross-section.  The insets keep the loose top surface and the collector
  layer out of a bulk property (a rough top met by a flat plane at its mean height touches a
  handful of particles).
* Only the particles of the contact clusters that touch both planes carry current; none: the
  solid does not percolate, σ_eff = 0.

Units: lengths in the state in µm, converted to m; conductivities in S/m; G in S/m².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse import linalg as sparse_linalg
from scipy.spatial import cKDTree

from physics.state import AM_SPECIES, CBD_SPECIES, ParticleState
from physics.structure import film_bounds_um
from physics.transport import SIGMA_AM_S_M, SIGMA_CBD_S_M, ContactConductance

#: default probe-plane inset from each face of the film [µm]: one dried CBD diameter
PROBE_INSET_UM = 1.3
#: contact kinds (species sum of the pair)
AM_AM, AM_CBD, CBD_CBD = 0, 1, 2
KIND_NAMES = {AM_AM: "am_am", AM_CBD: "am_cbd", CBD_CBD: "cbd_cbd"}


@dataclass(frozen=True, eq=False)
class ContactNetwork:
    """The contacts of a particle structure and its two probe electrodes (module docstring).

    ``i``, ``j``: particle indices of each contact; ``contact_radius_m``: the radius of the
    spheres' intersection circle [m];
    ``kind``: AM_AM, AM_CBD or CBD_CBD; ``low`` / ``high``: particles held at 0 V / 1 V;
    ``length_m``: distance of the probe planes [m]; ``area_m2``: cross-section [m²].
    """

    i: np.ndarray
    j: np.ndarray
    contact_radius_m: np.ndarray
    kind: np.ndarray
    species: np.ndarray
    low: np.ndarray
    high: np.ndarray
    length_m: float
    area_m2: float

    @property
    def n(self) -> int:
        return int(self.species.size)

    def contacts_per_particle(self) -> dict[str, float]:
        """Contacts of each kind per particle of the film (AM–AM per AM, AM–CBD per AM,
        CBD–CBD per CBD)."""
        n_am = max(int(np.sum(self.species == AM_SPECIES)), 1)
        n_cbd = max(int(np.sum(self.species == CBD_SPECIES)), 1)
        count = np.bincount(self.kind, minlength=3)
        return {"am_am_per_am": 2.0 * count[AM_AM] / n_am, "am_cbd_per_am": count[AM_CBD] / n_am,
                "cbd_cbd_per_cbd": 2.0 * count[CBD_CBD] / n_cbd}


def contact_network(state: ParticleState, probe_inset_um: float = PROBE_INSET_UM
                    ) -> ContactNetwork:
    """The contact network of ``state`` with its probe planes along z (module docstring)."""
    if state.periodic[2]:
        raise ValueError("the contact network needs a film with a floor: the state is "
                         "periodic in z (open it with physics.structure.open_periodic_z)")
    bottom, top = film_bounds_um(state)
    lo_plane, hi_plane = bottom + probe_inset_um, top - probe_inset_um
    if not (probe_inset_um >= 0 and hi_plane > lo_plane):
        raise ValueError(f"probe_inset_um = {probe_inset_um}: allowed 0 to half the film "
                         f"thickness ({0.5 * (top - bottom):.3g} µm)")
    r = state.radius_um
    box = state.box_len_um
    pos = state.position_um - state.box_lo_um
    for axis in (0, 1):
        if state.periodic[axis]:
            pos[:, axis] %= box[axis]
    # cKDTree's periodic box: the period along periodic axes, far wider than the film along
    # the others (coordinates shifted to start at 0 there)
    reach = float(np.ptp(pos, axis=0).max() + 4.0 * r.max() + 1.0)
    size = np.empty(3)
    for axis in range(3):
        if state.periodic[axis]:
            size[axis] = box[axis]
        else:
            pos[:, axis] -= pos[:, axis].min()
            size[axis] = 1e3 * reach
    tree = cKDTree(pos, boxsize=size)
    pairs = tree.query_pairs(2.0 * float(r.max()), output_type="ndarray")
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    d = pos[i] - pos[j]
    for axis in (0, 1):
        if state.periodic[axis]:
            d[:, axis] -= box[axis] * np.round(d[:, axis] / box[axis])
    overlap = r[i] + r[j] - np.linalg.norm(d, axis=1)
    touching = overlap > 0.0
    i, j, dist = i[touching], j[touching], np.linalg.norm(d[touching], axis=1)
    # radius of the intersection circle: r_i² − x², x the distance of its plane from x_i
    x = (dist ** 2 + r[i] ** 2 - r[j] ** 2) / (2.0 * dist)
    a2 = np.where(dist > np.abs(r[i] - r[j]), r[i] ** 2 - x ** 2, np.minimum(r[i], r[j]) ** 2)
    z = state.position_um[:, 2]
    return ContactNetwork(
        i=i, j=j, contact_radius_m=np.sqrt(np.maximum(a2, 0.0)) * 1e-6,
        kind=(state.species[i].astype(np.int64) + state.species[j]).astype(np.int64),
        species=state.species.copy(), low=z - r <= lo_plane, high=z + r >= hi_plane,
        length_m=(hi_plane - lo_plane) * 1e-6, area_m2=float(box[0] * box[1]) * 1e-12)


def contact_conductance_s(a_m: np.ndarray, sigma_i: np.ndarray, sigma_j: np.ndarray,
                          film_s_m2: np.ndarray) -> np.ndarray:
    """Conductance [S] of circular contacts of radius ``a_m`` [m]: Holm's constriction into
    each body, 1/(4 a σ), in series with a film of ``film_s_m2`` per area (inf: none)."""
    with np.errstate(divide="ignore"):
        resistance = 1.0 / (4.0 * a_m * sigma_i) + 1.0 / (4.0 * a_m * sigma_j)
        resistance = resistance + np.where(np.isfinite(film_s_m2),
                                           1.0 / (film_s_m2 * math.pi * a_m ** 2), 0.0)
        return 1.0 / resistance


@dataclass(frozen=True)
class NetworkConductivity:
    """σ_eff along z of a contact network and where its current flows."""

    sigma_eff_s_m: float
    percolates: bool
    n_carrying_particles: int
    current_share: dict  # kind name -> share of Σ |I_c| over the contacts, a path measure


def network_conductivity(net: ContactNetwork, sigma_am_s_m: float = SIGMA_AM_S_M,
                         sigma_cbd_s_m: float = SIGMA_CBD_S_M,
                         contact: ContactConductance | None = None) -> NetworkConductivity:
    """Effective through-plane electronic conductivity [S/m] of the network (module
    docstring): Kirchhoff's laws on the spanning clusters, a sparse direct solve."""
    for name, v in (("sigma_am_s_m", sigma_am_s_m), ("sigma_cbd_s_m", sigma_cbd_s_m)):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a conductivity > 0 in S/m, got {v}")
    contact = contact or ContactConductance()
    sigma = np.where(net.species == AM_SPECIES, sigma_am_s_m, sigma_cbd_s_m)
    film = np.select([net.kind == AM_AM, net.kind == AM_CBD],
                     [contact.am_am_s_m2, contact.am_cbd_s_m2], math.inf)
    g = contact_conductance_s(net.contact_radius_m, sigma[net.i], sigma[net.j], film)
    n = net.n
    # the two electrodes as nodes n (0 V) and n + 1 (1 V): the spanning clusters hold both
    low, high = np.flatnonzero(net.low), np.flatnonzero(net.high)
    rows = np.concatenate([net.i, low, high])
    cols = np.concatenate([net.j, np.full(low.size, n), np.full(high.size, n + 1)])
    adjacency = sparse.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n + 2, n + 2))
    _, label = csgraph.connected_components(adjacency, directed=False)
    empty = {name: 0.0 for name in KIND_NAMES.values()}
    if label[n] != label[n + 1]:
        return NetworkConductivity(0.0, False, 0, empty)
    carrying = np.flatnonzero(label[:n] == label[n])
    free = carrying[~(net.low[carrying] | net.high[carrying])]
    index = np.full(n, -1)
    index[free] = np.arange(free.size)
    volt = np.where(net.high, 1.0, 0.0)
    keep = (label[net.i] == label[n])
    i, j, gk = net.i[keep], net.j[keep], g[keep]
    fi, fj = index[i], index[j]
    # Laplacian rows of the free nodes; fixed neighbours go to the right-hand side
    diag = np.bincount(fi[fi >= 0], weights=gk[fi >= 0], minlength=free.size) + \
        np.bincount(fj[fj >= 0], weights=gk[fj >= 0], minlength=free.size)
    both = (fi >= 0) & (fj >= 0)
    lap = sparse.coo_matrix((np.concatenate([-gk[both], -gk[both], diag]),
                             (np.concatenate([fi[both], fj[both], np.arange(free.size)]),
                              np.concatenate([fj[both], fi[both], np.arange(free.size)]))),
                            shape=(free.size, free.size)).tocsc()
    rhs = np.bincount(fi[(fi >= 0) & (fj < 0)], weights=(gk * volt[j])[(fi >= 0) & (fj < 0)],
                      minlength=free.size) + \
        np.bincount(fj[(fj >= 0) & (fi < 0)], weights=(gk * volt[i])[(fj >= 0) & (fi < 0)],
                    minlength=free.size)
    if free.size:
        volt[free] = sparse_linalg.spsolve(lap, rhs)
    flow = gk * (volt[i] - volt[j])  # from i to j
    # current into the 0 V electrode: through its contacts with free or 1 V particles
    into_low = np.sum(flow[net.low[j] & ~net.low[i]]) - np.sum(flow[net.low[i] & ~net.low[j]])
    sigma_eff = float(into_low) * net.length_m / net.area_m2
    total = float(np.sum(np.abs(flow))) or 1.0
    kinds = net.kind[keep]
    share = {name: float(np.sum(np.abs(flow[kinds == k])) / total)
             for k, name in KIND_NAMES.items()}
    return NetworkConductivity(sigma_eff, True, int(carrying.size), share)
