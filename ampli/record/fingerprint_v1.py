"""The fingerprint runs made before the key table (ampli/config/key_table.py) were written with, frozen.

Such a run's manifest.json holds this fingerprint, and it still resumes: ampli.record.run_identity accepts it beside the
current one. Nothing decides anything here; it is a record of what the earlier rule included, kept so that old run
directories are recognised. Do not change it.
"""

import copy

from ampli.record.store import fingerprint

_NOT_IN_FINGERPRINT = ("logger", "cluster", "sweep", "output_dir", "model_cache", "device", "run_lock", "hydra",
                       "replication_of")
_LOOP_OUT = ("cycles", "judge_samples")
_GENERATION_IN = ("backend",)
_JUDGE_IN = ("backend", "model", "top_logprobs", "min_number_mass", "refusal_policy")
_CHECK_ONLY = ("model.text_only", "model.lora.cover")
# Keys out of that fingerprint at these values: the ones its own rule left out, and those added since (adam_eps
# moved from backend to regime, model.lora.unembed), at the values runs before them had.
_ADDED_LATER = {"loop.cycle0_from": None, "model.lora.target_parameters": [], "regime.lr_min_ratio": 0.0,
                "regime.restart_from_base_cycles": [], "regime.cycle0_checkpoint": None,
                "regime.kl_estimator": "full", "regime.continuation": "trait_prefix",
                "regime.adam_eps": 1e-8, "model.lora.unembed": False}
_BACKEND_IN = ("name", "base_model", "lora_rank", "adam_eps")


def v1_fingerprint(resolved: dict, runtime: dict) -> str:
    relevant = copy.deepcopy({k: v for k, v in resolved.items() if k not in _NOT_IN_FINGERPRINT}) | {"runtime": runtime}
    relevant.pop("probe", None)
    relevant["loop"] = {k: v for k, v in relevant["loop"].items() if k not in _LOOP_OUT}
    relevant["generation"] = {k: v for k, v in relevant["generation"].items() if k in _GENERATION_IN}
    relevant["judge"] = {k: v for k, v in relevant["judge"].items() if k in _JUDGE_IN}
    backend = dict(relevant.pop("backend", {"name": "local"}))
    if backend["name"] != "local":  # the Tinker adapter's rank and Adam's epsilon were backend keys then
        backend |= {"lora_rank": resolved["model"]["lora"]["r"], "adam_eps": resolved["regime"].get("adam_eps", 1e-8)}
        relevant["backend"] = {k: v for k, v in backend.items() if k in _BACKEND_IN}
    for key in (*_CHECK_ONLY, *_ADDED_LATER):
        *groups, name = key.split(".")
        holder = relevant
        for group in groups:
            holder = holder.get(group) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and name in holder and (key in _CHECK_ONLY or holder[name] == _ADDED_LATER[key]):
            del holder[name]
    return fingerprint(relevant)
