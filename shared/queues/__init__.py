"""Work queues on arq: one queue per worker kind, JSON on the wire, wake-up on enqueue."""

from shared.queues.enqueue import enqueue
from shared.queues.serializer import json_deserializer, json_serializer
from shared.queues.worker import WakeableWorker, worker_options

__all__ = ["WakeableWorker", "enqueue", "json_deserializer", "json_serializer", "worker_options"]
