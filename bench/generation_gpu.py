"""`make bench-gpu`: generation=hf against generation=vllm on one GPU, same prompts, same LoRA adapter.

    make vllm                                                           # once: vLLM in its own environment
    .venv/bin/python bench/generation_gpu.py model=qwen3-4b-instruct    # any Hydra override

Measures, prints as a table and writes to outputs/bench/generation_gpu.json:
  - decoded tokens per second of each engine answering loop.prompts_per_cycle pool prompts once with cycle 0's
    adapter, at the loop's temperature and max_new_tokens; the first call (engine start, adapter load, warm-up)
    is timed apart, since vLLM pays it once per cycle and the hf backend once per span between trainings
  - one whole cycle (cycle 1 of a 2-cycle SFT run) with each engine: generate, judge, train, eval and the rest
Refuses before any work without a CUDA GPU or an importable vLLM (the same check as generation=vllm).
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ampli.inputs import corpus  # noqa: E402, I001
from ampli.models.chat import render_prompt, template_kwargs, user_turn  # noqa: E402
from ampli.generation import check_generation  # noqa: E402
from ampli.generation.hf import HFGenerator  # noqa: E402
from ampli.generation.vllm_engine import VLLMGenerator  # noqa: E402
from ampli.record.store import write_json  # noqa: E402
from bench.cycle import STAGES, TimedRun, config, timed  # noqa: E402

from omegaconf import OmegaConf  # noqa: E402

RESULTS = ROOT / "outputs" / "bench" / "generation_gpu.json"
BACKENDS = ("hf", "vllm")
WARM_UP_PROMPTS = 2


def cycle_run(tmp: Path, backend: str, overrides: list[str]) -> tuple[TimedRun, dict]:
    """A 2-cycle SFT run with generation=`backend`, and the time split of its first generating cycle."""
    run = TimedRun(config(tmp, ["regime=sft", "loop.cycles=2", f"generation={backend}", *overrides,
                                f"output_dir={tmp / backend}"]))  # one directory per engine, whatever the overrides
    seconds = run.run()["cycles"][1]["seconds"]
    wall = run.cycle_wall[1]
    split = {stage: seconds[stage] for stage in STAGES}
    return run, {**split, "rest": wall - sum(split.values()), "cycle": wall}


def throughput(generator, tokenizer, prompts: list[str], cfg) -> dict:
    """Decoded tokens per second from cycle 0's model; the first (warm-up) call timed on its own."""
    def sample(batch: list[str], seed: int) -> list[str]:
        return generator.sample(0, batch, n=1, max_new_tokens=cfg.model.max_new_tokens,
                                temperature=cfg.loop.temperature, seed=seed, chat=True, desc="bench")

    _, first_call = timed(lambda: sample(prompts[:WARM_UP_PROMPTS], seed=1))
    texts, seconds = timed(lambda: sample(prompts, seed=0))
    generator.release()
    new = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])
    return {"prompts": len(prompts), "first_call_seconds": first_call, "seconds": seconds, "new_tokens": new,
            "tokens_per_s": new / seconds}


def report(results: dict) -> str:
    g, c = results["generation"], results["cycle"]
    lines = [
        f"ampli bench-gpu: model={results['model']} on {results['gpu']}, {g['hf']['prompts']} prompts, "
        f"max_new_tokens {results['max_new_tokens']}",
        "",
        f"{'generation':<12}{'tokens/s':>10}{'seconds':>10}{'new tokens':>12}{'first call s':>14}",
    ]
    lines += [f"  {b:<10}{g[b]['tokens_per_s']:>10.0f}{g[b]['seconds']:>10.2f}{g[b]['new_tokens']:>12}"
              f"{g[b]['first_call_seconds']:>14.2f}" for b in BACKENDS]
    lines += ["", f"cycle 1, seconds{'':<6}" + "".join(f"{b:>10}" for b in BACKENDS)]
    lines += [f"  {stage:<20}" + "".join(f"{c[b][stage]:>10.1f}" for b in BACKENDS) for stage in c["hf"]]
    return "\n".join(lines)


def main(overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="ampli-bench-gpu-") as tmp:
        probe = OmegaConf.to_object(config(Path(tmp), ["generation=vllm", *overrides]))
        check_generation(probe)  # no GPU or no vLLM: say so before any model is built or trained
        runs, cycle = {}, {}
        for backend in BACKENDS:
            runs[backend], cycle[backend] = cycle_run(Path(tmp), backend, overrides)
        ctx = runs["hf"].ctx  # both engines serve the hf run's cycle-0 adapter
        cfg = ctx.cfg
        kwargs = template_kwargs(ctx.tokenizer, cfg.model.chat_template_kwargs)
        prompts = [render_prompt(ctx.tokenizer, user_turn(q), kwargs)
                   for q in corpus.prompt_pool("train")[: cfg.loop.prompts_per_cycle]]
        generators = {
            "hf": HFGenerator(ctx.source, ctx.tokenizer, ctx.checkpoint, batch_size=cfg.model.generation_batch_size),
            "vllm": VLLMGenerator(runs["vllm"].ctx.cfg.generation, ctx.source, ctx.tokenizer, ctx.checkpoint,
                                  max_model_len=runs["vllm"].ctx.generator.max_model_len),
        }
        import torch

        results = {
            "model": cfg.model.name, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU",
            "max_new_tokens": cfg.model.max_new_tokens, "load_average": os.getloadavg()[0], "cycle": cycle,
            "generation": {b: throughput(generators[b], ctx.tokenizer, prompts, cfg) for b in BACKENDS},
        }
    print(report(results))
    write_json(RESULTS, results)
    print(f"\nwritten to {RESULTS}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
