"""Work queues on arq: one queue per worker kind, JSON on the wire, wake-up on enqueue."""

from shared.queues.enqueue import QueuedJob, enqueue, prepare_job
from shared.queues.serializer import json_deserializer, json_serializer
from shared.queues.worker import WakeableWorker, worker_options

__all__ = ["QueuedJob", "WakeableWorker", "enqueue", "json_deserializer", "json_serializer", "prepare_job",
           "worker_options"]
