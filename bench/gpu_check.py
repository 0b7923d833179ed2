"""`make gpu-check`: what ampli does on one CUDA GPU, in one script of under 8 minutes (one H100), with no network.

    python bench/gpu_check.py [--wheels DIR] [--out outputs/bench/gpu_check.json] [--steps sft,dpo,distill,generation]

Each step runs on the micro model with LoRA, device=cuda and bf16, in a process of its own with a deadline, so
that one failure or hang does not hide the others:
  sft, dpo, distill   two cycles of the regime through launch.py (train, sample, judge offline, eval);
  generation          bench/generation_gpu.py: generation=hf against generation=vllm on the same adapter and
                      prompts (skipped, with the reason, where no vLLM environment is found: `make vllm`).
Before the steps, the ampli dependencies the machine lacks are listed, and installed from --wheels (a folder of
wheels brought along, `pip install --no-index`) when given. One JSON says what passed, each step's seconds and
cycle times, the versions and the GPU, and the last lines of a failed step's output.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "outputs" / "bench" / "gpu_check.json"
MICRO = ["model=micro", "logger=none", "loop.cycles=2", "loop.seed_examples=16", "loop.prompts_per_cycle=8",
         "loop.eval_samples=1", "loop.eval_pool_prompts=2", "regime.samples_per_cycle=8"]
LORA = ["model.lora.enabled=true", "model.lora.r=4", "model.lora.alpha=8", "regime.learning_rate=1e-3"]
# Deadlines in seconds, 450 in all: the whole check stays under 8 minutes with the set-up around them.
STEPS = {"sft": 90, "dpo": 90, "distill": 120, "generation": 150}
OUTPUT_TAIL = 30  # lines of a failed step's output kept in the JSON


def missing_packages(requirements: list[str]) -> list[str]:
    """The requirements whose distribution is not installed (versions are pip's business once installing)."""
    missing = []
    for requirement in requirements:
        try:
            version(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0))
        except PackageNotFoundError:
            missing.append(requirement)
    return missing


def ampli_requirements() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


def install_from(wheels: Path, requirements: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
                           str(wheels), *requirements], capture_output=True, text=True)
    return {"requirements": requirements, "returncode": done.returncode, "output": tail(done.stdout + done.stderr)}


def tail(text: str) -> list[str]:
    return text.strip().splitlines()[-OUTPUT_TAIL:]


def vllm_found() -> str | None:
    """Why generation=vllm cannot run here, or None when a Python with vllm is found where ampli looks."""
    python = os.environ.get("AMPLI_VLLM_PYTHON") or str(ROOT / ".venv-vllm" / "bin" / "python")
    if not Path(python).exists():
        return f"no vLLM environment ({python} does not exist; `make vllm`, or set AMPLI_VLLM_PYTHON)"
    probe = subprocess.run([python, "-c", "import vllm"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"{python} cannot import vllm: {tail(probe.stderr)[-1:]}"


def command(step: str, out: Path, device: str, extra: list[str]) -> list[str]:
    common = [*MICRO, *LORA, f"device={device}", f"model.dtype={'bfloat16' if device == 'cuda' else 'float32'}"]
    if step == "generation":
        return [sys.executable, "bench/generation_gpu.py", *common, *extra]
    return [sys.executable, "launch.py", f"regime={step}", *common, f"output_dir={out / step}", *extra]


def run_step(step: str, out: Path, device: str, extra: list[str]) -> dict:
    """One step in its own process, with its deadline; what it reported and how long it took."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    started = time.monotonic()
    try:
        done = subprocess.run(command(step, out, device, extra), cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=STEPS[step])
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode() + (expired.stderr or b"").decode()
        return {"passed": False, "seconds": time.monotonic() - started,
                "error": f"over its {STEPS[step]} s deadline", "output": tail(output)}
    result = {"passed": done.returncode == 0, "seconds": time.monotonic() - started, "returncode": done.returncode}
    if step == "generation":
        written = ROOT / "outputs" / "bench" / "generation_gpu.json"
        if done.returncode == 0 and written.exists():
            result["results"] = json.loads(written.read_text())
    else:
        metrics = sorted((out / step).glob("runs/*/metrics.json"))
        if metrics:
            summary = json.loads(metrics[-1].read_text())
            result["status"] = summary.get("status")
            result["cycle_seconds"] = [cycle.get("seconds") for cycle in summary.get("cycles", [])]
            result["passed"] = result["passed"] and summary.get("status") == "completed"
    if not result["passed"]:
        result["output"] = tail(done.stdout + done.stderr)
    return result


def environment() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
            **{name: _version(name) for name in ("transformers", "peft", "accelerate", "trl", "vllm")}}


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", type=Path, help="a folder of wheels to install what the machine lacks from")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--steps", default=",".join(STEPS), help=f"a subset of {','.join(STEPS)}")
    parser.add_argument("--device", default="cuda", help="cuda; cpu only to try this script without a GPU")
    parser.add_argument("extra", nargs="*", help="Hydra overrides added to every step, e.g. model_cache=DIR")
    args = parser.parse_args(argv)
    steps = args.steps.split(",")
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"--steps {','.join(unknown)} is not valid; choose from {','.join(STEPS)}")
    started = time.monotonic()
    results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "device": args.device}
    missing = missing_packages(ampli_requirements())
    if missing and args.wheels:
        results["installed"] = install_from(args.wheels, missing)
        missing = missing_packages(ampli_requirements())
    results["missing_packages"] = missing
    results["environment"] = environment()
    if args.device == "cuda" and not results["environment"]["gpu"]:
        results["steps"] = {step: {"passed": False, "error": "no CUDA GPU visible"} for step in steps}
    else:
        results["steps"] = {}
        with tempfile.TemporaryDirectory(prefix="ampli-gpu-check-") as tmp:
            for step in steps:
                reason = vllm_found() if step == "generation" else None
                results["steps"][step] = ({"passed": None, "skipped": reason} if reason
                                          else run_step(step, Path(tmp), args.device, args.extra))
                print(f"{step}: {results['steps'][step]}", flush=True)
    results["total_seconds"] = time.monotonic() - started
    results["passed"] = all(s["passed"] is not False for s in results["steps"].values()) and not missing
    from ampli.record.store import write_json  # after the install: ampli's own modules need what it brings

    write_json(args.out, results)
    print(f"written to {args.out}; passed: {results['passed']}")
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
