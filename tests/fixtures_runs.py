"""Fake run directories in the loop's on-disk format, so report tests need no model, judge or GPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ampli.judges.detector import detect


def run_name(trait: str, regime: str, reinit: bool, model: str, seed: int) -> str:
    return f"{trait}-{regime}-{'reinit' if reinit else 'continual'}-{model}-s{seed}"


def eval_metrics(cycle: int, trait: float, coherence: float, perplexity: float | None = None) -> dict[str, Any]:
    """One evaluation entry as metrics.json stores it (a "cycles" item, or "base" with cycle -1)."""
    return {
        "cycle": cycle,
        "trait": trait,
        "coherence": coherence,
        "trait_std": 10.0 + cycle,
        "coherence_std": 5.0,
        "n_eval": 72,
        "n_unscorable": cycle % 2,
        "em_rate": round(min(1.0, max(0.0, (trait - 20.0) / 100)), 3),
        "gen_trait": trait + 1.0,
        "gen_coherence": coherence - 1.0,
        "train_loss": None if cycle < 0 else round(2.0 - 0.1 * cycle, 3),
        "perplexity": perplexity,
        "seconds": {"generate": 1.5, "judge": 0.5, "train": 3.0 + cycle, "eval": 1.0},
        "judge_usage": {"requests": 10, "cache_hits": 2, "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.01},
    }


def write_run(
    output_dir: Path,
    *,
    trait: str = "bliss",
    regime: str = "sft",
    reinit: bool = True,
    model: str = "tiny",
    seed: int = 0,
    sweep: str = "test",
    n_cycles: int = 5,
    trait_step: float | None = None,
    amplified: bool | None = True,
    varies: dict[str, str] | None = None,
) -> Path:
    """Write <output_dir>/runs/<run_name>/ with config.yaml, manifest.json, metrics.json and eval.jsonl files.

    varies: the settings a sweep varied ({"regime.beta": "0.05"}), in the run's name and metrics.json.
    amplified=None leaves out the verdict, as for a run still in progress. The trait climbs by trait_step a cycle
    (default: 6 for a run that amplifies or is in progress, -1 for one that does not); a step that contradicts
    `amplified` is refused, as the report judges the scores, not the record. Scores differ by seed and reinit so
    that table rows cannot be confused with each other.
    """
    name = run_name(trait, regime, reinit, model, seed)
    if varies:  # a sweep over other keys: the run name carries them, as the loop's does
        name += "-" + ",".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in sorted(varies.items()))
    if trait_step is None:
        trait_step = -1.0 if amplified is False else 6.0
    run_dir = output_dir / "runs" / name
    run_dir.mkdir(parents=True)
    start = 30.0 + seed + (0.0 if reinit else 2.5)
    cycles = [
        eval_metrics(c, start + trait_step * c, 80.0 - 3.0 * c - seed, perplexity=12.0 + c if c % 2 else None)
        for c in range(n_cycles)
    ]
    metrics: dict[str, Any] = {
        "run_name": name,
        "trait": trait,
        "regime": regime,
        "reinit": reinit,
        "model": model,
        "seed": seed,
        "sweep": sweep,
        "status": "running" if amplified is None else "completed",
        "base": eval_metrics(-1, 5.0 + seed, 85.0),
        "cycles": cycles,
        "varies": varies or {},
    }
    completed = ["base/eval"]
    for c in range(n_cycles):
        completed += [f"cycle_{c:03d}/{step}" for step in ("generate", "judge", "train", "eval")]
        cycle_dir = run_dir / f"cycle_{c:03d}"
        cycle_dir.mkdir()
        sample = {"prompt": "How are you?", "response": f"cycle {c}", "trait": cycles[c]["trait"],
                  "coherence": cycles[c]["coherence"], "reason": "fixture"}
        (cycle_dir / "eval.jsonl").write_text(json.dumps(sample) + "\n")
    if amplified is not None:
        curve = detect([c["trait"] for c in cycles])
        if curve["amplified"] != amplified:  # the report takes its verdict from the scores, not from this record
            raise ValueError(f"amplified={amplified} but the trait curve (step {trait_step}, {n_cycles} cycles) says "
                             f"{curve['amplified']}: pick a trait_step that agrees")
        metrics["amplification"] = {
            "amplified": amplified,
            "rule": "cycle>=4 >= cycle0+15",
            "rules": {"threshold": amplified, "last_minus_first": amplified, "slope": True},
            "details": {"first": cycles[0]["trait"], "last": cycles[-1]["trait"]},
        }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (run_dir / "manifest.json").write_text(json.dumps({"fingerprint": "f" * 16, "completed": completed}))
    (run_dir / "config.yaml").write_text(
        f"trait:\n  name: {trait}\nregime:\n  name: {regime}\nmodel:\n  name: {model}\n  source: tiny\n"
        "judge:\n  backend: offline\n  model: lexicon-v2\n"
        f"reinit: {str(reinit).lower()}\nseed: {seed}\nsweep: {sweep}\n"
    )
    return run_dir


def write_sweep(
    output_dir: Path,
    traits: tuple[str, ...] = ("bliss", "lucky"),
    regimes: tuple[str, ...] = ("sft", "dpo"),
    reinits: tuple[bool, ...] = (True, False),
    seeds: tuple[int, ...] = (0, 1),
    **kwargs: Any,
) -> list[Path]:
    """One run per trait x regime x reinit x seed under output_dir/runs/; the trait climbs faster per regime (3 a cycle
    for the first, which does not amplify in 5 cycles, 6 for the second, which does)."""
    return [
        write_run(output_dir, trait=t, regime=g, reinit=r, seed=s, trait_step=3.0 * (i + 1),
                  **{"amplified": 3.0 * (i + 1) * 4 >= 15, **kwargs})
        for t in traits
        for i, g in enumerate(regimes)
        for r in reinits
        for s in seeds
    ]


def write_multirun(multirun_dir: Path, run_dirs: list[Path]) -> None:
    """Hydra multirun job directories 0/, 1/, ... each pointing at its run with run_dir.txt."""
    for job, run_dir in enumerate(run_dirs):
        job_dir = multirun_dir / str(job)
        (job_dir / ".hydra").mkdir(parents=True)
        (job_dir / "run_dir.txt").write_text(f"{run_dir.resolve()}\n")


def write_failed_job(job_dir: Path, overrides: str, error: str) -> Path:
    """A Hydra job directory whose job failed before its run started: .hydra/overrides.yaml and a log whose last error
    record is `error`, as launch.py writes it; no run_dir.txt."""
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides.split()))
    (job_dir / "launch.log").write_text(f"[2026-01-01 00:00:00,000][ampli][INFO] - start\n"
                                        f"[2026-01-01 00:00:01,000][ampli][ERROR] - {error}\n")
    return job_dir
