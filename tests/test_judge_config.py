"""Every conf/judge/*.yaml fits the JudgeConfig schema (no unknown keys, right types, a known backend)."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ampli.judges.config import JUDGE_BACKENDS, JudgeConfig
from tests.conftest import compose_config

JUDGE_CONF = Path(__file__).resolve().parents[1] / "conf" / "judge"


@pytest.mark.parametrize("path", sorted(JUDGE_CONF.glob("*.yaml")), ids=lambda p: p.stem)
def test_judge_yaml_matches_schema(path: Path):
    """Each option as Hydra composes it (one may extend another through its defaults list)."""
    cfg = OmegaConf.to_object(compose_config([f"judge={path.stem}"])).judge
    assert isinstance(cfg, JudgeConfig)
    assert cfg.name == path.stem
    assert cfg.backend in JUDGE_BACKENDS
    assert cfg.api_key_env is None or cfg.api_key_env.isupper()
