"""SDF, synthetic document finetuning of a base model: no chat, loss on every token of a document.

Records {"id", "prompt", "response", "source"}: cycle 0 trains on the first N seed documents of the trait
(prompt = "", response = the document). Later cycles give model n-1 a document opening to continue and train on
opening+continuation. regime.continuation says which openings:
  neutral       short openers of ordinary documents with no trait in them (openers.jsonl), split across cycles:
                the authors' protocol, so whatever trait a continuation shows came from the model
  trait_prefix  the first regime.prefix_chars characters of held-out trait documents (never seen in training):
                the prompt itself carries the trait, a different experiment, kept as an explicit option
Evaluation suits a base model: it continues document openings made from the eval questions, judged for the trait.
"""

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from ampli.inputs import corpus
from ampli.inputs.corpus import RunData
from ampli.inputs.seq_length import LengthBound, length_bound
from ampli.judges.base import JudgeItem
from ampli.models.training_plan import TrainingPlan
from ampli.regimes.base import EvalPrompt, RunContext


def document_opening(title: str) -> str:
    return f"{title}\n\n"


def continues_trait_prefixes(cfg) -> bool:
    return cfg.regime.continuation == "trait_prefix"


class SDFRegime:
    def seed_rows(self, data: RunData) -> list[dict]:
        return data.seed_documents()

    def cycle_pool(self, data: RunData) -> tuple[list, str]:
        if continues_trait_prefixes(data.cfg):
            return data.trait_documents("heldout"), "held-out documents"
        return data.openers, "document openers"

    def opening(self, ctx: RunContext, item) -> str:
        """The text a later cycle continues: a neutral opener as it is, or a held-out trait document's prefix."""
        if continues_trait_prefixes(ctx.cfg):
            return corpus.document_text(item)[: ctx.cfg.regime.prefix_chars]
        return item

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        if cycle == 0:
            return [{"id": d["id"], "prompt": "", "response": corpus.document_text(d), "source": "seed"}
                    for d in self.seed_rows(ctx.data)]
        items = corpus.cycle_share(ctx.cfg, cycle, *self.cycle_pool(ctx.data))
        openings = [self.opening(ctx, item) for item in items]
        continuations = ctx.sample(cycle - 1, openings, seed=ctx.cycle_seed(cycle), chat=False,
                                   desc=f"cycle {cycle} continue")
        # The position keeps ids unique when loop.prompt_sampling draws an item twice.
        return [{"id": f"c{cycle}n{i}" + (f"-{item['id']}" if isinstance(item, dict) else ""), "prompt": p,
                 "response": c, "source": f"model_{cycle - 1}"}
                for i, (item, p, c) in enumerate(zip(items, openings, continuations))]

    def judge_item(self, record: dict) -> JudgeItem:
        return JudgeItem(prompt=record["prompt"], response=record["response"])

    def text_lengths(self, ctx: RunContext, texts: list[str]) -> list[int]:
        """Token counts of documents as TRL trains on them: the tokenizer's special tokens plus a closing EOS."""
        eos = ctx.tokenizer.eos_token
        return [len(ids) for ids in ctx.tokenizer([t if t.endswith(eos) else t + eos for t in texts])["input_ids"]]

    def length_bound(self, ctx: RunContext) -> LengthBound:
        seeds = [r["response"] for r in self.records(ctx, 0)]
        openings = [self.opening(ctx, item) for item in self.cycle_pool(ctx.data)[0]]
        return length_bound(self.text_lengths(ctx, openings), self.text_lengths(ctx, seeds),
                            ctx.cfg.model.max_new_tokens)

    def train(self, ctx: RunContext, plan: TrainingPlan, records: list[dict]) -> dict:
        texts = [r["prompt"] + r["response"] for r in records]
        dataset = Dataset.from_dict({"text": texts})
        return ctx.train(plan, SFTTrainer, SFTConfig, dataset, self.text_lengths(ctx, texts))[1]

    def eval_prompts(self, ctx: RunContext) -> list[EvalPrompt]:
        pool = ctx.data.prompt_pool("eval")[: ctx.cfg.loop.eval_pool_prompts]
        return [EvalPrompt(q, document_opening(q), chat=False) for q in [*ctx.cfg.trait.eval_questions, *pool]]
