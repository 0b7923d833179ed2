"""Config mistakes end before any work in one line and exit 2, with a did-you-mean: an unknown key even with `+`, a
typo in a group option (also inside a sweep list), and a key the chosen regime / judge / generation backend does not
read (refused when set to another value than its default, warned about when set to the default)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ampli.config_keys import COMPONENTS, REGIME_KEYS, unread_keys
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
    (["regime.beta=0.5"], "ampli: error: regime.beta=0.5 is not read by regime=sft (only by regime=dpo); regime=sft "
                          "reads the regime keys every choice reads: name, learning_rate,"),
    (["judge.concurrency=4"], "ampli: error: judge.concurrency=4 is not read by judge=offline (only by judge=openai, "
                              "vllm, anthropic)"),
    (["-m", "loop.cycles=1,0"], "ampli: error: loop.cycles=0 is not valid; it must be an integer >= 1"),
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


def test_the_table_covers_every_regime_and_names_only_schema_fields():
    from ampli.config import REGIMES

    assert set(REGIME_KEYS) == set(REGIMES)
    for component in COMPONENTS:
        fields = set(component.schema.__dataclass_fields__)
        for keys in [component.common, *component.keys.values()]:
            assert set(keys) <= fields, component.group


def test_a_dpo_key_on_dpo_and_a_vllm_key_on_vllm_pass():
    cfg = compose_config(["regime=dpo", "regime.beta=0.5", "generation=vllm", "generation.enforce_eager=true"])
    assert unread_keys(cfg, ["regime=dpo", "regime.beta=0.5", "generation=vllm", "generation.enforce_eager=true"]) \
        == ([], [])


def test_a_large_sweep_is_checked_on_jobs_that_cover_every_value():
    from ampli.preflight import FULL_CHECK_JOBS, job_overrides

    jobs = job_overrides(["-m", "trait=bliss,lucky,misalignment", "regime=sft,dpo,sdf", "reinit=true,false",
                          "hydra.sweep.dir=x"])
    assert 3 * 3 * 2 > FULL_CHECK_JOBS and len(jobs) == 3
    for key, values in (("trait", "bliss lucky misalignment"), ("regime", "sft dpo sdf"), ("reinit", "true false")):
        assert {o.split("=")[1].lower() for job in jobs for o in job if o.startswith(f"{key}=")} == set(values.split())
    assert job_overrides(["-m", "seed=0,1", "trait=bliss"]) == [["seed=0", "trait=bliss"], ["seed=1", "trait=bliss"]]
    assert job_overrides(["--cfg", "job"]) is None  # Hydra's own flags: Hydra answers


def test_every_setting_of_a_regime_judge_or_engine_is_in_a_row_of_the_read_keys_table():
    """A knob added to a schema but to no row of ampli/config_keys.py would be refused on every command line."""
    import dataclasses

    from ampli.config_keys import COMPONENTS

    for component in COMPONENTS:
        fields = {f.name for f in dataclasses.fields(component.schema)}
        rows = set(component.common) | {key for keys in component.keys.values() for key in keys}
        assert fields <= rows, (component.group, sorted(fields - rows))
