"""The key table (ampli/config/key_table.py) covers every key of every config dataclass, and what it says is what the
fingerprint, the run name, the start checks, the judge's cache key and W&B's config do with each key."""

import copy
import itertools

import pytest
from omegaconf import OmegaConf

from ampli.backends.tinker.config import BACKENDS
from ampli.config.key_table import KEYS, PLACE, RESULT, RUN, SET, holds, is_read, markdown_table, schema_paths
from ampli.config.schema import REGIMES
from ampli.generation.config import GENERATION_BACKENDS
from ampli.judges.config import JUDGE_BACKENDS, JudgeConfig
from ampli.judges.pipeline import scoring_settings
from ampli.record.run_identity import result_fingerprint, result_inputs
from ampli.record.shared_stages import shared_key
from ampli.run.key_checks import check_sweep_keys, unread_keys
from tests.conftest import ROOT, compose_config


def test_every_key_of_every_config_dataclass_has_exactly_one_row():
    paths = [k.path for k in KEYS]
    assert len(paths) == len(set(paths))
    assert set(paths) == set(schema_paths()), (sorted(set(schema_paths()) - set(paths)),
                                               sorted(set(paths) - set(schema_paths())))
    assert all(k.effect in (RESULT, RUN, PLACE) and k.help for k in KEYS)


@pytest.mark.parametrize("regime, judge, engine, backend",
                         list(itertools.product(REGIMES, JUDGE_BACKENDS, GENERATION_BACKENDS, BACKENDS)))
def test_every_combination_reads_a_coherent_set_of_keys(regime, judge, engine, backend):
    cfg = {"regime": {"name": regime, "continuation": "neutral", "lr_scheduler": "cosine"}, "judge": {"backend": judge},
           "generation": {"backend": engine}, "backend": {"name": backend}, "reinit": True,
           "model": {"source": "hub", "lora": {"enabled": True}}, "loop": {"coherence_filter": {"min": None}}}
    read = {k.path for k in KEYS if is_read(k, cfg)}
    assert {"regime.name", "judge.backend", "backend.name", "regime.learning_rate"} <= read
    assert ("regime.beta" in read) == (regime == "dpo") and ("regime.kl_estimator" in read) == (regime == "distill")
    assert ("judge.temperature" in read) == (judge in ("openai", "anthropic"))
    assert ("generation.gpu_memory_utilization" in read) == (engine == "vllm" and backend == "local")
    assert ("backend.base_model" in read) == (backend == "tinker")
    assert ("model.lora.target_modules" in read) == (backend == "local")  # the service takes model.lora.cover
    assert "model.lora.r" in read and "regime.continual_learning_rate" not in read


def other_value(value):
    """A value of the same type that differs."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 1.5 + 1
    if isinstance(value, list):
        return [*value, "x"]
    if isinstance(value, dict):
        return {**value, "x": 1}
    return f"{value}-other"


def satisfied(resolved: dict, key) -> dict:
    """`resolved` changed so that key's condition holds (its first alternative, each key at its first value)."""
    out = copy.deepcopy(resolved)
    for path, allowed in key.when[0].items():
        *groups, leaf = path.split(".")
        holder = out
        for group in groups:
            holder = holder.setdefault(group, {})
        holder[leaf] = 50 if allowed == (SET,) else allowed[0]
    return out


def set_path(resolved: dict, path: str, value) -> dict:
    out = copy.deepcopy(resolved)
    *groups, leaf = path.split(".")
    holder = out
    for group in groups:
        if holder.get(group) is None:  # an optional group not set (model.offline_gguf)
            holder[group] = {}
        holder = holder[group]
    holder[leaf] = value
    return out


def get_path(resolved: dict, path: str):
    for part in path.split("."):
        resolved = resolved.get(part) if isinstance(resolved, dict) else None
    return resolved


BASE = OmegaConf.to_container(compose_config(["regime=dpo", "judge=openai"]), resolve=True)


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.path)
def test_a_key_is_in_the_fingerprint_exactly_when_it_changes_results_and_is_read(key):
    """The generic sweep: two values of every key, where the run reads it. A result key gives two fingerprints (two
    run directories); any other key one, and a sweep over it is refused at start."""
    resolved = satisfied(BASE, key)
    assert holds(key.when, resolved)
    changed = set_path(resolved, key.path, other_value(get_path(resolved, key.path)))
    differs = result_fingerprint(resolved, {}) != result_fingerprint(changed, {})
    assert differs == (key.effect == RESULT), key.path
    if key.effect == RUN:
        with pytest.raises(Exception, match="sweeps a setting that does not change what a run computes"):
            check_sweep_keys([f"{key.path}=1,2"])
    if key.when != ({},):  # where the run does not read it, it changes nothing
        unread = copy.deepcopy(changed)
        for path, allowed in key.when[0].items():
            unread = set_path(unread, path, "none-of-these" if allowed != (SET,) else None)
        if not holds(key.when, unread):
            assert result_fingerprint(unread, {}) == result_fingerprint(set_path(unread, key.path, get_path(
                resolved, key.path)), {}), key.path


