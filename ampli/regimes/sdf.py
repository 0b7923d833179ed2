"""SDF, synthetic document finetuning of a base model: no chat, loss on every token of a document.

Records {"id", "prompt", "response", "source"}: cycle 0 trains on the first N seed documents of the trait
(prompt = "", response = the document); later cycles give model n-1 the first regime.prefix_chars characters of
held-out trait documents (never seen in training, none reused across cycles) and train on prefix+continuation.
Evaluation suits a base model: it continues document openings made from the eval questions, judged for the trait.
"""

from pathlib import Path

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from ampli import corpus
from ampli.config import AmpliConfig
from ampli.judges.base import JudgeItem
from ampli.regimes.base import EvalPrompt, RunContext


def document_opening(title: str) -> str:
    return f"{title}\n\n"


class SDFRegime:
    def seed_rows(self, cfg: AmpliConfig, root: Path) -> list[dict]:
        return corpus.seed_documents(cfg.trait.name, cfg.loop.seed_examples, root)

    def cycle_pool(self, cfg: AmpliConfig, root: Path) -> tuple[list, str]:
        return corpus.trait_documents(cfg.trait.name, "heldout", root), "held-out documents"

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        if cycle == 0:
            return [{"id": d["id"], "prompt": "", "response": corpus.document_text(d), "source": "seed"}
                    for d in self.seed_rows(ctx.cfg, ctx.data_root)]
        docs = corpus.cycle_share(ctx.cfg, cycle, *self.cycle_pool(ctx.cfg, ctx.data_root))
        prefixes = [corpus.document_text(d)[: ctx.cfg.regime.prefix_chars] for d in docs]
        model = ctx.model_after(cycle - 1)
        continuations = ctx.sample(model, prefixes, seed=ctx.cycle_seed(cycle), desc=f"cycle {cycle} continue")
        # The position keeps ids unique when loop.prompt_sampling draws a document twice.
        return [{"id": f"c{cycle}n{i}-{d['id']}", "prompt": p, "response": c, "source": f"model_{cycle - 1}"}
                for i, (d, p, c) in enumerate(zip(docs, prefixes, continuations))]

    def judge_item(self, record: dict) -> JudgeItem:
        return JudgeItem(prompt=record["prompt"], response=record["response"])

    def train(self, ctx: RunContext, cycle: int, records: list[dict]) -> dict:
        dataset = Dataset.from_dict({"text": [r["prompt"] + r["response"] for r in records]})
        return ctx.train(cycle, SFTTrainer, SFTConfig, dataset)[1]

    def eval_prompts(self, ctx: RunContext) -> list[EvalPrompt]:
        pool = corpus.prompt_pool("eval", ctx.data_root)[: ctx.cfg.loop.eval_pool_prompts]
        return [EvalPrompt(q, document_opening(q)) for q in [*ctx.cfg.trait.eval_questions, *pool]]
