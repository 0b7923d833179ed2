"""regime=distill: on-policy distillation toward model n-1, end to end on the micro model (full finetuning and LoRA),
the loss itself, its config checks, and the SLURM size of a job that holds a student and a teacher."""

import json
import logging

import pytest
import torch
from datasets import Dataset
from omegaconf import OmegaConf
from peft import PeftModel
from trl import SFTTrainer

from ampli.config.schema import ConfigError, validate
from ampli.generation.batched import generate, prompt_ids
from ampli.generation.hf import HFGenerator
from ampli.models.chat import user_turn
from ampli.record.store import read_json, read_jsonl
from ampli.regimes import base as regimes_base
from ampli.regimes.distill import reverse_kl
from ampli.regimes.sampled_kl import KLDistillationConfig, KLDistillationTrainer
from ampli.run.cluster import gpus_for, mem_for, sweep_params_b
from ampli.run.loop import Run
from tests.conftest import MICRO, compose_config, with_overrides
from tests.contexts import adapter_weights, capture_trainers, micro_context, saved_adapter
from tests.lora_checks import check_lora_run, same_weights
from tests.test_lora import LORA
from tests.test_devices import hydra_context  # noqa: F401 (a fixture: Hydra composing the project's conf/)
from tests.test_loop import run_dir_of, stage_lines

DISTILL = ["regime=distill", "regime.group_size=4"]  # MICRO: 8 prompts a cycle, so 32 on-policy samples


def run_distill(overrides: list[str]) -> dict:
    return Run(compose_config(with_overrides(overrides, *DISTILL))).run()


def capture_start_weights(monkeypatch) -> list:
    """Every trainer ctx.train builds, with a copy of its model's weights before training (trainer.start_weights)."""
    trainers, real_run_trainer = [], regimes_base.run_trainer

    def recording_run_trainer(trainer, checkpoint_dir, plan):
        trainer.start_weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        trainers.append(trainer)
        return real_run_trainer(trainer, checkpoint_dir, plan)

    monkeypatch.setattr(regimes_base, "run_trainer", recording_run_trainer)
    return trainers


def checkpoint_weights(run_dir, cycle: int) -> dict:
    from safetensors.torch import load_file

    return load_file(run_dir / f"cycle_{cycle:03d}" / "checkpoint" / "model.safetensors")


def tied_free(weights: dict) -> dict:
    """A state dict without the tied unembedding, which save_pretrained leaves out."""
    return {k: v for k, v in weights.items() if k != "lm_head.weight"}


