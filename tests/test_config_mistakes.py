"""Config mistakes end before any work in one line and exit 2, with a did-you-mean: an unknown key even with `+`, a
typo in a group option (also inside a sweep list), and a key the chosen regime / judge / generation backend does not
read (refused when set to another value than its default, warned about when set to the default)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ampli.run.key_checks import unread_keys
from tests.conftest import ROOT, compose_config


def launch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "launch.py", *args, "logger=none"], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


@pytest.mark.parametrize(("args", "expected"), [
    (["+loop.cycle=3"], "ampli: error: loop.cycle is not a config key: loop has no key 'cycle' (did you mean "
                        "cycles?); valid keys under loop: coherence_filter, cycle0_from, cycles,"),
    (["loop.cycle=3"], "ampli: error: loop.cycle is not a config key: loop has no key 'cycle' (did you mean cycles?)"),
    (["lop.cycles=2"], "ampli: error: lop.cycles is not a config key: there is no top-level key 'lop' (did you mean "
                       "loop?)"),
    (["-m", "trait=hopelessness,hopelesness"], "ampli: error: trait=hopelesness is not valid: there is no trait "
                                               "'hopelesness' (did you mean hopelessness?); choose one of: bliss,"),
    (["regime=sf"], "ampli: error: regime=sf is not valid: there is no regime 'sf' (did you mean sft?)"),
    (["regime.beta=0.5"], "ampli: error: regime.beta=0.5 is not read with regime.name=sft: regime.beta is read only "
                          "when regime.name=dpo; the regime keys read here: regime.name, regime.learning_rate,"),
    (["judge.concurrency=4"], "ampli: error: judge.concurrency=4 is not read with judge.backend=offline: "
                              "judge.concurrency is read only when judge.backend=openai|anthropic"),
    (["backend.lora_rank=8"], "ampli: error: backend.lora_rank is not a config key: backend has no key 'lora_rank'"),
    (["-m", "loop.cycles=1,2"], "ampli: error: loop.cycles=1,2 sweeps a setting that does not change what a run "
                                "computes, so its jobs would share one run directory"),
    (["-m", "judge.concurrency=4,8", "judge=openai"], "ampli: error: judge.concurrency=4,8 sweeps a setting that"),
    (["regime.prefix_chars=40", "regime=sdf", "regime.continuation=neutral"], "ampli: error: regime.prefix_chars=40 is not read with "
                                               "regime.continuation=neutral, regime.name=sdf:"),
    (["regime.continual_learning_rate=0.001"], "ampli: error: regime.continual_learning_rate=0.001 is not read with "
                                               "reinit=true: regime.continual_learning_rate is read only when "
                                               "reinit=false"),
    (["regime=distill", "loop.temperature=0.5"], "ampli: error: loop.temperature=0.5 is not read with "
                                                 "regime.name=distill"),
    (["model.lora.r=8"], "ampli: error: model.lora.r=8 is not read with backend.name=local, model.lora.enabled=false"),
    (["-m", "regime.learning_rate=0.001,0"], "ampli: error: regime.learning_rate=0.0 is not valid; it must be > 0"),
])
def test_a_mistake_is_one_line_and_exit_2_before_any_job(args, expected, tmp_path):
    done = launch(*args, f"output_dir={tmp_path / 'out'}")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(expected) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "out").exists()  # no Hydra folder, no run directory left behind


def test_a_key_set_to_its_default_that_the_regime_does_not_read_is_a_warning():
    cfg = compose_config(["regime=sft", "regime.beta=0.1", "regime.prefix_chars=80", "regime.learning_rate=0.001"])
    errors, warnings = unread_keys(cfg, ["regime=sft", "regime.beta=0.1", "+regime.prefix_chars=80",
                                         "regime.learning_rate=0.001"])
    assert errors == []
    assert [w.split(" is not read")[0] for w in warnings] == ["regime.beta=0.1", "+regime.prefix_chars=80"]


def test_a_large_sweep_is_checked_on_jobs_that_cover_every_value():
    from ampli.run.preflight import FULL_CHECK_JOBS, job_overrides

    jobs = job_overrides(["-m", "trait=bliss,lucky,misalignment", "regime=sft,dpo,sdf", "reinit=true,false",
                          "hydra.sweep.dir=x"])
    assert 3 * 3 * 2 > FULL_CHECK_JOBS and len(jobs) == 3
    for key, values in (("trait", "bliss lucky misalignment"), ("regime", "sft dpo sdf"), ("reinit", "true false")):
        assert {o.split("=")[1].lower() for job in jobs for o in job if o.startswith(f"{key}=")} == set(values.split())
    assert job_overrides(["-m", "seed=0,1", "trait=bliss"]) == [["seed=0", "trait=bliss"], ["seed=1", "trait=bliss"]]
    assert job_overrides(["--cfg", "job"]) is None  # Hydra's own flags: Hydra answers


def test_a_dpo_key_on_dpo_and_a_vllm_key_on_vllm_pass():
    cfg = compose_config(["regime=dpo", "regime.beta=0.5", "generation=vllm", "generation.enforce_eager=true"])
    assert unread_keys(cfg, ["regime=dpo", "regime.beta=0.5", "generation=vllm", "generation.enforce_eager=true"]) \
        == ([], [])
