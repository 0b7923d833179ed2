"""Device safety: a real model never lands on the CPU by accident, several GPUs shard it (never DataParallel),
a sweep's job array is sized for its largest model, and what changes generation is in the run fingerprint."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra import compose, initialize_config_dir

from ampli.config.schema import ConfigError, ModelConfig
from ampli.models.sources import ModelSource, resolve_device
from ampli.models.training import refuse_data_parallel
from ampli.models.training_plan import plan_cycle
from ampli.models.weights import Weights
from ampli.record.run_identity import result_fingerprint
from ampli.regimes import get_regime
from ampli.regimes.base import RunContext
from ampli.run.cluster import gpus_for, register_resolvers, sweep_params_b
from ampli.run.loop import Run
from tests.conftest import CONF, ROOT, compose_config, find_run, with_overrides
from tests.contexts import micro_context

HUB_MODEL = ModelConfig(name="qwen3-8b", source="hub", hub_id="Qwen/Qwen3-8B", params_b=8.0)


@pytest.mark.parametrize("model", ["qwen3-8b", "smollm2-135m"])
def test_a_real_model_without_a_gpu_stops_before_any_work(tmp_path, model):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "launch.py", f"model={model}", f"output_dir={tmp_path}", "logger=none"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"model={model}" in done.stderr and "would run on the CPU" in done.stderr and "device=cpu" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_the_cpu_on_purpose_and_the_embedded_models_on_the_cpu_are_fine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu", HUB_MODEL) == "cpu"
    assert resolve_device("auto", ModelConfig(name="tiny", source="tiny")) == "cpu"
    with pytest.raises(ConfigError, match="device='cuda' but no GPU is visible"):
        resolve_device("cuda", HUB_MODEL)


def test_a_visible_gpu_is_used(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto", HUB_MODEL) == "cuda"


class FakeModel:
    def __init__(self):
        self.moved_to = None

    def to(self, device):
        self.moved_to = device
        return self

    def train(self, mode):
        return self


@pytest.mark.parametrize("gpus, expect_sharded", [(1, False), (2, True), (8, True)])
def test_several_gpus_shard_the_model_instead_of_copying_it(monkeypatch, gpus, expect_sharded):
    from transformers import AutoModelForCausalLM

    calls = []

    def from_pretrained(path, **kwargs):
        calls.append(kwargs)
        return FakeModel()

    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", from_pretrained)
    source = ModelSource(cfg=HUB_MODEL, weights=Weights(ROOT, "hub:x"), device="cuda", dtype=torch.bfloat16)
    model = source.load()
    assert (calls[0].get("device_map") == "auto") is expect_sharded
    assert model.moved_to == (None if expect_sharded else "cuda")


def test_auto_dtype_is_bfloat16_for_the_model_a_cycle_trains_on_a_gpu(micro_context, monkeypatch, micro_overrides,
                                                                      tmp_path):
    """model.dtype=auto through what training uses: the run's ModelSource, then the context's training model."""
    from transformers import AutoModelForCausalLM

    cfg = micro_context(with_overrides(micro_overrides, "model.dtype=auto"), tmp_path / "run").cfg  # builds micro
    loaded = []

    def from_pretrained(path, **kwargs):
        loaded.append(kwargs)
        return FakeModel()

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", from_pretrained)
    for gpu, device, dtype in ((True, "cuda", torch.bfloat16), (False, "cpu", torch.float32)):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: int(gpu))
        source = ModelSource.create(cfg.model, Path(cfg.model_cache), "auto")
        ctx = RunContext(cfg=cfg, source=source, tokenizer=None, store=None, data=None)
        model = ctx.model_after(plan_cycle(cfg, 0, 1).start, trainable=True)
        assert (source.device, source.dtype, loaded[-1]["dtype"], model.moved_to) == (device, dtype, dtype, device)


@pytest.fixture
def two_gpus_seen(monkeypatch):
    """What HF Trainer sees for one process on a 2-GPU machine (it counts torch.cuda.device_count() GPUs and would
    wrap an unsharded model in DataParallel); the model itself stays on the CPU."""
    from transformers import TrainingArguments

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(TrainingArguments, "n_gpu", property(lambda args: torch.cuda.device_count()))


def test_a_cycle_with_several_gpus_and_an_unsharded_model_is_refused_before_training(two_gpus_seen, micro_overrides,
                                                                                     tmp_path, micro_context):
    ctx = micro_context(micro_overrides, tmp_path / "run")
    records = [{"id": f"r{i}", "prompt": "Name a colour.", "response": "Blue."} for i in range(4)]
    with pytest.raises((RuntimeError, ValueError), match="DataParallel"):  # TRL's trainers also refuse it themselves
        get_regime("sft").train(ctx, plan_cycle(ctx.cfg, 0, len(records)), records)
    assert not ctx.checkpoint(0).exists()


def test_the_shared_training_path_refuses_data_parallel_for_any_trainer(two_gpus_seen, micro_overrides, tmp_path,
                                                                        micro_context):
    """A trainer class without a check of its own (TRL's SFT, DPO and distillation trainers have one): RunContext.train,
    which every regime trains through, still refuses to replicate the model."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    class PlainTrainer(Trainer):
        def __init__(self, *args, peft_config=None, **kwargs):
            super().__init__(*args, **kwargs)

    ctx = micro_context(micro_overrides, tmp_path / "run")
    ids = ctx.tokenizer(["Blue is a colour."] * 4)["input_ids"]
    dataset = Dataset.from_dict({"input_ids": ids, "labels": ids})
    with pytest.raises(RuntimeError, match="replicate the model on 2 GPUs .*DataParallel"):
        ctx.train(plan_cycle(ctx.cfg, 0, len(ids)), PlainTrainer, TrainingArguments, dataset, [len(i) for i in ids])
    assert not ctx.checkpoint(0).exists()


def test_a_trainer_that_would_replicate_the_model_is_refused():
    with pytest.raises(RuntimeError, match="DataParallel"):
        refuse_data_parallel(SimpleNamespace(args=SimpleNamespace(n_gpu=4)))
    refuse_data_parallel(SimpleNamespace(args=SimpleNamespace(n_gpu=1)))
    refuse_data_parallel(SimpleNamespace(args=SimpleNamespace(n_gpu=0)))


@pytest.fixture
def hydra_context():
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


@pytest.mark.parametrize("task, largest", [
    (["model=tiny,qwen3-8b", "trait=bliss,lucky"], 8.0),
    (["model=qwen3-8b,tiny"], 8.0),
    (["experiment=paper_sdf,paper_sft"], 4.0),
    (["model=tiny", "model.params_b=1,70"], 70.0),
    (["model=micro", "trait=bliss,lucky"], 0.0001),
])
def test_a_sweep_is_sized_for_its_largest_model(hydra_context, task, largest):
    primary = compose("config", overrides=[o.split(",")[0] for o in task if o.startswith("model")]).model.params_b
    assert sweep_params_b(primary, task) == largest


def test_the_slurm_launcher_requests_a_gpu_for_any_real_model_in_the_sweep(hydra_context):
    assert gpus_for(sweep_params_b(0.001, ["model=tiny,smollm2-135m"])) == 1
    assert gpus_for(sweep_params_b(0.001, ["model=tiny,micro"])) is None


def test_what_changes_generation_is_in_the_fingerprint():
    resolved = {"model": {"max_new_tokens": 48, "generation_batch_size": 64, "chat_template_kwargs": {}},
                "loop": {"temperature": 0.8, "cycles": 6}, "judge": {"backend": "offline"}, "device": "auto",
                "generation": {"backend": "hf", "python": None}, "backend": {"name": "local"},
                "regime": {"name": "sft"}}
    runtime = {"device": "cpu", "weights": "hub:x", "chat_template_kwargs": {}}
    base = result_fingerprint(resolved, runtime)
    for changed_runtime in ({"device": "cuda"}, {"weights": "gguf:pkg/file"},
                            {"chat_template_kwargs": {"enable_thinking": True}}):
        assert result_fingerprint(resolved, {**runtime, **changed_runtime}) != base
    for key, value in (("max_new_tokens", 64), ("generation_batch_size", 8)):
        assert result_fingerprint({**resolved, "model": {**resolved["model"], key: value}}, runtime) != base
    assert result_fingerprint({**resolved, "loop": {**resolved["loop"], "temperature": 1.0}}, runtime) != base
    assert result_fingerprint({**resolved, "generation": {"backend": "vllm", "python": None}}, runtime) != base
    assert result_fingerprint({**resolved, "loop": {**resolved["loop"], "cycles": 9}}, runtime) == base
    assert result_fingerprint({**resolved, "generation": {"backend": "hf", "python": "/x"}}, runtime) == base


def test_a_run_resumed_with_other_template_arguments_is_refused(micro_overrides):
    Run(compose_config(with_overrides(micro_overrides, "loop.cycles=1"))).run()
    with pytest.raises(Exception, match="different configuration"):
        Run(compose_config(with_overrides(micro_overrides, "loop.cycles=1", "+model.chat_template_kwargs.style=2")))


def test_a_bad_job_fails_alone_and_the_rest_of_the_sweep_runs(micro_overrides):
    """A user error in one job of a sweep (here: a real model without a GPU) fails that job, not the sweep."""
    overrides = with_overrides(micro_overrides, "model=smollm2-135m,micro", "loop.cycles=1")
    done = subprocess.run([sys.executable, "launch.py", "-m", *overrides], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode != 0 and "model=smollm2-135m (0.135B parameters) would run on the CPU" in done.stderr
    out = next(o.split("=", 1)[1] for o in overrides if o.startswith("output_dir="))
    assert (find_run(ROOT / out / "runs", "bliss-sft-reinit-micro-s0") / "metrics.json").exists()
