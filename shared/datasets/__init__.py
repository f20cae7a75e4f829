"""The golden dataset: versioned, append-only JSONL on disk (the truth) indexed in Redis.

Written by the curator (``DatasetStore``), read by the API and the fine-tune worker
(``list_versions``, ``sample_page``, ``load_training_set``). The on-disk contract and the
fine-tune job's payload are in ``shared.datasets.contract``.
"""

from shared.datasets.contract import (
    DatasetManifest,
    Message,
    Provenance,
    Sample,
    TrainingSet,
)
from shared.datasets.read import VersionSummary, get_version, list_versions, load_training_set, sample_page
from shared.datasets.store import AppendResult, DatasetStore, content_hash

__all__ = [
    "AppendResult",
    "DatasetManifest",
    "DatasetStore",
    "Message",
    "Provenance",
    "Sample",
    "TrainingSet",
    "VersionSummary",
    "content_hash",
    "get_version",
    "list_versions",
    "load_training_set",
    "sample_page",
]
