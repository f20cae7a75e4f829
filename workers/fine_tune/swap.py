"""The cognitive atomic swap, and its two other endings: rejected and failed.

``swap_in`` makes the new tag the persona's model with one atomic registry update that checks
the tag it was evaluated against is still current (``expected_current``) and keeps that tag as
``previous`` for rollback; only then is the record marked ``swapped`` and ``model_tuned``
published (state first, event after). Every process reads ``PersonaRegistry.current_model``
before each LLM call, so the new tag is used from the next call, without restart.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from shared.events import EventBus
from shared.events.payloads import FineTuneFailed, FineTuneSuperseded, ModelTuned
from shared.keys import EventType
from shared.personas import PersonaRegistry
from shared.stores.fine_tunes import FineTuneRecord, FineTuneState, FineTuneStore

log = structlog.get_logger(__name__)


async def swap_in(
    registry: PersonaRegistry,
    store: FineTuneStore,
    bus: EventBus,
    record: FineTuneRecord,
    new_tag: str,
    evaluated_against: str,
    evaluation: dict[str, Any] | None = None,
) -> str:
    """Swap atomically (``Conflict`` if the persona moved meanwhile); returns the replaced tag."""
    previous = await registry.swap(record.persona, new_tag, expected_current=evaluated_against)
    await _finish_swapped(store, bus, record, new_tag, previous, evaluation)
    return previous


async def resume_swapped(
    registry: PersonaRegistry, store: FineTuneStore, bus: EventBus, record: FineTuneRecord, tag: str
) -> bool:
    """A run killed after the swap but before its record said so: finish it, never swap twice."""
    state = await registry.state(record.persona)
    if state.model != tag:
        return False
    await _finish_swapped(store, bus, record, tag, state.previous_model, record.evaluation)
    return True


async def _finish_swapped(
    store: FineTuneStore, bus: EventBus, record: FineTuneRecord, tag: str, previous: str | None,
    evaluation: dict[str, Any] | None,
) -> None:
    await store.update(record.id, state=FineTuneState.SWAPPED, model_tag=tag, previous_model=previous,
                       evaluation=evaluation, reason=None, finished_at=time.time())
    await bus.publish(EventType.MODEL_TUNED, ModelTuned(
        persona=record.persona, new_model_tag=tag, previous_model_tag=previous, fine_tune_id=record.id,
        dataset_version=record.dataset_version))
    log.info("fine_tune.swapped", persona=record.persona, new_model=tag, previous_model=previous)


async def reject(
    store: FineTuneStore, bus: EventBus, record: FineTuneRecord, tag: str, reason: str, evaluation: dict[str, Any]
) -> None:
    """The gate said no: the persona keeps its model; record and publish ``model_rejected``."""
    await store.update(record.id, state=FineTuneState.REJECTED, reason=reason, evaluation=evaluation,
                       finished_at=time.time())
    await bus.publish(EventType.MODEL_REJECTED, {
        "persona": record.persona, "fine_tune_id": record.id, "dataset_version": record.dataset_version,
        "model_tag": tag, "reason": reason})
    log.info("fine_tune.rejected", persona=record.persona, model=tag, reason=reason)


async def fail(store: FineTuneStore, bus: EventBus, record: FineTuneRecord, reason: str) -> None:
    """Anything broke: the persona keeps its model; record and publish ``fine_tune_failed``."""
    await store.update(record.id, state=FineTuneState.FAILED, reason=reason, finished_at=time.time())
    await bus.publish(EventType.FINE_TUNE_FAILED, FineTuneFailed(
        persona=record.persona, fine_tune_id=record.id, dataset_version=record.dataset_version, reason=reason))
    log.warning("fine_tune.failed", persona=record.persona, fine_tune_id=record.id, reason=reason)


async def supersede(store: FineTuneStore, bus: EventBus, record: FineTuneRecord, newer_version: str) -> None:
    """A newer version was sealed for the persona while this fine-tune waited: skip it, say why."""
    reason = f"superseded by dataset {newer_version}, sealed for {record.persona} while this one waited"
    await store.update(record.id, state=FineTuneState.SUPERSEDED, reason=reason, finished_at=time.time())
    await bus.publish(EventType.FINE_TUNE_SUPERSEDED, FineTuneSuperseded(
        persona=record.persona, fine_tune_id=record.id, dataset_version=record.dataset_version,
        newer_version=newer_version, reason=reason))
    log.info("fine_tune.superseded", persona=record.persona, fine_tune_id=record.id, newer_version=newer_version)
