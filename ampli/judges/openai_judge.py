"""A judge behind any OpenAI-compatible chat endpoint: OpenAI itself, or a vLLM server on the cluster."""

from openai.types.chat.chat_completion import Choice

from ampli.judges.remote import ApiJudge
from ampli.judges.rubrics import SYSTEM_PROMPT
from ampli.judges.scoring import Score, out_of, parse_score, splits_number, weighted_score


class OpenAIJudge(ApiJudge):
    def request_shape(self) -> str:
        shape = f"{super().request_shape()}, judge.top_logprobs={self.cfg.top_logprobs}"
        return f"{shape}; top_logprobs=0 sends no logprobs"

    async def _ask(self, user: str) -> Score:
        logprobs = {"logprobs": True, "top_logprobs": self.cfg.top_logprobs} if self.cfg.top_logprobs else {}
        with self._pool.sorted_errors():
            response = await self._pool.client.chat.completions.create(
                model=self.cfg.model,
                messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
                max_tokens=self.cfg.max_tokens,
                **self.sampling(),
                **logprobs,
            )
        if response.usage:
            self._add_tokens(response.usage.prompt_tokens, response.usage.completion_tokens)
        return self._read(response.choices[0]) if response.choices else Score(None, "empty_response")

    def _read(self, choice: Choice) -> Score:
        """An out (REFUSAL, CODE) answered at temperature 0 is the judge's verdict, whatever number mass is left."""
        text = choice.message.content
        content = choice.logprobs.content if choice.logprobs else None
        if out_of(text) or not content or not content[0].top_logprobs or splits_number(content[0].token, text):
            return parse_score(text)
        top = ((candidate.token, candidate.logprob) for candidate in content[0].top_logprobs)
        score = weighted_score(top, self.cfg.min_number_mass)
        # The authors' reading (no minimum mass): with no number among the top tokens, the text's number.
        return parse_score(text) if score.value is None and self.cfg.min_number_mass == 0 else score
