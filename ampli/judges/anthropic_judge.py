"""A Claude judge. The Messages API has no logprobs, so the score is the number in one text answer, sampled at
judge.temperature (0: the judge's most likely answer), not a probability-weighted mean like the other backends."""

from ampli.judges.remote import ApiJudge
from ampli.judges.rubrics import SYSTEM_PROMPT
from ampli.judges.scoring import Score, parse_score


class AnthropicJudge(ApiJudge):
    def request_shape(self) -> str:
        return f"{super().request_shape()}, judge.temperature={self.cfg.temperature}; null sends none"

    async def _ask(self, user: str) -> Score:
        with self._pool.sorted_errors():
            message = await self._pool.client.messages.create(
                model=self.cfg.model,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": user}],
                max_tokens=self.cfg.max_tokens,
                extra_body=self.sampling(),
            )
        self._add_tokens(message.usage.input_tokens, message.usage.output_tokens)
        return parse_score("".join(block.text for block in message.content if block.type == "text"))
