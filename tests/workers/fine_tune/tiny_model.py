"""Offline fixtures for training: a tiny random Llama with a locally trained tokenizer, and a
sealed dataset version in the contract format (``train.jsonl``, ``heldout.jsonl``,
``manifest.json``; each line ``{"messages": [...], "provenance": {...}}``).

Shared by the tests and ``bench/bench_training.py``; imports the train extra lazily.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]

TOPICS = [
    ("Why is the sky blue?", "Rayleigh scattering favours short wavelengths, so blue light fills the sky."),
    ("What is a LoRA adapter?", "A pair of low-rank matrices added to frozen weights and trained alone."),
    ("Name a prime number.", "Seven is prime: its only divisors are one and itself."),
    ("How do bats navigate?", "By echolocation: they hear the echoes of their own calls."),
    ("What does Redis store?", "Keys and values in memory, with streams, lists and sorted sets."),
    ("Summarise entropy.", "Entropy measures how many microstates fit one macrostate."),
    ("What is a queue for?", "It lets producers hand work to consumers that run at their own pace."),
    ("Why test with real things?", "Because fakes drift from the behaviour they imitate."),
]


def conversations(n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        question, answer = TOPICS[i % len(TOPICS)]
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You are BRICK, a logical persona."},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ],
                # Heterogeneous on purpose: the trainer must drop it, whatever its shape.
                "provenance": {"interaction_id": f"i-{i}", "score": 0.9} if i % 2 else {"source": "seed"},
            }
        )
    return rows


def write_dataset(root: Path, train_rows: int = 24, heldout_rows: int = 4) -> Path:
    """A sealed dataset version directory."""
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in (
        ("train.jsonl", conversations(train_rows)),
        ("heldout.jsonl", conversations(heldout_rows)),
    ):
        (root / name).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    manifest = {
        "version": root.name,
        "persona": "BRICK",
        "train_rows": train_rows,
        "heldout_rows": heldout_rows,
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def build_tiny_llama(root: Path, hidden_size: int = 64, layers: int = 2) -> Path:
    """A random LlamaForCausalLM and a BPE tokenizer trained on the dataset's text, saved as an HF dir."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = [m["content"] for row in conversations(len(TOPICS)) for m in row["messages"]]  # type: ignore[attr-defined]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus * 4, trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIALS))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root
