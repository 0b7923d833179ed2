"""Judge settings, selected with `judge=` (conf/judge/*.yaml)."""

from dataclasses import dataclass

JUDGE_BACKENDS = ("offline", "openai", "anthropic", "hf")


@dataclass
class JudgeConfig:
    name: str = "offline"
    backend: str = "offline"
    model: str = "lexicon-v1"
    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = 16
    max_retries: int = 5
    timeout_s: float = 60.0
    top_logprobs: int = 20
    min_number_mass: float = 0.25
    max_tokens: int = 4
    cache: bool = True
    input_cost_per_mtok: float = 0.0
    output_cost_per_mtok: float = 0.0
    perplexity: bool = True
