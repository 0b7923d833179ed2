"""LoRA on the micro model (seconds): the path real models take, covered on every test run."""

import pytest

from ampli.config.schema import ConfigError
from ampli.run.loop import Run
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


def test_a_run_whose_adapter_misses_a_part_it_must_cover_stops_at_start(micro_overrides, tmp_path):
    """The coverage check runs inside Run itself (not only when ampli.models.lora_targets.resolve is called directly):
    MLP-only targets on a model whose attention the adapter must reach stop the run before it makes its directory."""
    overrides = with_overrides(micro_overrides, "model.lora.enabled=true", "model.lora.cover=[attention]",
                               "model.lora.target_modules=[gate_proj,up_proj,down_proj]")
    with pytest.raises(ConfigError, match="attention"):
        Run(compose_config(overrides))
    assert not (tmp_path / "outputs" / "runs").exists()
