"""tools/vllm_source_check.py (`make vllm-check`) on a miniature wheel: it finds every name ampli passes where vLLM
defines it, and names the one a release renamed, with vLLM's closest names."""

import importlib.util
import re
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("vllm_source_check", ROOT / "tools" / "vllm_source_check.py")
source_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(source_check)


def fields(names) -> str:
    return "".join(f"    {name}: object = None\n" for name in names)


def miniature_wheel(path: Path, engine_args, sampling, lora, llm_takes_kwargs: bool = True) -> zipfile.ZipFile:
    """vLLM's four definitions the check reads, in the shapes the real source has them."""
    rest = ", **kwargs" if llm_takes_kwargs else ""
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("vllm/entrypoints/llm.py", f"""
class LLM:
    def __init__(self, model, *, tokenizer=None, seed=0{rest}):
        pass

    def generate(self, prompts, sampling_params=None, *, use_tqdm=True, lora_request=None, priority=None):
        pass
""")
        wheel.writestr("vllm/engine/arg_utils.py", "@dataclass\nclass EngineArgs:\n" + fields(engine_args))
        wheel.writestr("vllm/sampling_params.py", "class SamplingParams(msgspec.Struct):\n" + fields(sampling))
        wheel.writestr("vllm/lora/request.py", "class LoRARequest(msgspec.Struct):\n" + fields(lora))
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def ampli_passes():
    settings = source_check.engine_settings()
    calls = source_check.worker_calls(source_check.WORKER.read_text(encoding="utf-8"))
    return settings, calls


def test_what_ampli_passes_is_read_from_its_own_code(ampli_passes):
    settings, calls = ampli_passes
    assert {"model", "max_loras", "enable_lora", "enable_mixed_moe_lora_format", "limit_mm_per_prompt"} <= settings
    assert calls["SamplingParams"][1] >= {"n", "temperature", "top_p", "top_k", "max_tokens", "seed", "prompt_logprobs"}
    assert calls["LoRARequest"][1] == {"lora_name", "lora_int_id", "lora_path", "is_3d_lora_weight"}
    assert calls["generate"][1] == {"lora_request", "use_tqdm"} and calls["generate"][0] == 2


def test_a_wheel_with_every_name_passes_and_a_renamed_one_is_named(ampli_passes, tmp_path):
    settings, calls = ampli_passes
    sampling, lora = sorted(calls["SamplingParams"][1]), sorted(calls["LoRARequest"][1])
    whole = miniature_wheel(tmp_path / "whole.whl", sorted(settings), sampling, lora)
    assert source_check.problems_in(whole, settings, calls) == []

    renamed = [name if name != "max_loras" else "max_lora_adapters" for name in settings]
    older = [name for name in lora if name != "is_3d_lora_weight"]
    broken = miniature_wheel(tmp_path / "broken.whl", renamed, [*sampling, "top_k_tokens"], older)
    assert source_check.problems_in(broken, settings, calls) == [
        "LLM(...) engine settings: no 'max_loras' (closest: max_lora_rank, max_lora_adapters, enable_lora)",
        "LoRARequest: no 'is_3d_lora_weight'",
    ]
    closed = miniature_wheel(tmp_path / "closed.whl", sorted(settings), sampling, lora, llm_takes_kwargs=False)
    # EngineArgs is reached only through LLM's **kwargs: without them, LLM's own parameters are all there is
    assert "LLM(...) engine settings: no 'max_loras'" in source_check.problems_in(closed, settings, calls)


def test_make_vllm_check_reads_the_floor_and_the_newest_release_make_vllm_allows():
    from packaging.requirements import Requirement
    from packaging.version import Version

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    spec = Requirement(re.search(r"^VLLM_SPEC \?= (.+)$", makefile, re.M).group(1)).specifier
    versions = [Version(v) for v in re.search(r"^VLLM_VERSIONS \?= (.+)$", makefile, re.M).group(1).split()]
    floor = next(Version(s.version) for s in spec if s.operator == ">=")
    assert all(v in spec for v in versions) and min(versions) == floor
