"""Regimes by name; `regime=` in the config picks one."""

from ampli.regimes.base import Regime


def get_regime(name: str) -> Regime:
    from ampli.regimes.sft import SFTRegime

    regimes = {"sft": SFTRegime}
    if name not in regimes:
        raise ValueError(f"regime={name!r} is not implemented; choose one of: {', '.join(regimes)}")
    return regimes[name]()
