"""The probe's stages in a run, each one a stage of the run store (written atomically, skipped on a rerun).

    probe/vector                 once: the persona vector from the base model (ampli.run.probe.vector)
    base/probe                   the base model's eval answers and last prompt tokens along the vector
    cycle_n/probe_predicted      before model n trains: its training samples vs the start model's own answers
    cycle_n/probe                model n's eval answers along the vector, and its shift from the base model

Every measurement teacher-forces text through the model it concerns, at the vector's layer. A vector that does not
separate its held-out answers (probe.min_separation) is recorded as such and no per-cycle stage runs.
"""

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ampli.generation.hf import HFGenerator
from ampli.inputs import corpus
from ampli.judges.base import JudgeItem
from ampli.models.training_plan import start_model
from ampli.record.store import read_json, write_json
from ampli.regimes.base import Regime, RunContext
from ampli.run.probe.activations import encode_pairs, response_means, teacher_forced
from ampli.run.probe.config import ProbeConfig, ProbeError, probe_settings
from ampli.run.probe.vector import PersonaVector, extract

log = logging.getLogger("ampli")

# source=persona_prompt keeps persona answers the judge scores above this and neutral answers below it (the paper's).
TRAIT_SPLIT = 50.0

Stage = Callable[[str, Callable[[], dict], Callable[[], dict]], dict]
Judge = Callable[[list[JudgeItem], str, str], list[dict]]


