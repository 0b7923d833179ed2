"""A tiny randomly initialised causal LM and word-level tokenizer, built locally (nothing is downloaded)."""

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

WORDS = "the a question answer how are you is this score rate reply with number calm happy joy sad".split()


def tiny_tokenizer(digits_only: bool = False, extra_words: tuple[str, ...] = (),
                   bos: bool = False) -> PreTrainedTokenizerFast:
    """Whole-number tokens "0".."100" like Llama 3, or single digits like Qwen (digits_only); with `bos`, raw text
    gets a leading "<eos>" as Llama 3's tokenizer adds its BOS (a chat a template rendered must not get a second)."""
    numbers = [str(n) for n in range(10 if digits_only else 101)]
    vocab = {word: i for i, word in enumerate(["<pad>", "<unk>", "<eos>", *numbers, *WORDS, *extra_words])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    splitters = [pre_tokenizers.Digits(individual_digits=True)] if digits_only else []
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([*splitters, pre_tokenizers.Whitespace()])
    if bos:
        tokenizer.post_processor = processors.TemplateProcessing(single="<eos> $A", special_tokens=[("<eos>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>")


def tiny_model(vocab_size: int, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=512,
        pad_token_id=0,
    )
    return LlamaForCausalLM(config).eval()
