"""`make bench`: how fast one cycle of the embedded default runs on this machine, and where its time goes.

    .venv/bin/python bench/cycle.py                 # model=tiny, the embedded default
    .venv/bin/python bench/cycle.py model=micro     # any Hydra override, e.g. a quick check of this script

Measures, and prints as a table and writes to outputs/bench/cycle.json:
  - generation throughput of ampli.generation.batched.generate (sorted by length, left-padded, as the loop runs it)
    vs the same function one prompt at a time; target: batched >= 10x
  - the time split of one generating cycle (cycle 1) of a real Run: generate, judge, train, eval, and the framework
    overhead (cycle wall time minus the four stages); target: overhead < 5% of the cycle
  - peak memory, the CPU's matmul GFLOP/s, and the fraction of it that generation (~2 x params x tokens) and
    training (~6 x params x tokens) achieve
The run uses a temporary output_dir and the shared model cache (outputs/models), so the tiny model is built once.
"""

import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# ampli first: importing it sets OMP_WAIT_POLICY before torch loads, as every ampli entry point does.
from ampli.inputs import corpus  # noqa: E402, I001
from ampli.config.schema import register_configs  # noqa: E402
from ampli.models.chat import render_prompt, template_kwargs, user_turn  # noqa: E402
from ampli.generation.batched import generate, prompt_ids  # noqa: E402
from ampli.run.loop import Run  # noqa: E402
from ampli.models.sources import ModelSource, set_cpu_threads  # noqa: E402
from ampli.record.store import write_json  # noqa: E402

import torch  # noqa: E402
import transformers  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.core.global_hydra import GlobalHydra  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

RESULTS = ROOT / "outputs" / "bench" / "cycle.json"
BATCHED_TARGET = 10.0
OVERHEAD_TARGET = 0.05
LOOP_PROMPTS = 16  # the per-prompt loop is slow by design: a sample of prompts is enough for its rate
STAGES = ("generate", "judge", "train", "eval")


def config(output_dir: Path, overrides: list[str]) -> DictConfig:
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[
            "logger=none", "loop.cycles=2", f"output_dir={output_dir}",
            f"model_cache={ROOT / 'outputs' / 'models'}",
            "judge.allow_lexicon_on_real_model=true",  # a bench times the stages; it reads no scores
            *overrides,
        ])


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def matmul_gflops(n: int = 1024, repeats: int = 8) -> float:
    """Best-of float32 n x n matmul rate with torch's default threads: the practical peak of this CPU."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(timed(lambda: a @ b)[1] for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def generation_throughput(cfg, source: ModelSource, peak_gflops: float) -> dict:
    """Useful (decoded) tokens per second, batched vs per prompt, through the loop's own generate()."""
    tok, model = source.tokenizer(), source.load()
    questions = corpus.prompt_pool("train")[: cfg.loop.prompts_per_cycle]
    kwargs = template_kwargs(tok, cfg.model.chat_template_kwargs)
    prompts = [render_prompt(tok, user_turn(q), kwargs) for q in questions]
    params = model.num_parameters()

    def run(batch: list[str], batch_size: int, repeats: int = 3) -> dict:
        """Best of `repeats` identical (same seed) runs, so a busy moment of the machine is not the number."""
        outputs, seconds = min(
            (timed(lambda: generate(model, tok, batch, max_new_tokens=cfg.model.max_new_tokens,
                                    temperature=cfg.loop.temperature, batch_size=batch_size, seed=0, desc="bench"))
             for _ in range(repeats)),
            key=lambda result: result[1],
        )
        new = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in outputs)
        prompt_tokens = sum(len(ids) for ids in prompt_ids(tok, batch, chat=True))
        gflops = 2 * params * (prompt_tokens + new) / seconds / 1e9
        return {"prompts": len(batch), "batch_size": batch_size, "seconds": seconds, "new_tokens": new,
                "tokens_per_s": new / seconds, "gflops": gflops, "peak_fraction": gflops / peak_gflops}

    run(prompts[:2], 2, repeats=1)  # warm-up: first-call allocations and kernel selection
    batched = run(prompts, cfg.model.generation_batch_size)
    loop = run(prompts[:LOOP_PROMPTS], 1)
    return {"params": params, "batched": batched, "per_prompt": loop,
            "speedup": batched["tokens_per_s"] / loop["tokens_per_s"]}


class TimedRun(Run):
    """The real loop, with each cycle's wall time recorded and its stages' time split into compute and the rest."""

    def __init__(self, cfg: DictConfig):
        self.cycle_wall: dict[int, float] = {}
        self.compute: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.train_tokens: dict[str, int] = {}
        self.current = ""
        super().__init__(cfg)

    def stage(self, name, compute, load):
        self.current = name
        return super().stage(name, compute, load)

    def cycle(self, cycle: int) -> dict:
        metrics, self.cycle_wall[cycle] = timed(lambda: super(TimedRun, self).cycle(cycle))
        return metrics

    def count(self, what: str, fn):
        """Wrap fn so the seconds spent in it are added to the current stage under `what`."""
        def wrapper(*args, **kwargs):
            result, seconds = timed(lambda: fn(*args, **kwargs))
            self.compute[self.current][what] += seconds
            return result
        return wrapper


