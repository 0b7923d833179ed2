"""Judges score outputs for the trait and for coherence; `build_judge` picks the backend named by `judge=`.

Also what the scores decide: which of a cycle's samples are judged (judge_samples.py), and whether a run amplified
its trait (detector.py: the paper's rule and its alternatives; verdict.py: the one verdict that the loop, the
reports and `ampli replicate` all use).

May import: config, record, hosted, inputs, models, generation (the packages below it in ampli.LAYERS).
"""

from pathlib import Path
from typing import TYPE_CHECKING

from ampli.judges.config import JUDGE_BACKENDS, JudgeConfig

if TYPE_CHECKING:
    from ampli.hosted.spending import Budget
    from ampli.judges.base import Judge


def build_judge(cfg: JudgeConfig, cache_dir: Path, budget: "Budget | None" = None) -> "Judge":
    """The judge for cfg.backend. Backends are imported here so `import ampli.judges` loads no torch or HTTP client;
    the API key and the price are checked now, so a missing one fails before any generation starts. A hosted judge
    stops sending requests once `budget` is spent."""
    if cfg.backend not in JUDGE_BACKENDS:
        raise ValueError(f"judge.backend={cfg.backend!r} is not valid; choose one of: {', '.join(JUDGE_BACKENDS)}")
    if cfg.backend == "offline":
        from ampli.judges.offline import OfflineJudge

        return OfflineJudge()

    from ampli.hosted.credentials import read_api_key
    from ampli.hosted.spending import with_prices
    from ampli.judges.cache import ScoreCache

    cfg = with_prices(cfg, "judge")
    api_key = read_api_key(cfg) if cfg.backend in ("openai", "anthropic") else None
    cache = ScoreCache(Path(cache_dir)) if cfg.cache else None
    if cfg.backend == "openai":
        from ampli.judges.openai_judge import OpenAIJudge

        return OpenAIJudge(cfg, cache, api_key, budget)
    if cfg.backend == "anthropic":
        from ampli.judges.anthropic_judge import AnthropicJudge

        return AnthropicJudge(cfg, cache, api_key, budget)
    from ampli.judges.hf_judge import HFJudge

    return HFJudge(cfg, cache)
