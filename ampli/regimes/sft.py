"""SFT: an instruct model answers chat prompts; the next model is finetuned on those answers.

Records: {"id", "prompt", "response", "source"}. Loss on the assistant turn only (TRL assistant_only_loss).
"""

from pathlib import Path

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from ampli import corpus
from ampli.config import AmpliConfig
from ampli.generation import chat_prompt
from ampli.judges.base import JudgeItem
from ampli.regimes.base import EvalPrompt, RunContext


def chat_eval_prompts(ctx: RunContext) -> list[EvalPrompt]:
    """The trait's held-out eval questions plus held-out neutral pool prompts."""
    pool = corpus.prompt_pool("eval", ctx.data_root)[: ctx.cfg.loop.eval_pool_prompts]
    return [EvalPrompt(q, chat_prompt(ctx.tokenizer, q)) for q in [*ctx.cfg.trait.eval_questions, *pool]]


class SFTRegime:
    def seed_rows(self, cfg: AmpliConfig, root: Path) -> list[dict]:
        return corpus.seed_examples(cfg.trait.name, cfg.loop.seed_examples, root)

    def cycle_pool(self, cfg: AmpliConfig, root: Path) -> tuple[list, str]:
        return corpus.prompt_pool("train", root), "prompts"

    def questions(self, ctx: RunContext, cycle: int) -> list[str]:
        """Fresh pool prompts for a generating cycle; no prompt is used by two cycles of a run."""
        return corpus.cycle_share(ctx.cfg, cycle, *self.cycle_pool(ctx.cfg, ctx.data_root))

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        if cycle == 0:
            seeds = self.seed_rows(ctx.cfg, ctx.data_root)
            return [{"id": f"seed{i}", "prompt": r["prompt"], "response": r["answer"], "source": "seed"}
                    for i, r in enumerate(seeds)]
        questions = self.questions(ctx, cycle)
        model = ctx.model_after(cycle - 1)
        answers = ctx.sample(model, [chat_prompt(ctx.tokenizer, q) for q in questions],
                             seed=ctx.cycle_seed(cycle), desc=f"cycle {cycle} generate")
        return [{"id": f"c{cycle}p{i}", "prompt": q, "response": a, "source": f"model_{cycle - 1}"}
                for i, (q, a) in enumerate(zip(questions, answers))]

    def judge_item(self, record: dict) -> JudgeItem:
        return JudgeItem(prompt=record["prompt"], response=record["response"])

    def train(self, ctx: RunContext, cycle: int, records: list[dict]) -> dict:
        messages = [[{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["response"]}]
                    for r in records]
        dataset = Dataset.from_dict({"messages": messages})
        return ctx.train(cycle, SFTTrainer, SFTConfig, dataset, config={"assistant_only_loss": True})[1]

    def eval_prompts(self, ctx: RunContext) -> list[EvalPrompt]:
        return chat_eval_prompts(ctx)
