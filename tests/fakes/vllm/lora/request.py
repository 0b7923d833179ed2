"""The fake vllm's LoRARequest: the fields ampli sets, by vLLM's names (a misspelt one is a TypeError here too)."""


class LoRARequest:
    def __init__(self, lora_name: str, lora_int_id: int, lora_path: str, is_3d_lora_weight: bool = False):
        self.lora_name = lora_name
        self.lora_int_id = lora_int_id
        self.lora_path = lora_path
        self.is_3d_lora_weight = is_3d_lora_weight
