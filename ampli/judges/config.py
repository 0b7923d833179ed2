"""Judge settings, selected with `judge=` (conf/judge/*.yaml)."""

from dataclasses import dataclass

JUDGE_BACKENDS = ("offline", "openai", "anthropic", "hf")


@dataclass
class JudgeConfig:
    name: str = "offline"
    backend: str = "offline"
    model: str = "lexicon-v1"
    base_url: str | None = None
    # Name of the environment variable holding the API key; the key itself never appears in config.
    api_key_env: str | None = None
    concurrency: int = 16
    max_retries: int = 5
    timeout_s: float = 60.0
    # First-token logprobs to request; 0 asks for text only and parses the number.
    top_logprobs: int = 20
    min_number_mass: float = 0.25
    max_tokens: int = 4
    cache: bool = True
    input_cost_per_mtok: float = 0.0
    output_cost_per_mtok: float = 0.0
    perplexity: bool = True
    # Retry backoff: backoff_s * 2**attempt (or the server's Retry-After), capped at max_backoff_s.
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    # hf backend: prompts per forward pass, and where the judge model runs ("auto": cuda if available).
    batch_size: int = 16
    device: str = "auto"
