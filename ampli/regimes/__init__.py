"""Regimes by name; `regime=` in the config picks one.

May import: config, record, hosted, inputs, models, generation, judges, teacher (the packages below it in
ampli.LAYERS).
"""

from ampli.regimes.base import Regime


def get_regime(name: str) -> Regime:
    from ampli.regimes.distill import DistillRegime
    from ampli.regimes.dpo import DPORegime
    from ampli.regimes.sdf import SDFRegime
    from ampli.regimes.sft import SFTRegime

    regimes = {"sft": SFTRegime, "sdf": SDFRegime, "dpo": DPORegime, "distill": DistillRegime}
    if name not in regimes:
        raise ValueError(f"regime={name!r} is not valid; choose one of: {', '.join(regimes)}")
    return regimes[name]()