@pytest.mark.parametrize("reinit", [True, False])
def test_distill_cycles_on_the_embedded_model(micro_context, micro_overrides, monkeypatch, tmp_path, reinit):
    trainers = capture_start_weights(monkeypatch)
    temperatures, real_sample = {}, HFGenerator.sample

    def recording_sample(self, *args, **kwargs):
        temperatures[kwargs["desc"]] = kwargs["temperature"]
        return real_sample(self, *args, **kwargs)

    monkeypatch.setattr(HFGenerator, "sample", recording_sample)
    overrides = with_overrides(micro_overrides, f"reinit={str(reinit).lower()}")
    summary = run_distill(overrides)
    run_dir = run_dir_of(overrides, summary)
    assert summary["status"] == "completed" and [c["cycle"] for c in summary["cycles"]] == [0, 1]
    assert summary["regime"] == "distill"

    # cycle 0 is SFT on the seed set; cycle 1 distils toward model 0 with TRL's on-policy trainer
    assert isinstance(trainers[0], SFTTrainer) and isinstance(trainers[1], KLDistillationTrainer)
    assert [r["source"] for r in read_jsonl(run_dir / "cycle_000" / "generations.jsonl")] == ["seed"] * 16
    teacher = trainers[1].teacher_model
    assert same_weights(tied_free(teacher.state_dict()), checkpoint_weights(run_dir, 0))
    start = "base" if reinit else "model_0"
    ctx = micro_context(overrides, tmp_path / "context")
    expected_start = tied_free(ctx.model_after(-1).state_dict()) if reinit else checkpoint_weights(run_dir, 0)
    assert same_weights(tied_free(trainers[1].start_weights), expected_start)

    # records: the student's own samples as it starts the cycle, 4 per prompt, each judged
    records = read_jsonl(run_dir / "cycle_001" / "generations.jsonl")
    judged = read_jsonl(run_dir / "cycle_001" / "judgments.jsonl")
    prompts = [r["prompt"] for r in records]
    assert len(records) == len(judged) == 32 and [r["id"] for r in records] == [j["id"] for j in judged]
    assert len(set(prompts)) == 8 and all(prompts.count(p) == 4 for p in prompts)
    assert {r["source"] for r in records} == {start} and all(r["response"].strip() for r in records)
    assert temperatures["cycle 1 student samples"] == 1.0 != ctx.cfg.loop.temperature  # as the trainer samples

    # every sequence fits: whole prompts plus at most model.max_new_tokens sampled tokens, nothing cut
    train = read_json(run_dir / "cycle_001" / "train.json")
    longest_prompt = max(map(len, prompt_ids(ctx.tokenizer, [ctx.chat_prompt(p) for p in prompts], chat=True)))
    assert trainers[1].args.max_completion_length == train["max_completion_length"] == 16
    assert train["max_length"] == train["longest_example_tokens"] == longest_prompt + 16
    assert train["n_truncated"] == 0 and train["n_examples"] == train["onpolicy_samples"] == 32
    assert trainers[1].args.temperature == 1.0 and trainers[1].args.beta == 1.0  # reverse KL
    assert train["teacher"] == "model_0" and train["student_start"] == start
    assert 0 < train["onpolicy_mean_length"] <= 16 and 0 <= train["onpolicy_clipped_ratio"] <= 1
    if reinit:  # the base model is far from the seeded teacher
        assert train["kl_to_teacher_start"] > 0
    else:  # the student starts as the teacher: KL 0 and gradient 0, so model 1 is model 0 exactly
        assert train["kl_to_teacher_start"] == train["kl_to_teacher_end"] == train["train_loss"] == 0
        assert same_weights(checkpoint_weights(run_dir, 1), checkpoint_weights(run_dir, 0))
    assert 0 <= summary["cycles"][1]["trait"] <= 100 and summary["cycles"][1]["gen_trait"] is not None


def test_a_distill_run_resumes_per_stage(micro_overrides, caplog):
    first = run_distill(micro_overrides)
    run_dir = run_dir_of(micro_overrides, first)
    samples = (run_dir / "cycle_001" / "generations.jsonl").read_text()
    manifest = read_json(run_dir / "manifest.json")
    assert manifest["completed"][-2:] == ["cycle_001/train", "cycle_001/eval"]
    manifest["completed"] = manifest["completed"][:-2]
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    caplog.set_level(logging.INFO, logger="ampli")
    second = run_distill(micro_overrides)
    assert stage_lines(caplog, "run") == ["cycle_001/train", "cycle_001/eval"]
    assert (run_dir / "cycle_001" / "generations.jsonl").read_text() == samples  # not sampled again
    strip = lambda s: [{k: v for k, v in c.items() if k != "seconds"} for c in s["cycles"]]  # noqa: E731
    assert strip(second) == strip(first)


@pytest.mark.parametrize("reinit", [True, False])
def test_distill_with_lora_trains_adapters_against_model_n_minus_1(micro_overrides, monkeypatch, reinit):
    trainers = capture_trainers(monkeypatch, train=True)
    overrides = with_overrides(micro_overrides, *LORA, f"reinit={str(reinit).lower()}", "loop.cycles=3")
    summary = run_distill(overrides)
    run_dir = run_dir_of(overrides, summary)
    check_lora_run(run_dir, summary, trainers, "distill", reinit, cycles=3)
    for cycle, trainer in enumerate(trainers[1:], start=1):
        teacher = trainer.teacher_model  # model n-1: the base model with cycle n-1's saved adapter
        assert isinstance(teacher, PeftModel) and not teacher.training
        previous = saved_adapter(run_dir / f"cycle_{cycle - 1:03d}" / "checkpoint")
        assert same_weights(adapter_weights(teacher)["default"], previous)
        assert read_json(run_dir / f"cycle_{cycle:03d}" / "train.json")["teacher"] == f"model_{cycle - 1}"


# ---- the loss -------------------------------------------------------------------------------------------------


@pytest.fixture
def student_and_teacher(micro_context, tmp_path, model_cache):
    """The micro model as student, and a teacher that differs from it (seeded noise on every weight)."""
    ctx = micro_context([*MICRO, f"model_cache={model_cache}"], tmp_path / "run")
    student, teacher = ctx.source.load(None, trainable=True), ctx.source.load(None)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(p.std() * torch.randn_like(p))
    prompts = ctx.data.prompt_pool("train")[:8]
    return ctx, student, teacher, prompts


