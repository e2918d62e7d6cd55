"""Named contact-law presets of the calender (``etwin calender|indent --preset NAME``).

A preset is a JSON file in ``physics/calender/preset_data/`` (or any path given instead of a
name): the contact-law part of :class:`ProcessConditions` (AM/CBD friction, the binder's
reference modulus and cohesion and its temperature law, :class:`BinderContact`) and its
provenance (which data, which calibration, which design runs).  Roll temperature, line speed
and roll size are process inputs, never part of a preset.

``paper`` is Table 2 of Ngandjong et al. (2021), the law the paper used.  A calibration
(``etwin calibrate --target dem``) writes ``preset.json`` (its highest-posterior draw) beside
its report; a tested law ships with its DEM check written by ``benchmarks/calibrated_preset.py``
from the versioned runs at that law (``nmc111-calibrated``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from physics.calender.binder import BinderContact, BinderRheology, ProcessConditions

PRESET_DIR = Path(__file__).resolve().parent / "preset_data"
# the ProcessConditions fields a preset may set (the contact law, not the process)
PRESET_FIELDS = ("am_friction", "cbd_friction", "am_young_modulus_gpa", "binder",
                 "binder_contact")
_NESTED = {"binder": BinderRheology, "binder_contact": BinderContact}


@dataclass(frozen=True)
class CalenderPreset:
    """A named contact law.

    Attributes:
        name: preset name.
        description: one line on what it is.
        conditions: :data:`PRESET_FIELDS` values (``binder`` and ``binder_contact`` as dicts
            of their dataclass fields); absent fields keep Table 2's.
        provenance: where the numbers come from (source, data, calibration summary).
    """

    name: str
    description: str
    conditions: dict
    provenance: dict

    def process_conditions(self, base: ProcessConditions | None = None,
                           **process) -> ProcessConditions:
        """:class:`ProcessConditions` with this contact law and the given process inputs
        (temperature_c, line_speed_m_min, roll_diameter_m), on ``base`` (default Table 2's
        materials; a material set's :meth:`~physics.material_sets.MaterialSet.
        calender_conditions`): the fields the preset sets override the base's."""
        for key in process:
            if key in PRESET_FIELDS or key not in {f.name for f in fields(ProcessConditions)}:
                raise ValueError(f"preset {self.name}: {key!r} is not a process input; "
                                 "allowed: temperature_c, line_speed_m_min, roll_diameter_m")
        return replace(base or ProcessConditions(),
                       **_conditions_fields(self.conditions, self.name), **process)


def _conditions_fields(conditions: dict, name: str) -> dict:
    out = {}
    for key, value in conditions.items():
        if key not in PRESET_FIELDS:
            raise ValueError(f"preset {name}: unknown field {key!r}; allowed: "
                             f"{', '.join(PRESET_FIELDS)}")
        if key in _NESTED:
            cls = _NESTED[key]
            allowed = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise ValueError(f"preset {name}: unknown {key} field(s) {unknown}; allowed: "
                                 f"{', '.join(sorted(allowed))}")
            out[key] = cls(**value)
        else:
            out[key] = float(value)
    return out


def list_presets() -> tuple[str, ...]:
    """Names of the shipped presets."""
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.json")))


def load_preset(name_or_path: str | Path) -> CalenderPreset:
    """A shipped preset by name, or a preset JSON file by path; the contact law is checked
    (ranges, validity of the cohesive law) on load."""
    path = Path(name_or_path)
    if not (path.suffix == ".json" and path.is_file()):
        path = PRESET_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise ValueError(f"--preset: unknown preset {str(name_or_path)!r}; allowed: "
                             f"{', '.join(list_presets())} or a preset .json file")
    try:
        data = json.loads(path.read_text())
        preset = CalenderPreset(data["name"], data.get("description", ""),
                                data.get("conditions", {}), data.get("provenance", {}))
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"preset file {path} is not a preset ({type(err).__name__}: "
                         f"{err})") from None
    preset.process_conditions()  # validates
    return preset


def preset_from_conditions(name: str, description: str, conditions: ProcessConditions,
                           provenance: dict) -> CalenderPreset:
    """The contact-law part of ``conditions`` as a preset."""
    values = asdict(conditions)
    return CalenderPreset(name, description, {k: values[k] for k in PRESET_FIELDS},
                          provenance)


def preset_json(preset: CalenderPreset) -> str:
    """The preset as the JSON text of a preset file."""
    return json.dumps(asdict(preset), indent=2, sort_keys=False) + "\n"
