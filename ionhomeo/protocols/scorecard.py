"""Protocol ``scorecard``: each preset against measured neurons.

For each preset (``mature`` and ``immature`` by default, or the ``recipe``
given, scored against the targets of ``targets_of``) every measured quantity
of :mod:`ionhomeo.scorecard` is obtained by simulating its measurement on
the cell (the bundled pyramidal cell unless ``morphology`` says otherwise):
a current step for the input resistance, a bath of ouabain for the pump, a
spike train for the pump AHP, voltage clamp of a GABA_A synapse for E_GABA,
an added-buffer series for a Ca buffer capacity. Printed and written per
quantity: the measured value and range, species, temperature, preparation,
method and primary source, the model's value, PASS or FAIL, and whether the
quantity was fitted by the calibration or held out (validation).

Checks: one per quantity (``paper:`` its source; the range is the measured
population's, see each target's ``range_rule``), and per preset the share of
quantities that pass, which the project requires to be at least 80 %.

Outputs: scorecard.csv (one row per preset and quantity), scorecard_experiments.csv
(each experiment's outputs and CPU time), scorecard_summary.csv,
scorecard_checks.csv, scorecard.json, scorecard.png.
"""

from __future__ import annotations

import dataclasses
import math

from .. import checks
from ..experiment import Protocol, Report, Spec, param

#: the share of a preset's quantities that must pass
REQUIRED_SHARE = 0.8


@dataclasses.dataclass(frozen=True)
class ScorecardSpec(Spec):
    morphology: object = param("pyramidal", doc="the cell (a bundled name or an SWC/ASC file)")
    recipe: object = param(None, doc="score this recipe only (against `targets_of`)")
    presets: tuple = param(("mature", "immature"), doc="the presets scored (without `recipe`): "
                           "mature, immature")
    targets_of: str = param("mature", doc="whose targets a `recipe` is scored against",
                            choices=("mature", "immature"))

    def __post_init__(self):
        super().__post_init__()
        wrong = [p for p in self.presets if p not in ("mature", "immature")]
        if wrong:
            from ..mechanisms import ParameterError

            raise ParameterError(f"presets: {wrong[0]!r} has no targets: choose from "
                                 "mature, immature (or give a recipe with targets_of)")


def _models(spec):
    """[(label, recipe, targets preset)]"""
    from .. import presets, recipe as recipe_mod

    if spec.recipe is not None:
        rec = spec.recipe if isinstance(spec.recipe, recipe_mod.Recipe) \
            else recipe_mod.load(spec.recipe)
        return [(rec.name, rec, spec.targets_of)]
    return [(name, presets.load(name), name) for name in spec.presets]


def _row(label, rec, target, obtained):
    return {"preset": label, "calibrated": rec.calibrated, "id": target.id,
            "quantity": target.quantity, "role": target.role, "obtained": obtained,
            "measured": target.value, "low": target.low, "high": target.high,
            "unit": target.unit, "result": "PASS" if target.passes(obtained) else "FAIL",
            "species": target.species, "temperature": target.temperature,
            "preparation": target.preparation, "method": target.method,
            "source": target.source, "range_rule": target.range_rule}


class Scorecard(Protocol):
    name = "scorecard"
    description = ("each preset against 20+ measured quantities of real neurons, every one "
                   "obtained by simulating its measurement")
    Spec = ScorecardSpec

    def measure(self, spec, session):
        from .. import scorecard

        rows, experiments = [], []
        for label, rec, whose in session.conditions(_models(spec), lambda m: f"recipe {m[0]}"):
            wanted = scorecard.targets(whose)
            model = scorecard.Model(spec.morphology, rec, session)
            values, info = scorecard.evaluate(
                model, wanted, progress=lambda text, label=label: session.say(f"{label}: {text}"))
            rows += [_row(label, rec, t, values[t.id]) for t in wanted]
            for name, d in info.items():
                experiments += [{"preset": label, "experiment": name, "output": k, "value": v,
                                 "cpu_s": d["cpu_s"], "error": d["error"] or ""}
                                for k, v in (d["outputs"] or {"": math.nan}).items()]
        return {"rows": rows, "experiments": experiments,
                "recipe_tables": {label: rec.to_dict() for label, rec, _ in _models(spec)}}

    def report(self, spec, data):
        import pandas as pd

        table = pd.DataFrame(data["rows"])
        found, rows = [], []
        for r in data["rows"]:
            name = f"{r['preset']} {r['id']}"
            why = f"measured range ({r['range_rule']})"
            if math.isinf(r["high"]):
                found.append(checks.at_least(name, r["obtained"], r["low"], r["unit"],
                                             f"paper: {r['source']}", why))
            elif math.isinf(r["low"]):
                found.append(checks.at_most(name, r["obtained"], r["high"], r["unit"],
                                            f"paper: {r['source']}", why))
            else:
                found.append(checks.within(name, r["obtained"], 0.5 * (r["low"] + r["high"]),
                                           0.5 * (r["high"] - r["low"]), r["unit"],
                                           f"paper: {r['source']}", why))
        for preset, group in table.groupby("preset", sort=False):
            for role in (None, "fit", "validation"):
                part = group if role is None else group[group["role"] == role]
                share = float((part["result"] == "PASS").mean()) if len(part) else math.nan
                key = f"{preset} pass share" + (f" ({role})" if role else "")
                rows.append((key, share, "1", f"share of {len(part)} quantities within "
                             f"their measured range" + (f", {role} targets" if role else "")))
            share = float((group["result"] == "PASS").mean())
            found.append(checks.at_least(
                f"{preset} passes {REQUIRED_SHARE:.0%}", share, REQUIRED_SHARE, "1",
                "protocol: a preset reproduces at least 80 % of the measured quantities",
                "the project's acceptance of a calibrated preset"))
        return Report(rows, table, tables={"experiments": pd.DataFrame(data["experiments"])},
                      checks=found, metadata={"recipe_tables": data["recipe_tables"]})

    def figure(self, spec, data, report):
        from . import scorecard_figure

        return scorecard_figure.draw(report.timecourse)


NAME = Scorecard.name
DESCRIPTION = Scorecard.description
run = Scorecard()
