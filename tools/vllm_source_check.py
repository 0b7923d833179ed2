"""`make vllm-check`: every name ampli passes to vLLM, checked against the source of the vLLM wheels themselves.

vLLM needs a GPU and an environment of its own, so the engine's calls cannot be tried here; the fake vllm of the
tests only knows the names it was told. This reads the wheels instead (downloaded with `pip download --no-deps`,
never installed, never imported) and checks, for each version:
  engine settings   every key VLLMGenerator._settings can send (all its branches) is a parameter of LLM.__init__
                    or, since LLM passes the rest on, a field of EngineArgs;
  SamplingParams,   every keyword ampli/generation/vllm_worker.py passes (a **dict literal's keys included) is a
  LoRARequest,      field of the class or a parameter of the method, and no call passes more positional arguments
  LLM.generate      than the signature takes.

    python tools/vllm_source_check.py 0.27.0 0.34.0 [--wheels DIR]

Exit 1 when a name is missing, with vLLM's closest names; 0 when every version has them all.
"""

import argparse
import ast
import difflib
import itertools
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "ampli" / "generation" / "vllm_worker.py"

# What the worker calls, and where vLLM defines it: (file in the wheel, class, method or None for the fields).
TARGETS = {
    "SamplingParams": ("vllm/sampling_params.py", "SamplingParams", None),
    "LoRARequest": ("vllm/lora/request.py", "LoRARequest", None),
    "generate": ("vllm/entrypoints/llm.py", "LLM", "generate"),
}


@dataclass
class Accepts:
    """What a vLLM callable takes: its names in order, how many of them may be positional, and whether it takes
    any other keyword (**kwargs)."""

    names: list[str]
    positional: int
    any_keyword: bool = False


def engine_settings() -> set[str]:
    """Every key the engine settings can hold: LoRA on or off (with adapters on fused experts), a text-only model,
    the engine that scores prompt log-probs."""
    import torch

    from ampli.generation import vllm_engine
    from ampli.generation.config import GenerationConfig

    names = set()
    cfg = GenerationConfig(backend="vllm", tensor_parallel_size=1)  # one GPU: no model config is read
    for lora, text_only, experts in itertools.product((False, True), (False, True), ([], ["mlp.experts.down_proj"])):
        lora_cfg = SimpleNamespace(enabled=lora, r=16, target_parameters=experts)
        source = SimpleNamespace(weights=SimpleNamespace(path=Path("base")), dtype=torch.bfloat16,
                                 cfg=SimpleNamespace(lora=lora_cfg, text_only=text_only))
        generator = vllm_engine.VLLMGenerator(cfg, source, None, None, max_model_len=64, prompt_logprobs=True)
        names |= set(generator._settings("base"))
    return names


def worker_calls(source: str) -> dict[str, tuple[int, set[str]]]:
    """For each TARGETS call in the worker's source: the most positional arguments any call passes, and every
    keyword, with the keys of a dict literal passed as **name."""
    tree = ast.parse(source)
    dict_keys: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            for literal in (n for n in ast.walk(node.value) if isinstance(n, ast.Dict)):
                keys = {k.value for k in literal.keys if isinstance(k, ast.Constant)}
                dict_keys.setdefault(node.targets[0].id, set()).update(keys)
    calls: dict[str, tuple[int, set[str]]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in TARGETS or (name == "generate" and not isinstance(func, ast.Attribute)):
            continue  # the worker's own generate() is not LLM.generate
        keywords = {k.arg for k in node.keywords if k.arg}
        keywords |= {key for k in node.keywords if k.arg is None and isinstance(k.value, ast.Name)
                     for key in dict_keys.get(k.value.id, ())}
        positional, known = calls.get(name, (0, set()))
        calls[name] = (max(positional, len(node.args)), known | keywords)
    return calls


def find_class(tree: ast.Module, name: str) -> ast.ClassDef:
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def class_fields(cls: ast.ClassDef) -> Accepts:
    """A dataclass's or msgspec Struct's fields, in order (all of them may be passed positionally)."""
    names = [n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
             and not n.target.id.startswith("_")]
    return Accepts(names, len(names))


def method_parameters(cls: ast.ClassDef, method: str) -> Accepts:
    func = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == method)
    positional = [a.arg for a in func.args.posonlyargs + func.args.args][1:]  # without self
    names = positional + [a.arg for a in func.args.kwonlyargs]
    return Accepts(names, len(positional), func.args.kwarg is not None)


def check(accepts: Accepts, positional: int, keywords: set[str], what: str) -> list[str]:
    problems = []
    if positional > accepts.positional:
        problems.append(f"{what}: {positional} positional arguments, it takes {accepts.positional}")
    for name in sorted(keywords - set(accepts.names)):
        if not accepts.any_keyword:
            close = difflib.get_close_matches(name, accepts.names, n=3)
            problems.append(f"{what}: no {name!r}" + (f" (closest: {', '.join(close)})" if close else ""))
    positional_names = keywords & set(accepts.names[:positional])
    problems += [f"{what}: {name!r} given both by position and by name" for name in sorted(positional_names)]
    return problems


def problems_in(wheel: zipfile.ZipFile, settings: set[str], calls: dict[str, tuple[int, set[str]]]) -> list[str]:
    """Every name of `settings` and `calls` that the vLLM source in `wheel` does not take."""
    def tree(path: str) -> ast.Module:
        return ast.parse(wheel.read(path).decode("utf-8"))

    llm = method_parameters(find_class(tree("vllm/entrypoints/llm.py"), "LLM"), "__init__")
    engine_args = class_fields(find_class(tree("vllm/engine/arg_utils.py"), "EngineArgs"))
    accepted = Accepts(llm.names + (engine_args.names if llm.any_keyword else []), llm.positional)
    problems = check(accepted, 0, settings, "LLM(...) engine settings")
    for name, (path, cls, method) in TARGETS.items():
        found = find_class(tree(path), cls)
        accepts = method_parameters(found, method) if method else class_fields(found)
        positional, keywords = calls.get(name, (0, set()))
        problems += check(accepts, positional, keywords, f"{cls}.{method}" if method else cls)
    return problems


def wheel_for(version: str, wheels: Path) -> Path:
    """The vllm==version wheel in `wheels`, downloaded there (without dependencies) if it is not yet."""
    found = sorted(wheels.glob(f"vllm-{version}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--dest", str(wheels), f"vllm=={version}"], check=True)
        found = sorted(wheels.glob(f"vllm-{version}-*.whl"))
    return found[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="+", help="vLLM versions to check, e.g. 0.27.0 0.34.0")
    parser.add_argument("--wheels", type=Path, default=ROOT / ".cache" / "vllm-wheels",
                        help="where the wheels are kept (downloaded once)")
    args = parser.parse_args(argv)
    args.wheels.mkdir(parents=True, exist_ok=True)
    settings, calls = engine_settings(), worker_calls(WORKER.read_text(encoding="utf-8"))
    print(f"ampli passes: engine settings {', '.join(sorted(settings))}; "
          + "; ".join(f"{name} {', '.join(sorted(kw))}" for name, (_, kw) in sorted(calls.items())))
    failed = False
    for version in args.versions:
        with zipfile.ZipFile(wheel_for(version, args.wheels)) as wheel:
            problems = problems_in(wheel, settings, calls)
        print(f"vllm {version}: " + ("every name found" if not problems else "MISSING"))
        for problem in problems:
            print(f"  {problem}")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
