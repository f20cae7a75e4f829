"""The model-setup one-shot of the compose stack (``python -m services.model_setup``).

Runs before any worker starts (``depends_on: service_completed_successfully``) and makes sure
every model the personas name is there, so the first task does not wait minutes on a download:

* ``ollama`` mode (the GPU workstation): pulls each persona's Ollama base (progress in the log),
  creates each persona's tag from its base when the tag is not the base itself, and pre-fetches
  each persona's Hugging Face base (the fine-tune worker's weights) into the HF cache volume.
* ``local`` mode (the CPU variant): prepares the local model folder from the bundled GGUF
  (``services.local_llm.prepare``); nothing is downloaded.
"""