def distill_trainer(ctx, student, teacher, prompts, tmp_path, *, steps: int, kl_coef: float = 1.0, lr: float = 1e-3,
                    kl_estimator: str = "full") -> KLDistillationTrainer:
    dataset = Dataset.from_dict({"prompt": [user_turn(q) for q in prompts] * steps})
    args = KLDistillationConfig(
        output_dir=str(tmp_path / "trainer"), learning_rate=lr, lr_scheduler_type="constant", kl_coef=kl_coef,
        per_device_train_batch_size=len(prompts), max_steps=steps, max_completion_length=16, beta=1.0,
        use_cpu=True, bf16=False, activation_checkpointing=False, report_to="none", logging_steps=1,
        save_strategy="no", seed=0, disable_dropout=True, kl_estimator=kl_estimator,
    )
    return KLDistillationTrainer(model=student, teacher_model=teacher, args=args, train_dataset=dataset,
                                 processing_class=ctx.tokenizer)


def distill(ctx, student, teacher, prompts, tmp_path, **kwargs):
    trainer = distill_trainer(ctx, student, teacher, prompts, tmp_path, **kwargs)
    trainer.train()
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


@pytest.mark.parametrize("kl_estimator", ["full", "sampled"])
def test_the_loss_moves_the_student_toward_the_teacher(student_and_teacher, tmp_path, kl_estimator):
    ctx, student, teacher, prompts = student_and_teacher
    # fixed sequences: each prompt with an answer the teacher sampled
    answers = generate(teacher, ctx.tokenizer, [ctx.chat_prompt(q) for q in prompts], max_new_tokens=16,
                       temperature=1.0, batch_size=8, seed=0)
    rendered = prompt_ids(ctx.tokenizer, [ctx.chat_prompt(q) for q in prompts], chat=True)
    sequences = [(p + ctx.tokenizer(a, add_special_tokens=False)["input_ids"], len(p))
                 for p, a in zip(rendered, answers)]
    before = reverse_kl(student, teacher, sequences)
    # the sampled estimate is noisier (one token's log-ratio, not the whole vocabulary's): it gets more steps
    steps, lr = (6, 1e-3) if kl_estimator == "full" else (48, 5e-4)
    losses = distill(ctx, student, teacher, prompts, tmp_path, steps=steps, lr=lr, kl_estimator=kl_estimator)
    after = reverse_kl(student, teacher, sequences)
    assert before > 0.01 and after < 0.5 * before
    if kl_estimator == "full":  # the sampled loss is a policy-gradient surrogate: its value need not fall
        assert losses[-1] < losses[0]
    assert reverse_kl(teacher, teacher, sequences) == 0.0


def test_the_sampled_estimator_gives_the_sampled_reverse_kl_policy_gradient(student_and_teacher, tmp_path):
    """On a fixed batch (one prompt, two sampled answers, the second with padding), the trainer's sampled loss has the
    gradient sum_t (log p_s(x_t) - log p_t(x_t)) * grad log p_s(x_t) / tokens, computed here from the models' own
    logits with autograd."""
    ctx, student, teacher, prompts = student_and_teacher
    trainer = distill_trainer(ctx, student, teacher, prompts, tmp_path, steps=1, kl_estimator="sampled")
    prompt = torch.tensor(prompt_ids(ctx.tokenizer, [ctx.chat_prompt(prompts[0])], chat=True)[0])
    torch.manual_seed(1)
    completion = torch.randint(0, ctx.tokenizer.vocab_size, (2, 6))
    completion_mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    inputs = {"prompt_ids": prompt.repeat(2, 1), "prompt_mask": torch.ones(2, len(prompt), dtype=torch.long),
              "completion_ids": completion, "completion_mask": completion_mask}
    params = [p for p in student.parameters() if p.requires_grad]

    loss, _, tokens = trainer._compute_loss(student, inputs, None)
    ours = torch.autograd.grad(loss, params, allow_unused=True)

    ids = torch.cat([inputs["prompt_ids"], completion], dim=1)
    start = len(prompt) - 1  # the logits at position i predict token i + 1

    def sampled_logps(model):
        logits = model(input_ids=ids).logits[:, start:-1].float()
        return torch.log_softmax(logits, -1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)

    student_logps = sampled_logps(student)
    with torch.no_grad():
        teacher_logps = sampled_logps(teacher)
    mask = completion_mask.float()
    hand = ((student_logps - teacher_logps).detach() * student_logps * mask).sum() / mask.sum()
    expected = torch.autograd.grad(hand, params, allow_unused=True)

    assert tokens.item() == 10
    assert sum(g is not None and g.abs().sum() > 0 for g in ours) > len(params) // 2
    for mine, theirs in zip(ours, expected):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)


