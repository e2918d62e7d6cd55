"""Layout of the per-type-pair contact parameters and of the per-contact history.

``params[ti, tj, :]`` (engine units: µm, pg, µs, nN, kPa):

====  ============  ==================================================================
 idx  name          meaning
====  ============  ==================================================================
 0    KN            normal stiffness: F_el = KN sqrt(R* δ) δ          (LIGGGHTS: 4/3 E*)
 1    KT            tangential stiffness: k_t = KT sqrt(R* δ)          (LIGGGHTS: 8 G*)
 2    GN_A          normal damping γn = GN_A sqrt(m*) (R* δ)^¼ + GN_B m* sqrt(R* δ)
 3    GN_B            (LIGGGHTS: GN_A = -2 sqrt(5/6) β sqrt(2 E*), GN_B = 0;
                     LAMMPS gran/hertz/history: GN_A = 0, GN_B = γn)
 4    GT_A          tangential damping, same form with GT_A, GT_B     (LIGGGHTS: 8 G* for 2 E*)
 5    GT_B
 6    MU            Coulomb friction coefficient
 7    CED           SJKR cohesion energy density [kPa]: F_coh = -CED · A_contact
 8    NORMAL_MODEL  0: Hertz (``contacts.hertz_sjkr``), 1: hysteretic elasto-plastic
                    adhesive (``contacts.hysteretic``), 2: elastic–perfectly-plastic with a
                    yield pressure (``contacts.thornton_ning``)
 9    PLASTICITY    λ_p of the hysteretic model, unloading stiffness KN/(1 - λ_p) [-]
 10   KC            adhesive-branch stiffness of the hysteretic model [kPa]
 11   MU_R          EPSD2 rolling-resistance coefficient μ_r [-] (``contacts.rolling_epsd2``)
 12   KR            EPSD2 rolling stiffness factor: k_r = KR k_t R*² [-] (LIGGGHTS: 1)
 13   BRIDGE_K      binder-bridge (Maxwell arm) stiffness: dF = 1.5 BRIDGE_K sqrt(R* δ) dδ [kPa]
 14   BRIDGE_TAU    binder-bridge relaxation time [µs] (0: no bridge)
 15   BRIDGE_KEQ    binder-bridge equilibrium arm: dF = 1.5 BRIDGE_KEQ sqrt(R* δ) dδ [kPa] (does
                    not relax; acts only where BRIDGE_TAU > 0)
 16   YIELD_PRESSURE  limiting contact pressure p_y of the Thornton–Ning model [kPa]
 17   FLATTENING_LIMIT  Thornton–Ning limit of the flattening δ_max / R* [-] (0: none)
 18   MU_BARE       Coulomb friction of the bare contact once its film is squeezed out [-]
                    (``contacts.coated_friction``; MU is then the film's)
 19   FILM_DEPTH    overlap δ_max / R* at which the film is squeezed out [-] (0: no film, MU
                    throughout)
====  ============  ==================================================================

The kernels take two more columns that the :class:`~physics.engine.Simulation` derives from
BRIDGE_TAU and its time step (``kernel_params``), so no exponential is evaluated per contact:
20 BRIDGE_DECAY = e^{-dt/τ} and 21 BRIDGE_GAIN = (τ/dt)(1 - e^{-dt/τ}).

Per-contact history ``hist[k, :]``: columns 0-2 the tangential spring ξ [µm], 3 the largest
overlap δ_max of the hysteretic, Thornton–Ning and coated-friction models [µm], 4-6 the
EPSD2 rolling torque on body i [nN µm], 7 the binder bridge's Maxwell-arm force and 8 its
equilibrium-arm force [nN].  Columns in ``HIST_VECTOR_COLUMNS`` change sign when the two
bodies of a pair swap roles.
"""

KN, KT, GN_A, GN_B, GT_A, GT_B, MU, CED = range(8)
NORMAL_MODEL, PLASTICITY, KC, MU_R, KR, BRIDGE_K, BRIDGE_TAU, BRIDGE_KEQ = range(8, 16)
YIELD_PRESSURE = 16
FLATTENING_LIMIT = 17
MU_BARE = 18
FILM_DEPTH = 19
N_CONTACT_PARAMS = 20
BRIDGE_DECAY, BRIDGE_GAIN = 20, 21
N_KERNEL_PARAMS = 22

NORMAL_HERTZ = 0
NORMAL_HYSTERETIC = 1
NORMAL_THORNTON_NING = 2

HIST_DMAX = 3
HIST_ROLL = 4
HIST_BRIDGE = 7
HIST_BRIDGE_EQ = 8
N_HIST = 9
HIST_VECTOR_COLUMNS = (0, 1, 2, 4, 5, 6)


def kernel_params(params, dt):
    """(n, n, N_KERNEL_PARAMS) kernel coefficients: the table's plus the bridge's per-step
    decay and gain at step ``dt`` [µs] (1 and 0 where there is no bridge)."""
    import numpy as np

    n = params.shape[0]
    out = np.zeros((n, n, N_KERNEL_PARAMS))
    out[:, :, :N_CONTACT_PARAMS] = params
    tau = params[:, :, BRIDGE_TAU]
    has = tau > 0
    x = np.where(has, dt / np.where(has, tau, 1.0), 0.0)
    out[:, :, BRIDGE_DECAY] = np.exp(-x)
    out[:, :, BRIDGE_GAIN] = np.where(has, -np.expm1(-x) / np.where(has, x, 1.0), 0.0)
    return out
