"""A Claude judge. The Messages API has no logprobs (nor, in this client, temperature), so the number in the
text answer is the score."""

import anthropic

from ampli.judges.cache import ScoreCache
from ampli.judges.config import JudgeConfig
from ampli.judges.remote import ApiJudge, Reply, RetryableError, status_error
from ampli.judges.rubrics import SYSTEM_PROMPT
from ampli.judges.scoring import parse_score


class AnthropicJudge(ApiJudge):
    def __init__(self, cfg: JudgeConfig, cache: ScoreCache | None, api_key: str):
        super().__init__(cfg, cache)
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=cfg.base_url, timeout=cfg.timeout_s, max_retries=0
        )

    async def _ask(self, user: str) -> Reply:
        try:
            message = await self._client.messages.create(
                model=self.cfg.model,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": user}],
                max_tokens=self.cfg.max_tokens,
            )
        except anthropic.APITimeoutError as error:
            raise RetryableError("timeout") from error
        except anthropic.APIConnectionError as error:
            raise RetryableError("connection_error") from error
        except anthropic.APIStatusError as error:
            raise status_error(error.status_code, error.response.headers, self.cfg) from error
        text = "".join(block.text for block in message.content if block.type == "text")
        return Reply(parse_score(text), message.usage.input_tokens, message.usage.output_tokens)

    async def _aclose(self) -> None:
        await self._client.close()
