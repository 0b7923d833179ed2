"""SFT: an instruct model answers chat prompts; the next model is finetuned on those answers.

Records: {"id", "prompt", "response", "source"} (+ "system" when the seed data has a system turn).
Training data is TRL's conversational prompt/completion format, so the loss covers the answer only, with any
chat template: TRL's assistant_only_loss needs `{% generation %}` markers that most models' templates lack.
"""

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from ampli.inputs import corpus
from ampli.inputs.corpus import RunData
from ampli.inputs.seq_length import LengthBound, length_bound
from ampli.judges.base import JudgeItem
from ampli.models.chat import assistant_turn, conversation_ids, user_turn
from ampli.models.training_plan import TrainingPlan
from ampli.regimes.base import EvalPrompt, RunContext


def chat_eval_prompts(ctx: RunContext) -> list[EvalPrompt]:
    """The trait's held-out eval questions plus held-out neutral pool prompts."""
    pool = ctx.data.prompt_pool("eval")[: ctx.cfg.loop.eval_pool_prompts]
    return [EvalPrompt(q, ctx.chat_prompt(q)) for q in [*ctx.cfg.trait.eval_questions, *pool]]


def prompt_turns(record: dict) -> list[dict]:
    return user_turn(record["prompt"], record.get("system"))


def chat_lengths(ctx: RunContext, conversations: list[list[dict]]) -> list[int]:
    return [len(conversation_ids(ctx.tokenizer, c, ctx.chat_kwargs)) for c in conversations]


class SFTRegime:
    def seed_rows(self, data: RunData) -> list[dict]:
        return data.seed_examples()

    def cycle_pool(self, data: RunData) -> tuple[list, str]:
        return data.prompt_pool("train"), "prompts"

    def questions(self, ctx: RunContext, cycle: int) -> list[str]:
        """Fresh pool prompts for a generating cycle; no prompt is used by two cycles of a run."""
        return corpus.cycle_share(ctx.cfg, cycle, *self.cycle_pool(ctx.data))

    def seed_records(self, ctx: RunContext) -> list[dict]:
        seeds = self.seed_rows(ctx.data)
        return [{"id": f"seed{i}", "prompt": r["prompt"], "response": r["answer"], "source": "seed",
                 **corpus.system_field(r.get("system"))} for i, r in enumerate(seeds)]

    def records(self, ctx: RunContext, cycle: int) -> list[dict]:
        if cycle == 0:
            return self.seed_records(ctx)
        questions = self.questions(ctx, cycle)
        answers = ctx.sample(cycle - 1, [ctx.chat_prompt(q) for q in questions],
                             seed=ctx.cycle_seed(cycle), desc=f"cycle {cycle} generate")
        return [{"id": f"c{cycle}p{i}", "prompt": q, "response": a, "source": f"model_{cycle - 1}"}
                for i, (q, a) in enumerate(zip(questions, answers))]

    def judge_item(self, record: dict) -> JudgeItem:
        return JudgeItem(prompt=record["prompt"], response=record["response"])

    def length_bound(self, ctx: RunContext) -> LengthBound:
        seeds = [prompt_turns(r) + assistant_turn(r["response"]) for r in self.seed_records(ctx)]
        pool = sorted(set(self.cycle_pool(ctx.data)[0]))
        prompts = chat_lengths(ctx, [user_turn(q) + assistant_turn("") for q in pool])
        return length_bound(prompts, chat_lengths(ctx, seeds), ctx.cfg.model.max_new_tokens)

    def train(self, ctx: RunContext, plan: TrainingPlan, records: list[dict]) -> dict:
        prompts = [prompt_turns(r) for r in records]
        completions = [assistant_turn(r["response"]) for r in records]
        dataset = Dataset.from_dict(ctx.chat_columns({"prompt": prompts, "completion": completions}))
        lengths = chat_lengths(ctx, [p + c for p, c in zip(prompts, completions)])
        return ctx.train(plan, SFTTrainer, SFTConfig, dataset, lengths, config={"completion_only_loss": True})[1]

    def eval_prompts(self, ctx: RunContext) -> list[EvalPrompt]:
        return chat_eval_prompts(ctx)
