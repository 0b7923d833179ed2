"""A judge behind any OpenAI-compatible chat endpoint: OpenAI itself, or a vLLM server on the cluster."""

import openai
from openai.types.chat.chat_completion import Choice

from ampli.judges.cache import ScoreCache
from ampli.judges.config import JudgeConfig
from ampli.judges.remote import ApiJudge, Reply, RetryableError, status_error
from ampli.judges.rubrics import SYSTEM_PROMPT
from ampli.judges.scoring import Score, parse_score, splits_number, weighted_score


class OpenAIJudge(ApiJudge):
    def __init__(self, cfg: JudgeConfig, cache: ScoreCache | None, api_key: str | None):
        super().__init__(cfg, cache)
        # Retries are ours (counted, logged in reasons); a key-less vLLM server still needs a placeholder key.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "no-key", base_url=cfg.base_url, timeout=cfg.timeout_s, max_retries=0
        )

    async def _ask(self, user: str) -> Reply:
        logprobs = {"logprobs": True, "top_logprobs": self.cfg.top_logprobs} if self.cfg.top_logprobs else {}
        try:
            response = await self._client.chat.completions.create(
                model=self.cfg.model,
                messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
                max_tokens=self.cfg.max_tokens,
                temperature=0,
                **logprobs,
            )
        except openai.APITimeoutError as error:
            raise RetryableError("timeout") from error
        except openai.APIConnectionError as error:
            raise RetryableError("connection_error") from error
        except openai.APIStatusError as error:
            raise status_error(error.status_code, error.response.headers, self.cfg) from error
        usage = response.usage
        score = self._read(response.choices[0]) if response.choices else Score(None, "empty_response")
        return Reply(score, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)

    def _read(self, choice: Choice) -> Score:
        text = choice.message.content
        content = choice.logprobs.content if choice.logprobs else None
        if not content or not content[0].top_logprobs or splits_number(content[0].token, text):
            return parse_score(text)
        top = ((candidate.token, candidate.logprob) for candidate in content[0].top_logprobs)
        return weighted_score(top, self.cfg.min_number_mass)

    async def _aclose(self) -> None:
        await self._client.close()