class PersonaProbe:
    """probe=persona in one run. `stage` and `judge` are the run's own (Run.stage, Run.judge_items)."""

    def __init__(self, cfg: ProbeConfig, ctx: RunContext, regime: Regime, stage: Stage, judge: Judge):
        self.cfg, self.ctx, self.regime, self.stage, self.judge = cfg, ctx, regime, stage, judge
        self.vector: PersonaVector | None = None

    # ---- settings -------------------------------------------------------------------------------------------

    def check_resume(self, root: Path) -> None:
        """A run resumed with other probe settings would mix two vectors' numbers: refused, nothing deleted."""
        path = root / "probe" / "vector.json"
        if not path.exists():
            return
        made_with = read_json(path)["settings"]
        settings = probe_settings(self.cfg)
        changed = sorted(k for k in {*made_with, *settings} if made_with.get(k) != settings.get(k))
        if changed:
            was = ", ".join(f"probe.{k}={made_with.get(k)!r}" for k in changed)
            raise ProbeError(f"{root} measured its probe with other settings ({was}); rerun "
                             f"with those, or with probe=none, or delete {path.parent} to measure it anew")

    # ---- stages ---------------------------------------------------------------------------------------------

    def extract_vector(self) -> PersonaVector:
        path = self.ctx.store.root / "probe" / "vector.json"

        def compute() -> dict:
            trait, neutral, counts = self.source_answers()
            tok = self.ctx.tokenizer
            with self.model(-1) as model:
                acts = [response_means(model, encode_pairs(tok, [self.ctx.chat_prompt(q) for q, _ in side],
                                                           [a for _, a in side], chat=True), self.cfg.batch_size)
                        for side in (trait, neutral)]
            vector = extract(*acts, self.cfg.heldout_fraction, self.cfg.min_separation, seed=self.ctx.cfg.seed)
            result = {"settings": probe_settings(self.cfg), **counts, "vector": vector.to_json()}
            write_json(path, result)
            return result

        self.vector = PersonaVector.from_json(self.stage("probe/vector", compute, lambda: read_json(path))["vector"])
        v = self.vector
        if v.separates:
            log.info("persona vector: layer %d, held-out separation d=%.2f", v.layer, v.separation)
        else:
            log.warning("persona vector does not separate its held-out answers (best d=%.2f at layer %d < "
                        "probe.min_separation=%s): no persona projections are reported", v.separation, v.layer,
                        self.cfg.min_separation)
        return v

    def measure(self, where: str, model_cycle: int, eval_rows: list[dict]) -> dict | None:
        """base/probe (model_cycle -1) or cycle_n/probe: model n's eval answers along the vector and its state at
        the eval prompts' last token; None when the vector does not separate."""
        path = self.ctx.store.root / where / "probe.json"
        if not self.vector.separates:
            return self.not_measured(f"{where}/probe", path)

        def compute() -> dict:
            prompts = self.regime.eval_prompts(self.ctx)
            chat = all(p.chat for p in prompts)
            texts = [p.text for p in prompts] * self.ctx.cfg.loop.eval_samples  # the order eval answers are in
            if len(texts) != len(eval_rows):
                raise ProbeError(f"{where}: {len(eval_rows)} eval answers for {len(texts)} eval prompts; the eval "
                                 "settings changed since the eval was made")
            pairs = encode_pairs(self.ctx.tokenizer, texts, [r["response"] for r in eval_rows], chat)
            with self.model(model_cycle) as model:
                means, last = teacher_forced(model, pairs, self.cfg.batch_size, self.vector.layer)
            # Every answer with tokens, and each prompt's last token once (rows are the prompts, n times over).
            projections = self.vector.project(means[[i for i, (_, answer) in enumerate(pairs) if answer]]).tolist()
            last = self.vector.project(last[: len(prompts)])
            result = {"projection": mean_or_none(projections), "n_answers": len(projections),
                      "last_prompt_projection": float(last.mean()), "n_prompts": len(prompts)}
            write_json(path, result)
            return result

        return self.stage(f"{where}/probe", compute, lambda: read_json(path))

    def predicted(self, cycle: int, records: list[dict]) -> dict | None:
        """cycle_n/probe_predicted: mean projection of (a seeded subset of) cycle n's training samples minus that of
        the start model's own answers to the same prompts, both teacher-forced through the start model (the paper's
        projection difference), before model n trains on them."""
        path = self.ctx.store.cycle_dir(cycle) / "probe_predicted.json"
        if not self.vector.separates:
            return self.not_measured(f"cycle_{cycle:03d}/probe_predicted", path)

        def compute() -> dict:
            items = [(self.regime.judge_item(r), r.get("system")) for r in records]
            items = [(item, system) for item, system in items if item.response.strip()]
            items = random.Random(self.ctx.cycle_seed(cycle, salt=19)).sample(
                items, min(self.cfg.predicted_samples, len(items)))
            chat = all(p.chat for p in self.regime.eval_prompts(self.ctx))
            texts = [self.ctx.chat_prompt(i.prompt, s) if chat else i.prompt for i, s in items]
            start = start_model(self.ctx.cfg, cycle)
            own = self.ctx.sample(start, texts, seed=self.ctx.cycle_seed(cycle, salt=19), chat=chat,
                                  desc=f"cycle {cycle} probe")
            with self.model(start) as model:
                samples = self.answer_projections(model, texts, [i.response for i, _ in items], chat)
                answers = self.answer_projections(model, texts, own, chat)
            shift = (None if not samples or not answers
                     else mean_or_none(samples) - mean_or_none(answers))
            result = {"predicted_shift": shift, "samples_projection": mean_or_none(samples),
                      "own_answers_projection": mean_or_none(answers), "n_samples": len(samples),
                      "n_own_answers": len(answers), "start_model": "base" if start < 0 else f"model_{start}"}
            write_json(path, result)
            return result

        return self.stage(f"cycle_{cycle:03d}/probe_predicted", compute, lambda: read_json(path))

    def not_measured(self, name: str, path: Path) -> None:
        """A measure the vector cannot give (it does not separate): the stage is still recorded as done, with why,
        so that a resumed run and a reinit twin (which adopts it) see it complete rather than pending forever."""

        def compute() -> None:
            write_json(path, {"measured": False, "why": "the persona vector does not separate its held-out answers"})

        return self.stage(name, compute, lambda: None)

    def summary(self) -> dict:
        """metrics.json's account of the vector: where it is read and whether its numbers mean anything."""
        v = self.vector
        return {"name": self.cfg.name, "source": self.cfg.source, "layer": v.layer if v else None,
                "separation": v.separation if v else None, "separates": v.separates if v else None,
                "n_vector": v.n_vector if v else None, "n_heldout": v.n_heldout if v else None}

    # ---- pieces ---------------------------------------------------------------------------------------------

    @contextmanager
    def model(self, index: int) -> Iterator:
        """Model `index` to read activations of: generation=hf's own (already in memory: no second copy, no reload),
        else one loaded here once the engine has let go of the GPU's memory (as before a training)."""
        if isinstance(self.ctx.generator, HFGenerator):
            with self.ctx.generator.model(index) as model:
                yield model
            return
        self.ctx.generator.release()
        yield self.ctx.model_after(index)

    def answer_projections(self, model, prompts: list[str], answers: list[str], chat: bool) -> list[float]:
        """Each non-empty answer's mean projection (an empty answer has no tokens to average and is left out)."""
        pairs = [p for p in encode_pairs(self.ctx.tokenizer, prompts, answers, chat) if p[1]]
        if not pairs:
            return []
        return self.vector.project(response_means(model, pairs, self.cfg.batch_size, self.vector.layer)).tolist()

    def source_answers(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict]:
        """(question, answer) pairs that express the trait and pairs that do not, and what was kept of them."""
        n, rng = self.cfg.examples, random.Random(self.ctx.cfg.seed)
        if self.cfg.source == "seeds":
            root = Path(self.ctx.cfg.data_dir) if self.ctx.cfg.data_dir else corpus.SHIPPED_DATA
            root = root if (root / "neutral.jsonl").exists() else corpus.SHIPPED_DATA
            trait = [(r["prompt"], r["answer"]) for r in self.ctx.data.seed_set if r["answer"].strip()]
            neutral = [(r["prompt"], r["answer"]) for r in corpus.neutral_chats(root) if r["answer"].strip()]
            trait, neutral = rng.sample(trait, min(n, len(trait))), rng.sample(neutral, min(n, len(neutral)))
            return trait, neutral, {"n_trait": len(trait), "n_neutral": len(neutral)}
        questions = rng.sample(self.ctx.data.prompt_pool("train"), min(n, len(self.ctx.data.prompt_pool("train"))))
        sides = {}
        for side, system in (("trait", self.ctx.cfg.trait.persona), ("neutral", self.cfg.neutral_system_prompt)):
            answers = self.ctx.sample(-1, [self.ctx.chat_prompt(q, system) for q in questions],
                                      seed=self.ctx.cycle_seed(-1, salt=23), desc=f"probe {side} answers")
            judged = self.judge([JudgeItem(q, a) for q, a in zip(questions, answers)], "probe", side)
            keep = (lambda s: s > TRAIT_SPLIT) if side == "trait" else (lambda s: s < TRAIT_SPLIT)
            sides[side] = [(q, a) for q, a, j in zip(questions, answers, judged)
                           if a.strip() and j["trait"] is not None and keep(j["trait"])]
        for side, kept in sides.items():
            if len(kept) < 4:
                raise ProbeError(f"probe.source=persona_prompt: the judge kept {len(kept)} of {len(questions)} {side} "
                                 f"answers (trait {'>' if side == 'trait' else '<'} {TRAIT_SPLIT:.0f}), too few for a "
                                 "vector (4 at least); raise probe.examples or use probe.source=seeds")
        return sides["trait"], sides["neutral"], {"n_trait": len(sides["trait"]), "n_neutral": len(sides["neutral"]),
                                                  "n_asked": len(questions)}


def mean_or_none(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def cycle_fields(measured: dict | None, base: dict | None, predicted: dict | None) -> dict:
    """What a cycle's metrics carry of the probe (None where it measured nothing)."""
    shift = (measured["last_prompt_projection"] - base["last_prompt_projection"]) if measured and base else None
    return {"persona_projection": measured["projection"] if measured else None,
            "persona_shift": shift,
            "persona_predicted_shift": predicted["predicted_shift"] if predicted else None,
            # the model the samples were measured against (what the report takes the measured change from)
            "persona_predicted_from": predicted["start_model"] if predicted else None}