def instrument(run: TimedRun) -> None:
    """Attribute stage time to sampling, judging, optimiser steps, model loading and checkpoint saving."""
    import ampli.generation.hf as hf_generation

    hf_generation.generate = run.count("sampling", hf_generation.generate)
    run.judge.judge = run.count("judging", run.judge.judge)
    ModelSource.load = run.count("model loading", ModelSource.load)
    transformers.PreTrainedModel.save_pretrained = run.count("checkpoint saving",
                                                             transformers.PreTrainedModel.save_pretrained)
    train = transformers.Trainer.train

    def train_and_count(trainer, *args, **kwargs):
        result = run.count("optimiser steps", train)(trainer, *args, **kwargs)
        run.train_tokens[run.current] = int(max(float(h.get("num_tokens", 0)) for h in trainer.state.log_history))
        return result

    transformers.Trainer.train = train_and_count


def cycle_split(run: TimedRun, summary: dict, params: int, peak_gflops: float, cycle: int = 1) -> dict:
    seconds = summary["cycles"][cycle]["seconds"]
    wall = run.cycle_wall[cycle]
    stages = {s: {"seconds": seconds[s], "share": seconds[s] / wall,
                  "inside": dict(run.compute[f"cycle_{cycle:03d}/{s}"])} for s in STAGES}
    overhead = wall - sum(seconds[s] for s in STAGES)
    train = f"cycle_{cycle:03d}/train"
    train_gflops = 6 * params * run.train_tokens[train] / run.compute[train]["optimiser steps"] / 1e9
    return {"cycle": cycle, "wall_seconds": wall, "stages": stages,
            "overhead_seconds": overhead, "overhead_share": overhead / wall,
            "train_tokens": run.train_tokens[train], "train_gflops": train_gflops,
            "train_peak_fraction": train_gflops / peak_gflops}


def report(results: dict) -> str:
    g, c = results["generation"], results["cycle"]
    b, p = g["batched"], g["per_prompt"]
    lines = [
        f"ampli bench: model={results['model']} ({g['params'] / 1e6:.2f}M params), {results['cpus']} CPUs, "
        f"{results['torch_threads']} torch threads, load average {results['load_average']:.1f} at start",
        "",
        f"{'generation':<34}{'tokens/s':>10}{'seconds':>10}{'GFLOP/s':>10}{'of peak':>9}",
        f"{'  batched (bs=' + str(b['batch_size']) + ', ' + str(b['prompts']) + ' prompts)':<34}"
        f"{b['tokens_per_s']:>10.0f}{b['seconds']:>10.2f}{b['gflops']:>10.2f}{b['peak_fraction']:>9.1%}",
        f"{'  per-prompt loop (' + str(p['prompts']) + ' prompts)':<34}"
        f"{p['tokens_per_s']:>10.0f}{p['seconds']:>10.2f}{p['gflops']:>10.2f}{p['peak_fraction']:>9.1%}",
        f"  batched / per-prompt: {g['speedup']:.1f}x   (target >= {BATCHED_TARGET:.0f}x: "
        f"{'met' if g['speedup'] >= BATCHED_TARGET else 'NOT met'})",
        "",
        f"cycle {c['cycle']} (first generating cycle) {'seconds':>10}{'of cycle':>10}   inside the stage",
    ]
    for name, s in c["stages"].items():
        inside = ", ".join(f"{k} {v:.2f}s" for k, v in s["inside"].items())
        lines.append(f"  {name:<32}{s['seconds']:>10.2f}{s['share']:>10.1%}   {inside}")
    lines += [
        f"  {'framework overhead':<32}{c['overhead_seconds']:>10.2f}{c['overhead_share']:>10.1%}   "
        f"(target < {OVERHEAD_TARGET:.0%}: {'met' if c['overhead_share'] < OVERHEAD_TARGET else 'NOT met'})",
        f"  {'cycle wall time':<32}{c['wall_seconds']:>10.2f}",
        "",
        f"matmul peak (float32 1024^2): {results['matmul_gflops']:.1f} GFLOP/s; "
        f"training {c['train_gflops']:.2f} GFLOP/s = {c['train_peak_fraction']:.1%} of peak "
        f"({c['train_tokens']} tokens); generation (batched) {b['peak_fraction']:.1%} of peak",
        f"peak memory (max RSS of this process): {results['peak_rss_mb']:.0f} MB",
        f"whole run: {results['run_seconds']:.1f} s for base eval + {results['cycles']} cycles "
        f"(setup {results['setup_seconds']:.1f} s)",
    ]
    return "\n".join(lines)


def main(overrides: list[str]) -> dict:
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ampli-bench-") as tmp:
        cfg = config(Path(tmp), overrides)
        typed = OmegaConf.to_object(cfg)
        source, build_seconds = timed(lambda: ModelSource.create(typed.model, Path(typed.model_cache), typed.device))
        peak = matmul_gflops()
        set_cpu_threads(typed.model)  # as the loop runs it
        generation = generation_throughput(typed, source, peak)
        run, setup_seconds = timed(lambda: TimedRun(cfg))
        instrument(run)
        summary, run_seconds = timed(run.run)
        results = {
            "model": typed.model.name, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "load_average": load_average, "model_build_or_load_seconds": build_seconds, "matmul_gflops": peak,
            "generation": generation, "cycle": cycle_split(run, summary, generation["params"], peak),
            "cycles": typed.loop.cycles, "setup_seconds": setup_seconds, "run_seconds": run_seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "targets": {"batched_speedup": BATCHED_TARGET, "overhead_share": OVERHEAD_TARGET},
        }
    return publish(results, report(results), RESULTS)


def publish(results: dict, text: str, path: Path) -> dict:
    """Print a bench's report and keep its numbers in outputs/bench/ (every bench does both)."""
    print(text)
    write_json(path, results)
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
