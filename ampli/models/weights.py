"""Where a run's original weights come from, resolved once per run to a local directory.

- tiny: built here from ampli's own corpus (ampli.models.tiny_model), cached.
- hub: the model's files in the Hugging Face cache, downloaded on first use; every later load in the run reads
  the local snapshot instead of asking the hub again. A model with `offline_gguf` falls back, when the hub can
  neither be reached nor has it cached, to a GGUF copy converted once into the model cache.
- path: a local directory.

The origin of the weights is recorded and is part of the run fingerprint: a resumed run must not continue on
other weights than it started with.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from ampli.config.schema import ConfigError, ModelConfig

log = logging.getLogger("ampli")

# A model's weights, config, tokenizer and chat template; not the duplicate formats many hub repos also carry.
HUB_FILES = ["*.json", "*.safetensors", "*.model", "*.tiktoken", "*.txt", "*.jinja"]


@dataclass(frozen=True)
class Weights:
    path: Path
    origin: str  # "tiny", "hub:<id>", "path:<dir>" or "gguf:<package>/<file>"


def resolve_weights(cfg: ModelConfig, cache_root: Path, tokenizer_only: bool = False) -> Weights:
    """tokenizer_only: a hub model's tokenizer and config files, not its weights (a service holds those)."""
    if cfg.source == "tiny":
        from ampli.models.tiny_model import tiny_model_dir

        return Weights(tiny_model_dir(cfg, cache_root), "tiny")
    if cfg.source == "path":
        path = Path(cfg.path).expanduser()
        if not (path / "config.json").is_file():
            raise ConfigError(f"model.path={cfg.path!r} is not a transformers model directory (no config.json)")
        return Weights(path.resolve(), f"path:{path.resolve()}")
    return hub_weights(cfg, cache_root, tokenizer_only)


def hub_weights(cfg: ModelConfig, cache_root: Path, tokenizer_only: bool = False) -> Weights:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        files = [f for f in HUB_FILES if f != "*.safetensors"] if tokenizer_only else HUB_FILES
        return Weights(Path(snapshot_download(cfg.hub_id, allow_patterns=files)), f"hub:{cfg.hub_id}")
    except GatedRepoError:
        raise ConfigError(no_access(cfg.hub_id, "is gated: its license must be accepted on the hub")) from None
    except RepositoryNotFoundError:
        raise ConfigError(no_access(cfg.hub_id, "was not found, or is private or gated")) from None
    except LocalEntryNotFoundError as e:
        if cfg.offline_gguf is None:
            why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(
                f"model.hub_id={cfg.hub_id!r} can neither be downloaded nor found in the Hugging Face cache ({why}); "
                f"download it once where the hub is reachable (a gated model, such as Llama's, first needs its "
                f"license accepted at https://huggingface.co/{cfg.hub_id} and a token with access in HF_TOKEN), or "
                f"point model.source=path model.path=... at a copy"
            ) from None
    reason = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "no connection, and not in the cache"
    return gguf_weights(cfg, cache_root, reason)


def no_access(hub_id: str, why: str) -> str:
    """Why a hub model cannot be downloaded, and the two things that fix it (access, then a token that has it)."""
    from huggingface_hub import get_token

    token = ("a Hugging Face token is set (HF_TOKEN or `hf auth login`), but its account has no access"
             if get_token() else "no Hugging Face token is set (HF_TOKEN)")
    return (f"model.hub_id={hub_id!r} {why}; {token}. Request access at https://huggingface.co/{hub_id}, then "
            f"export HF_TOKEN=<a read token of that account> where the job runs (a SLURM job inherits it from the "
            f"submitting shell), or download it once and use model.source=path model.path=<the copy>")


def gguf_weights(cfg: ModelConfig, cache_root: Path, reason: str) -> Weights:
    from ampli.models.gguf_copy import convert_gguf, packaged_gguf
    from ampli.record.model_cache import build_once

    copy = cfg.offline_gguf
    gguf = packaged_gguf(copy)
    log.warning("%s is not reachable on the hub (%s); using the offline copy %s from package %s",
                cfg.hub_id, reason, copy.file, copy.package)
    final = cache_root / f"{cfg.name}-gguf-{Path(copy.file).stem}"
    return Weights(build_once(final, lambda tmp: convert_gguf(gguf, tmp)), f"gguf:{copy.package}/{copy.file}")
