"""``Curator``: reads the interaction stream and curates up to ``concurrency`` interactions at once.

Three loops: the reader takes new entries while a slot is free (continuously, or in cycles
that a timer or ``POST /v1/curation/run`` starts); the claim loop refreshes what is in flight,
takes over stale entries of dead curators and fires pending fine-tune triggers; a listener
turns manual run requests into an immediate cycle. Stopping finishes what is in flight;
anything unfinished stays pending for another curator.

The interaction stream is read as one member of the ``curators`` group
(``shared.events.consumer_group.GroupMember``). Entries are delivered to one curator each; an
entry stays pending until its verdict is stored and acknowledged. What a dead curator held is
taken over within the presence TTL (three claim intervals), anything else held longer than
``curator_claim_idle_ms`` with ``XAUTOCLAIM``; a live curator refreshes the idle time of what
it is working on, so a slow judge is not mistaken for a dead curator. The group starts at the
beginning of the stream: interactions logged before any curator ran are curated too.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import structlog
from arq.connections import ArqRedis

from services.curator.curation import Curation, CurationConfig
from services.curator.settings import CuratorSettings
from services.curator.trigger import FineTuneTrigger
from services.curator.verdicts import VerdictLog
from shared.datasets import DatasetManifest, DatasetStore
from shared.errors import LLMUnreachable
from shared.events import EventBus
from shared.events.consumer_group import Entry, GroupMember
from shared.events.live import RECONNECT_ERRORS
from shared.keys import CURATION_RUN_CHANNEL, CURATION_RUN_REQUESTED, CURATOR_GROUP, INTERACTIONS_STREAM
from shared.llm.client import ChatBackend
from shared.metrics import CURATION_BACKLOG
from shared.personas import PersonaRegistry, personas_from_settings

log = structlog.get_logger(__name__)


class Curator:
    def __init__(self, settings: CuratorSettings, redis: ArqRedis, llm: ChatBackend, *,
                 consumer: str | None = None):
        self.settings = s = settings
        self.redis = redis
        name = consumer or s.curator_consumer_name or f"{socket.gethostname()}-{os.getpid()}"
        self.member = GroupMember(redis, INTERACTIONS_STREAM, CURATOR_GROUP, name, start_id="0",
                                  presence_ttl_s=3 * s.curator_claim_interval_s)
        prompts = {n: p.system_prompt for n, p in personas_from_settings(s).items()}
        self.store = DatasetStore(redis, s.data_dir, trigger_size=s.curator_trigger_size,
                                  heldout_fraction=s.curator_heldout_fraction, fsync=s.curator_fsync,
                                  system_prompts=prompts)
        bus = EventBus(redis, s.service_name, journal_maxlen=s.event_journal_maxlen)
        self.trigger = FineTuneTrigger(redis, bus, self.store)
        self._personas = PersonaRegistry.from_settings(redis, s)
        config = CurationConfig(s.curator_golden_threshold, s.curator_judge_attempts, s.curator_max_chars,
                                s.curator_max_deliveries)
        self.curation = Curation(self.member, VerdictLog(redis, s.curator_verdict_ttl_s), self.store, llm,
                                 self._judge_model, config, self._sealed)
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._slot_freed = asyncio.Event()
        self._run_now = asyncio.Event()  # start a cycle now (cycles mode)
        self._claim_now = asyncio.Event()  # run the claim loop now
        self._stop = asyncio.Event()
        self._runs_seen: int | None = None
        self.ready = asyncio.Event()
        self.curated = 0

    async def _judge_model(self) -> str:
        return self.settings.curator_judge_model or await self._personas.current_model("ALFRED")

    async def _sealed(self, _manifest: DatasetManifest) -> None:
        await self.trigger.fire_pending()

    async def serve(self, stop: asyncio.Event) -> None:
        """Curate until ``stop`` is set."""
        self._stop = stop
        await self.member.join()
        await self.store.recover()
        await self.trigger.fire_pending()
        helpers = [asyncio.create_task(self._claim_loop(stop)),
                   asyncio.create_task(self._listen_for_runs(stop))]
        self.ready.set()
        log.info("curator ready", consumer=self.member.consumer, mode=self.settings.curator_mode)
        try:
            self._spawn(await self.member.read_own_pending(10_000), claimed=True)
            if self.settings.curator_mode == "continuous":
                await self._read_until(stop, block_ms=self.settings.curator_block_ms)
            else:
                await self._cycles(stop)
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, *self._in_flight.values(), return_exceptions=True)
            await self.member.leave()  # Redis away: the others find out from the expired presence
            log.info("curator stopped", curated=self.curated)

    async def _read_until(self, stop: asyncio.Event, block_ms: int | None) -> None:
        """Read while slots are free; in a cycle (``block_ms`` None) return once the stream is drained."""
        while not stop.is_set():
            free = self.settings.curator_concurrency - len(self._in_flight)
            if free <= 0:
                self._slot_freed.clear()
                await _first_of(self._slot_freed.wait(), stop.wait())
                continue
            try:
                entries = await self.member.read_new(free, block_ms)
            except RECONNECT_ERRORS as exc:
                log.warning("curator lost Redis; retrying", error=str(exc))
                await _first_of(stop.wait(), within=1.0)
                continue
            self._spawn(entries, claimed=False)
            if block_ms is None and not entries:
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
                return

    async def _cycles(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _first_of(self._run_now.wait(), stop.wait(), within=self.settings.curator_cycle_interval_s)
            self._run_now.clear()
            if not stop.is_set():
                log.info("curation cycle")
                await self._read_until(stop, block_ms=None)

    def _spawn(self, entries: list[Entry], claimed: bool) -> None:
        for entry_id, fields in entries:
            if entry_id not in self._in_flight:
                self._in_flight[entry_id] = asyncio.create_task(self._process(entry_id, fields, claimed))

    async def _process(self, entry_id: str, fields: dict[Any, Any], claimed: bool) -> None:
        delay = 0.5
        try:
            while True:
                try:
                    verdict = await self.curation.process(entry_id, fields, claimed)
                    self.curated += 1
                    log.info("curated", interaction=verdict.interaction_id, status=verdict.status,
                             score=verdict.golden_score, vote=verdict.vote, version=verdict.dataset_version)
                    return
                except (LLMUnreachable, *RECONNECT_ERRORS) as exc:  # hold the entry and retry it
                    log.warning("curation waits for a dependency", entry=entry_id, error=str(exc), in_s=delay)
                    await _first_of(self._stop.wait(), within=delay)
                    if self._stop.is_set():
                        return  # unfinished: it stays pending for whoever runs next
                    delay = min(delay * 2, 10.0)
        except Exception:  # a bug must not kill the curator; the entry stays pending
            log.exception("curation failed; the entry stays pending", entry=entry_id)
        finally:
            self._in_flight.pop(entry_id, None)
            self._slot_freed.set()

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        s = self.settings
        while not stop.is_set():
            self._claim_now.clear()
            try:
                lost = await self.member.keep_alive(list(self._in_flight))
                if lost:  # this curator looked dead (a long stall); another one curates them too
                    log.warning("entries claimed by another curator while being curated here", entries=lost)
                await self.member.beat()
                free = s.curator_concurrency - len(self._in_flight)
                if free > 0:  # first what dead curators held (at once), then anything idle too long
                    self._spawn(await self.member.take_over_dead(free), claimed=True)
                    free = s.curator_concurrency - len(self._in_flight)
                if free > 0:
                    self._spawn(await self.member.claim_stale(free, s.curator_claim_idle_ms), claimed=True)
                await self.trigger.fire_pending()
                for state, count in (await self.member.backlog()).items():  # one XINFO per interval
                    CURATION_BACKLOG.labels(state).set(count)
                runs = int(await self.redis.get(CURATION_RUN_REQUESTED) or 0)
                if self._runs_seen is not None and runs != self._runs_seen:
                    self._run_now.set()  # a request whose notification was missed
                    self._claim_now.set()
                self._runs_seen = runs
            except RECONNECT_ERRORS as exc:
                log.warning("claim loop lost Redis", error=str(exc))
            except Exception:
                log.exception("claim loop failed; retrying")
            await _first_of(stop.wait(), self._claim_now.wait(), within=s.curator_claim_interval_s)

    async def _listen_for_runs(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CURATION_RUN_CHANNEL)
                async for _message in pubsub.listen():
                    self._run_now.set()
                    self._claim_now.set()
            except RECONNECT_ERRORS:
                await asyncio.sleep(1.0)
            finally:
                await pubsub.aclose()


async def _first_of(*waits: Any, within: float | None = None) -> None:
    """Return when the first of ``waits`` completes (or after ``within`` seconds); cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
