"""Registry of contact models: one module per model, each a frozen spec with ``apply(p)`` that
writes its parameters into a pair's coefficient vector, and a numba kernel on arrays.

==============  ==============================  ==========================================
 name           module                          what it adds to the Hertz contact
==============  ==============================  ==========================================
 hertz-sjkr     :mod:`.hertz_sjkr`              nothing (Table 2 law, the ``paper`` preset)
 hysteretic     :mod:`.hysteretic`              plastic loading/unloading and adhesion
 thornton-ning  :mod:`.thornton_ning`           Hertz up to a yield pressure, then plastic
 epsd2          :mod:`.rolling_epsd2`           rolling resistance torque
 bridge         :mod:`.binder_bridge`           viscoelastic (Maxwell) binder-bridge arm
 coated-        :mod:`.coated_friction`         friction rising from a film's to the bare
 friction                                       solids' as the contact is pressed in
==============  ==============================  ==========================================

Use :func:`physics.engine.contact.with_models` to apply specs to pair types of a table, and
:func:`make_model` to build a spec from a name and keyword parameters (CLI, presets).
"""

from __future__ import annotations

from physics.engine.contacts.binder_bridge import BinderBridge
from physics.engine.contacts.coated_friction import CoatedFriction
from physics.engine.contacts.hertz_sjkr import HertzSJKR
from physics.engine.contacts.hysteretic import Hysteretic
from physics.engine.contacts.rolling_epsd2 import RollingEPSD2
from physics.engine.contacts.thornton_ning import ThorntonNing

CONTACT_MODELS = {m.name: m for m in (HertzSJKR, Hysteretic, ThorntonNing, RollingEPSD2,
                                      BinderBridge, CoatedFriction)}


def make_model(name: str, **parameters):
    """The spec called ``name`` with these parameters; unknown names or fields are refused."""
    try:
        cls = CONTACT_MODELS[name]
    except KeyError:
        raise ValueError(f"contact model {name!r} unknown; known: "
                         f"{', '.join(CONTACT_MODELS)}") from None
    try:
        return cls(**parameters)
    except TypeError as exc:
        raise ValueError(f"contact model {name!r}: {exc}") from None


__all__ = ["CONTACT_MODELS", "BinderBridge", "CoatedFriction", "HertzSJKR", "Hysteretic",
           "RollingEPSD2", "ThorntonNing", "make_model"]
