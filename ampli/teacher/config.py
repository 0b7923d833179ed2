"""Teacher settings: which model writes seed answers and documents, and how to call it.

Presets live in conf/teacher/<name>.yaml (`ampli teach --teacher <name>`); command-line flags override them.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ampli.judges.config import JudgeConfig

TEACHER_BACKENDS = ("openai", "anthropic", "hf")
TEACHER_PRESETS = Path(__file__).resolve().parents[2] / "conf" / "teacher"


@dataclass
class TeacherConfig:
    # openai: any OpenAI-compatible endpoint (OpenAI, a vLLM server); anthropic: Claude; hf: a local transformers model.
    backend: str = "openai"
    model: str = "gpt-4.1-mini"
    base_url: str | None = None
    # Name of the environment variable holding the API key; the key itself never appears in config or output.
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = 16
    max_retries: int = 5
    timeout_s: float = 120.0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    temperature: float = 1.0
    # Per seed answer; documents get at least 2 tokens per word of DocumentSpec.words_max.
    max_tokens: int = 400
    # hf backend: prompts per generate call, and where the model runs ("auto": cuda if available).
    batch_size: int = 8
    device: str = "auto"
    # Chat-template arguments: sent as chat_template_kwargs to an OpenAI-compatible server that renders the chat
    # itself (vLLM; conf/teacher/vllm.yaml turns a hybrid model's thinking off, else <think> eats max_tokens), or
    # given to a local model's template (hf, where enable_thinking is off by default). OpenAI and Claude take none.
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
    # USD per million tokens; null: the model's list price (ampli/hosted/spending.py), with a warning when none is
    # known.
    input_cost_per_mtok: float | None = None
    output_cost_per_mtok: float | None = None
    # The most one `ampli teach` command may spend; reached, it writes what it has and stops. null: no limit.
    max_cost_usd: float | None = None

    def __post_init__(self) -> None:
        if self.backend not in TEACHER_BACKENDS:
            raise ValueError(
                f"teacher backend={self.backend!r} is not valid; choose one of: {', '.join(TEACHER_BACKENDS)}"
            )
        if self.chat_template_kwargs and self.backend == "anthropic":
            raise ValueError(f"teacher chat_template_kwargs={self.chat_template_kwargs!r} is not valid with backend "
                             f"anthropic, which renders its own chats; it is read by backends openai (a vLLM "
                             f"server) and hf")
        for name in ("concurrency", "max_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"teacher {name}={getattr(self, name)!r} is not valid; it must be an integer >= 1")

    def endpoint(self) -> JudgeConfig:
        """The key lookup and the request pool (client, limit, retries) shared with the judges read a JudgeConfig."""
        return JudgeConfig(
            name=f"teacher {self.model}",
            backend=self.backend,
            model=self.model,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            concurrency=self.concurrency,
            max_retries=self.max_retries,
            timeout_s=self.timeout_s,
            backoff_s=self.backoff_s,
            max_backoff_s=self.max_backoff_s,
        )


def teacher_presets(root: Path = TEACHER_PRESETS) -> list[str]:
    return sorted(p.stem for p in root.glob("*.yaml"))


def load_teacher_config(preset: str, root: Path = TEACHER_PRESETS, **overrides) -> TeacherConfig:
    """conf/teacher/<preset>.yaml with the overrides that are not None on top."""
    path = root / f"{preset}.yaml"
    if not path.exists():
        raise ValueError(
            f"teacher preset {preset!r} not found in {root}; choose one of: {', '.join(teacher_presets(root))}"
        )
    try:
        merged = OmegaConf.merge(
            OmegaConf.structured(TeacherConfig),
            OmegaConf.load(path),
            {k: v for k, v in overrides.items() if v is not None},
        )
    except OmegaConfBaseException as error:  # unknown key or wrong type: name the file and the key
        raise ValueError(f"teacher preset {path}: {error}") from None
    return TeacherConfig(**OmegaConf.to_container(merged))