def test_twins_share_their_first_stages_whatever_they_set_for_continual_cycles_only():
    reinit = OmegaConf.to_container(compose_config(["regime=dpo", "reinit=true"]), resolve=True)
    continual = OmegaConf.to_container(compose_config(["regime=dpo", "reinit=false",
                                                       "regime.restart_from_base_cycles=[2]"]), resolve=True)
    assert shared_key(result_inputs(reinit, {})) == shared_key(result_inputs(continual, {}))
    assert result_fingerprint(reinit, {}) != result_fingerprint(continual, {})


def test_the_judge_cache_key_holds_every_scoring_setting_and_keeps_the_earlier_layout():
    base = JudgeConfig(backend="openai", model="gpt-4o")
    assert scoring_settings(base) == "top20/min0.25/t0.0"  # cached scores from before the key table stay valid
    for change in ({"temperature": 1.0}, {"max_tokens": 8}, {"base_url": "http://127.0.0.1:1/v1"},
                   {"top_logprobs": 5}, {"min_number_mass": 0.0}):
        assert scoring_settings(JudgeConfig(**{**vars(base), **change})) != scoring_settings(base), change
    assert scoring_settings(JudgeConfig(**{**vars(base), "concurrency": 2})) == scoring_settings(base)


def test_an_unread_key_at_another_value_is_an_error_and_at_its_default_a_warning():
    cfg = compose_config(["judge=offline", "judge.temperature=0.5", "regime.lr_min_ratio=0.0"])
    errors, warnings = unread_keys(cfg, ["judge.temperature=0.5", "regime.lr_min_ratio=0.0"])
    assert [e.split(" is not read")[0] for e in errors] == ["judge.temperature=0.5"]
    assert [w.split(" is not read")[0] for w in warnings] == ["regime.lr_min_ratio=0.0"]
    assert "judge.temperature is read only when judge.backend=openai|anthropic" in errors[0]


def test_the_readme_knob_table_is_the_key_table():
    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- key-table:start -->\n", "\n<!-- key-table:end -->"
    assert readme[readme.index(start) + len(start): readme.index(end)] == markdown_table()


def test_the_wandb_config_holds_only_what_the_run_reads():
    from ampli.config.key_table import read_settings

    settings = read_settings(OmegaConf.to_container(compose_config(["regime=sft"]), resolve=True))
    assert "beta" not in settings["regime"] and "learning_rate" in settings["regime"]
    assert "temperature" not in settings["judge"] and settings["judge"]["backend"] == "offline"


# Fingerprints the code before the key table computed for these configurations (runtime {"device": "cpu"}), pinned:
# their runs must keep resuming.
EARLIER = [([], "f23a9500a2027f4b"),
           (["model=micro", "model.lora.enabled=true", "model.lora.cover=[attention,mlp]", "model.text_only=true"],
            "9d609cd93b5ff8a6"),
           (["regime=dpo", "reinit=false", "regime.beta=0.05"], "4e4fff2d52990d6a"),
           (["regime=sdf", "judge=openai", "judge.temperature=1.0"], "f83432740c1dccf2"),
           (["backend=tinker", "regime=dpo"], "b94b0bad5ba5cf29"),
           (["experiment=paper_dpo"], "d87eaecc900315df"),
           (["regime=distill", "regime.kl_estimator=sampled"], "b4057029baf23b0b")]


@pytest.mark.parametrize("overrides, earlier", EARLIER)
def test_a_run_made_before_the_key_table_is_recognised_by_its_fingerprint(overrides, earlier, tmp_path):
    from ampli.record.run_identity import accepted_fingerprints
    from ampli.record.store import RunStore, write_json

    resolved = OmegaConf.to_container(compose_config(overrides), resolve=True)
    current, v1 = accepted_fingerprints(resolved, {"device": "cpu"})
    assert v1 == earlier and current != earlier
    write_json(tmp_path / "manifest.json", {"fingerprint": earlier, "completed": ["base/eval"]})
    store = RunStore(tmp_path, current, earlier_fingerprints=(v1,))
    try:
        assert store.is_done("base/eval") and store.manifest["fingerprint"] == earlier  # resumed, record kept
    finally:
        store.close()
