"""The vLLM engine process (ampli.generation.vllm_engine starts it with the Python of the vLLM environment).

It imports only the standard library and vllm: vLLM pins its own torch and transformers, so it runs in an
environment of its own where ampli is not installed. One JSON object per line in each direction:

    -> {"engine": {LLM keyword arguments}}                     <- {"ready": true, "vllm": version}
    -> {"generate": {"prompts": [[token ids]], "n", "max_tokens", "temperature", "seeds": [one per prompt],
                     "lora": {"name", "id", "path"[, "is_3d_lora_weight"]} | null}}
                                                               <- {"texts": [[n texts] per prompt]}
    -> {"prompt_logprobs": {"prompts": [[ids]], "starts": [first scored position per prompt]}}
                                                               <- {"logprobs": [[one per scored token]]}
    -> {"shutdown": true}                                      (the process exits, its GPU memory with it)

A failure is answered {"error": message} and the process exits. Everything else vLLM prints goes to stderr, so
that stdout carries only these lines.
"""

import json
import os
import sys
import traceback

TOP_K_OFF = -1  # every vLLM version reads -1 as "all tokens"


def sampling_params(vllm, request: dict) -> list:
    return [vllm.SamplingParams(n=request["n"], temperature=request["temperature"], top_p=1.0, top_k=TOP_K_OFF,
                                max_tokens=request["max_tokens"], seed=seed) for seed in request["seeds"]]


def generate(vllm, llm, request: dict) -> dict:
    from vllm.lora.request import LoRARequest

    lora = request["lora"]
    fused = {"is_3d_lora_weight": True} if lora and lora.get("is_3d_lora_weight") else {}
    lora_request = (LoRARequest(lora_name=lora["name"], lora_int_id=lora["id"], lora_path=lora["path"], **fused)
                    if lora else None)
    prompts = [{"prompt_token_ids": ids} for ids in request["prompts"]]
    outputs = llm.generate(prompts, sampling_params(vllm, request), lora_request=lora_request, use_tqdm=False)
    return {"texts": [[completion.text for completion in output.outputs] for output in outputs]}


def prompt_logprobs(vllm, llm, request: dict) -> dict:
    """Log-probability of each prompt token from `start` on, under the engine's model without an adapter."""
    params = vllm.SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=0.0)
    prompts = [{"prompt_token_ids": ids} for ids in request["prompts"]]
    outputs = llm.generate(prompts, params, use_tqdm=False)
    result = []
    for ids, start, output in zip(request["prompts"], request["starts"], outputs):
        scored = output.prompt_logprobs  # position 0 has none: nothing precedes it
        result.append([scored[t][ids[t]].logprob for t in range(max(start, 1), len(ids))])
    return {"logprobs": result}


def main() -> int:
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library output must not mix with the replies

    def reply(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")

    try:
        import vllm

        llm = None
        for line in sys.stdin:
            message = json.loads(line)
            if "engine" in message:
                llm = vllm.LLM(**message["engine"])
                reply({"ready": True, "vllm": getattr(vllm, "__version__", "unknown")})
            elif "generate" in message:
                reply(generate(vllm, llm, message["generate"]))
            elif "prompt_logprobs" in message:
                reply(prompt_logprobs(vllm, llm, message["prompt_logprobs"]))
            elif message.get("shutdown"):
                return 0
            else:
                raise ValueError(f"unknown request {sorted(message)}")
    except Exception as error:  # the parent raises it with the traceback from stderr
        traceback.print_exc()
        reply({"error": f"{type(error).__name__}: {error}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
