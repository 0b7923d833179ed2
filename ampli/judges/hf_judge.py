"""A local transformers causal LM as judge, scored from its next-token distribution like the API logprobs."""

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from ampli.judges.cache import ScoreCache
from ampli.judges.config import JudgeConfig
from ampli.judges.pipeline import Record, ScoringJudge
from ampli.judges.rubrics import SYSTEM_PROMPT
from ampli.judges.scoring import Score, number_of, out_of, weighted_score
from ampli.models.chat import render_prompt, template_kwargs, user_turn


def check_number_tokens(tokenizer: PreTrainedTokenizerBase, model: str) -> None:
    """Refuse tokenizers that spell numbers digit by digit: the first token of "85" would be "8"."""
    split = []
    for n in (10, 42, 85, 100):
        ids = tokenizer.encode(str(n), add_special_tokens=False)
        if len(ids) != 1 or number_of(tokenizer.decode(ids)) != n:
            split.append(n)
    if split:
        raise ValueError(
            f"judge model {model!r}: its tokenizer splits {split} into several tokens, so no single next token can "
            "carry a 0-100 score; use a judge whose tokenizer has whole-number tokens (e.g. the Llama 3 family)"
        )


class HFJudge(ScoringJudge):
    """One forward pass per prompt; score = probability-weighted mean over the top next tokens that are integers
    0-100, the same rule (and the same top-k and minimum mass) as for API logprobs."""

    def __init__(self, cfg: JudgeConfig, cache: ScoreCache | None):
        super().__init__(cfg, cache)
        self._tokenizer = AutoTokenizer.from_pretrained(cfg.model)
        check_number_tokens(self._tokenizer, cfg.model)
        device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype="auto").to(device).eval()
        # A hybrid-thinking judge would open its answer with <think>, not with the score read from the next token.
        self._chat_kwargs = template_kwargs(self._tokenizer, {})

    def _ids(self, user: str) -> list[int]:
        if self._tokenizer.chat_template:
            text = render_prompt(self._tokenizer, user_turn(user, SYSTEM_PROMPT), self._chat_kwargs)
            return self._tokenizer.encode(text, add_special_tokens=False)
        return self._tokenizer.encode(f"{SYSTEM_PROMPT}\n\n{user}\n\nScore:")

    @torch.inference_mode()
    def _score(self, prompts: list[str], record: Record) -> None:
        pad = self._tokenizer.pad_token_id or 0
        device = self._model.device
        for start in range(0, len(prompts), self.cfg.batch_size):
            rows = [self._ids(user) for user in prompts[start : start + self.cfg.batch_size]]
            # Right padding, read at each row's last real token: exact whatever the tokenizer's padding side.
            width = max(map(len, rows))
            ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows], device=device)
            mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows], device=device)
            logits = self._model(input_ids=ids, attention_mask=mask).logits
            last = logits[torch.arange(len(rows), device=device), mask.sum(1) - 1].float()
            top = torch.log_softmax(last, dim=-1).topk(self.cfg.top_logprobs, dim=-1)
            for j, (logprobs, token_ids) in enumerate(zip(top.values.tolist(), top.indices.tolist(), strict=True)):
                tokens = [self._tokenizer.decode([token_id]) for token_id in token_ids]
                self.usage.requests += 1
                self._add_tokens(len(rows[j]), 1)
                out = out_of(tokens[0])  # the greedy answer starts with an out (REFUSAL, CODE)
                record(start + j, Score(None, out.lower()) if out else
                       weighted_score(zip(tokens, logprobs, strict=True), self.cfg.min_number_mass))
