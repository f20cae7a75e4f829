"""The local LLM server: Ollama's HTTP API over transformers + peft with SmolLM2-135M.

Run it with ``python -m services.local_llm`` (``python -m services.local_llm.prepare`` makes the
model folder ahead of time). The folder it serves, which the fine-tune worker also trains from,
is ``LocalLLMSettings().model_path()``. See README.md in this folder for how it differs from Ollama.
"""
