"""The golden dataset: versioned, append-only JSONL on disk (the truth) indexed in Redis.

Written by the curator (``DatasetStore``), read by the API and the fine-tune worker
(``list_versions``, ``sample_page``, ``load_fine_tune_job``). The on-disk contract and the
fine-tune job's payload are in ``shared.datasets.contract``.
"""

from shared.datasets.contract import (
    DatasetManifest,
    FineTuneJob,
    Message,
    Provenance,
    Sample,
    fine_tune_idempotency_key,
)
from shared.datasets.read import VersionSummary, get_version, list_versions, load_fine_tune_job, sample_page
from shared.datasets.store import AppendResult, DatasetStore, content_hash

__all__ = [
    "AppendResult",
    "DatasetManifest",
    "DatasetStore",
    "FineTuneJob",
    "Message",
    "Provenance",
    "Sample",
    "VersionSummary",
    "content_hash",
    "fine_tune_idempotency_key",
    "get_version",
    "list_versions",
    "load_fine_tune_job",
    "sample_page",
]