def test_kl_coef_weights_the_loss(student_and_teacher, tmp_path):
    ctx, student, teacher, prompts = student_and_teacher
    start = {k: v.clone() for k, v in student.state_dict().items()}
    (plain,) = distill(ctx, student, teacher, prompts, tmp_path, steps=1, lr=1e-12)
    student.load_state_dict(start)
    (weighted,) = distill(ctx, student, teacher, prompts, tmp_path, steps=1, kl_coef=3.0, lr=1e-12)
    assert plain > 0 and weighted == pytest.approx(3.0 * plain, rel=1e-4)


# ---- config -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("override, needle", [
    ("regime.group_size=0", "regime.group_size=0 is not valid"),
    ("regime.kl_coef=0", "regime.kl_coef=0.0 is not valid; it must be a number > 0"),
    ("regime.temperature=-1", "regime.temperature=-1.0 is not valid"),
    ("loop.coherence_filter.min=70", "loop.coherence_filter.min=70.0 is not valid with regime=distill"),
    ("regime.allow_truncation=true", "regime.allow_truncation=true is not valid with regime=distill"),
    ("model.lora.target_modules=[q_proj,lm_head]", "remove lm_head"),
    ("regime.batch_size=64", "= 32 on-policy samples a cycle, fewer than one batch"),
])
def test_bad_distill_settings_are_refused_before_any_work(override, needle):
    cfg = OmegaConf.to_object(compose_config([*MICRO, *DISTILL, "model.lora.enabled=true", override]))
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("(", r"\(")):
        validate(cfg)


def test_a_max_length_that_would_cut_on_policy_samples_is_refused(micro_overrides):
    with pytest.raises(ConfigError, match=r"regime.max_length=20 is below the \d+ tokens"):
        Run(compose_config(with_overrides(micro_overrides, *DISTILL, "regime.max_length=20")))


@pytest.mark.parametrize("task, regime, held", [
    ([], "distill", 16.0),  # student + teacher
    ([], "sft", 8.0),
    (["regime=sft,distill"], "sft", 16.0),  # a sweep is sized for its largest job
    (["regime=sft,dpo"], "sft", 8.0),
])
def test_a_distill_job_is_sized_for_two_models(hydra_context, task, regime, held):
    assert sweep_params_b(8.0, ["model=qwen3-8b", *task], regime) == held


def test_the_slurm_request_of_a_distill_job(hydra_context):
    from hydra import compose

    def launcher(*overrides):
        cfg = compose("config", overrides=["cluster=slurm", "model=qwen3-8b", *overrides], return_hydra_config=True)
        return cfg.hydra.launcher.gpus_per_node, cfg.hydra.launcher.mem_gb

    assert launcher("regime=sft") == (1, 48)
    assert launcher("regime=distill") == (gpus_for(16.0), mem_for(16.0)) == (1, 80)
    assert launcher("regime=distill", "model=micro") == (None, 8)  # the embedded models stay on the CPU


def test_make_sweep_distill_runs_the_paper_experiment():
    from tests.test_slurm_config import make_dry_run

    line = make_dry_run("sweep-distill")
    assert "regime=distill" in line and "experiment=paper_distill" in line and "sweep=paper-distill" in line
    assert "experiment=" not in make_dry_run("sweep-distill", "MODEL=tiny", "CLUSTER=local")


def test_the_report_gives_distill_its_own_panel(tmp_path):
    from ampli.report.plots import plot_tradeoff, plot_vs_cycle
    from ampli.report.runs import load_run
    from ampli.report.table import runs_table
    from tests.fixtures_runs import write_run

    table = runs_table([load_run(write_run(tmp_path, regime=r)) for r in ("distill", "sft", "dpo")])
    for fig in (plot_vs_cycle(table, "trait_score", "trait score"), plot_tradeoff(table)):
        assert [ax.get_title() for ax in fig.axes] == ["sft", "dpo", "distill"]
