"""LoRA on the micro model (seconds): the path real models take, covered on every test run."""

import pytest

from ampli.loop import Run
from tests.conftest import compose_config, with_overrides
from tests.contexts import capture_trainers
from tests.lora_checks import check_lora_run
from tests.test_loop import run_dir_of

LORA = ["model.lora.enabled=true", "model.lora.r=4", "model.lora.alpha=8", "regime.learning_rate=1e-3"]


@pytest.mark.parametrize("regime", ["sft", "dpo"])
@pytest.mark.parametrize("reinit", [True, False])
def test_lora_cycles_save_adapters_and_start_where_the_protocol_says(micro_overrides, monkeypatch, regime, reinit):
    trainers = capture_trainers(monkeypatch, train=True)
    overrides = with_overrides(micro_overrides, *LORA, f"regime={regime}", f"reinit={str(reinit).lower()}",
                               "loop.cycles=3")
    summary = Run(compose_config(overrides)).run()
    check_lora_run(run_dir_of(overrides, summary), summary, trainers, regime, reinit, cycles=3)
