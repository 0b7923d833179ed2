"""SFT: an instruct model answers chat prompts; the next model is finetuned on those answers.

Records: {"id", "prompt", "response", "source"[, "system"]} (a system turn only where the seed set has one).
Loss on the assistant turn only (TRL assistant_only_loss).
"""

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from ampli import corpus
from ampli.corpus import RunData
from ampli.generation import chat_prompt, user_turns
from ampli.judges.base import JudgeItem
from ampli.regimes.base import EvalPrompt, RunContext


def chat_eval_prompts(ctx: RunContext) -> list[EvalPrompt]:
    """The trait's held-out eval questions plus held-out neutral pool prompts."""
    pool = ctx.data.prompt_pool("eval")[: ctx.cfg.loop.eval_pool_prompts]
    return [EvalPrompt(q, chat_prompt(ctx.tokenizer, q)) for q in [*ctx.cfg.trait.eval_questions, *pool]]


class SFTRegime:
    def seed_rows(self, data: RunData) -> list[dict]:
        return data.seed_examples()

    def cycle_pool(self, data: RunData) -> tuple[list, str]:
        return data.prompt_pool("train"), "prompts"

    def questions(self, ctx: RunContext, cycle: int) -> list[str]:
        """Fresh pool prompts for a generating cycle; no prompt is used by two cycles of a run."""
        return corpus.cycle_share(ctx.cfg, cycle, *self.cycle_pool(ctx.data))

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        if cycle == 0:
            seeds = self.seed_rows(ctx.data)
            return [{"id": f"seed{i}", "prompt": r["prompt"], "response": r["answer"], "source": "seed",
                     **corpus.system_field(r.get("system"))} for i, r in enumerate(seeds)]
        questions = self.questions(ctx, cycle)
        model = ctx.model_after(cycle - 1)
        answers = ctx.sample(model, [chat_prompt(ctx.tokenizer, q) for q in questions],
                             seed=ctx.cycle_seed(cycle), desc=f"cycle {cycle} generate")
        return [{"id": f"c{cycle}p{i}", "prompt": q, "response": a, "source": f"model_{cycle - 1}"}
                for i, (q, a) in enumerate(zip(questions, answers))]

    def judge_item(self, record: dict) -> JudgeItem:
        return JudgeItem(prompt=record["prompt"], response=record["response"])

    def train(self, ctx: RunContext, cycle: int, records: list[dict]) -> dict:
        messages = [user_turns(r["prompt"], r.get("system")) + [{"role": "assistant", "content": r["response"]}]
                    for r in records]
        dataset = Dataset.from_dict({"messages": messages})
        return ctx.train(cycle, SFTTrainer, SFTConfig, dataset, config={"assistant_only_loss": True})[1]

    def eval_prompts(self, ctx: RunContext) -> list[EvalPrompt]:
        return chat_eval_prompts(ctx)
