"""Every Redis key, channel, stream and queue name the system writes, in one place.

A reader finds here every name in Redis that BAT OS owns; nothing else builds key strings.
"""

from __future__ import annotations

from enum import StrEnum

PREFIX = "batos"


class EventType(StrEnum):
    """Types of events on the bus (``shared.events``)."""

    TASK_COMPLETED = "task_completed"
    TASK_FAILED = "task_failed"
    PERSONA_ANSWERED = "persona_answered"  # BRICK, ROBIN, then ALFRED's verdict, as each answers a task
    HIGH_COGNITIVE_DISSONANCE = "high_cognitive_dissonance"
    CODEX_PROPOSAL_CREATED = "codex_proposal_created"
    MOTIVATOR_CAP_REACHED = "motivator_cap_reached"
    TOOL_CREATED = "tool_created"
    TOOL_FORGE_FAILED = "tool_forge_failed"
    DATASET_SEALED = "dataset_sealed"
    FINE_TUNE_PROGRESS = "fine_tune_progress"
    MODEL_TUNED = "model_tuned"
    MODEL_REJECTED = "model_rejected"
    MODEL_ROLLED_BACK = "model_rolled_back"
    FINE_TUNE_FAILED = "fine_tune_failed"
    FINE_TUNE_SUPERSEDED = "fine_tune_superseded"


# Events that are also appended to a bounded journal stream, so a durable subscriber that was
# down catches up (their loss would lose work). Progress ticks and the personas' answers as they
# come (the record keeps them) are live-only.
JOURNALED_EVENTS: frozenset[EventType] = frozenset(
    set(EventType) - {EventType.FINE_TUNE_PROGRESS, EventType.PERSONA_ANSWERED})


def event_channel(event_type: str) -> str:
    """Pub/sub channel for live delivery of one event type."""
    return f"{PREFIX}:events:{event_type}"


EVENT_CHANNEL_PATTERN = f"{PREFIX}:events:*"
EVENTS_DEAD_LETTER = f"{PREFIX}:journal:dead_letters"  # events a durable handler kept failing on


def event_journal(event_type: str) -> str:
    """Stream that journals one event type for durable (consumer-group) subscribers."""
    return f"{PREFIX}:journal:{event_type}"


# --- work queues (arq), one per worker kind --------------------------------------------------
QUEUE_COGNITION = f"{PREFIX}:queue:cognition"
QUEUE_TOOL_FORGE = f"{PREFIX}:queue:tool_forge"
QUEUE_FINE_TUNE = f"{PREFIX}:queue:fine_tune"

# Job function names, one set per queue (a worker fails jobs it has no function for).
JOB_ANSWER_TASK = "answer_task"  # cognition
JOB_CREATE_TOOL = "create_tool"  # tool forge
JOB_INVOKE_TOOL = "invoke_tool"  # tool forge: the one worker kind that holds the sandbox
JOB_FINE_TUNE = "fine_tune"  # fine-tune


def queue_wakeup_channel(queue_name: str) -> str:
    """Pub/sub channel an enqueue publishes on to wake an idle worker of that queue at once."""
    return f"{queue_name}:wakeup"


# --- arq job ids, one format per job (a job id enqueued again while it exists runs once) -------
def answer_job_id(task_id: str) -> str:
    """The cognition job that answers one task."""
    return f"task:{task_id}"


def forge_queue_job_id(forge_job_id: str) -> str:
    """The tool-forge job that forges one forge record."""
    return f"forge:{forge_job_id}"


def fine_tune_queue_job_id(key: str) -> str:
    """The fine-tune job of a sealed dataset version (the curator's) or of a record (the API's)."""
    return f"fine_tune:{key}"


def fine_tune_id_for_job(job_id: str) -> str:
    """The record id of a fine-tune job enqueued without one (the curator's ``fine_tune:<version>``)."""
    return "ft-" + job_id.removeprefix("fine_tune:").replace(":", "-")


def tool_call_job_id(call_id: str) -> str:
    """The tool-forge job that runs one tool call in the sandbox."""
    return f"invoke:{call_id}"


def sweep_lock_key(kind: str) -> str:
    """Held (a short TTL) by the one replica of a worker kind that runs this round's sweep."""
    return f"{PREFIX}:sweep:{kind}"


def idempotency_key(scope: str, key: str) -> str:
    """Marks that work identified by ``key`` was already created within ``scope``."""
    return f"{PREFIX}:idem:{scope}:{key}"


# --- tasks ------------------------------------------------------------------------------------
def task_key(task_id: str) -> str:
    """Hash holding one task record."""
    return f"{PREFIX}:task:{task_id}"


TASKS_BY_TIME = f"{PREFIX}:tasks:by_time"  # zset task_id -> created_at


def tasks_by_status(status: str) -> str:
    """Zset of task ids in one status, scored by created_at."""
    return f"{PREFIX}:tasks:status:{status}"


# --- interaction log (curated in step 4) --------------------------------------------------------
INTERACTIONS_STREAM = f"{PREFIX}:interactions"
CURATOR_GROUP = "curators"

# --- personas and activity ----------------------------------------------------------------------
def persona_key(name: str) -> str:
    """Hash: the persona's current Ollama tag, previous tag (rollback) and update time."""
    return f"{PREFIX}:persona:{name}"


LAST_ACTIVITY = f"{PREFIX}:activity:last"  # unix time of the last task processed
MOTIVATOR_FORGE_TIMER = f"{PREFIX}:motivator:forge_timer"  # set (with expiry) while a tool idea is recent
MOTIVATOR_FORGE_COUNTER = f"{PREFIX}:motivator:forge_counter"  # tool ideas submitted so far
MOTIVATOR_PROACTIVE_COUNTER = f"{PREFIX}:motivator:proactive_counter"  # proactive goals created so far


def consumer_presence_key(stream: str, group: str, consumer: str) -> str:
    """Exists (with a TTL) while ``consumer`` of the group on ``stream`` is alive."""
    return f"{PREFIX}:presence:{stream}:{group}:{consumer}"


def heartbeat_key(service: str, instance: str) -> str:
    """Set with a TTL by a running process (``shared.heartbeat``: services and arq workers, one per
    ``hostname:pid``); its health check reads it."""
    return f"{PREFIX}:heartbeat:{service}:{instance}"


def heartbeats_index(service: str) -> str:
    """Zset instance -> when its heartbeat expires (Redis time): how many processes of ``service`` are alive."""
    return f"{PREFIX}:heartbeats:{service}"


SANDBOX_PROBE = f"{PREFIX}:sandbox:probe"  # hash forge instance -> its last sandbox probe, JSON (shared.status)

# --- codex (step 2) -----------------------------------------------------------------------------
CODEX = f"{PREFIX}:codex"  # hash: text, version, updated_at
CODEX_PROPOSALS = f"{PREFIX}:codex:proposals"  # zset proposal_id -> created_at
CODEX_PROPOSAL_TEXTS = f"{PREFIX}:codex:proposal_texts"  # hash normalised-text hash -> proposal_id


def codex_proposal_key(proposal_id: str) -> str:
    """Hash holding one proposed codex amendment."""
    return f"{PREFIX}:codex:proposal:{proposal_id}"


# --- motivator (step 2) ---------------------------------------------------------------------------
MOTIVATOR_GROUP = "motivator"


def motivator_hourly_count(hour: int) -> str:
    """Counter of motivator-created tasks in one clock hour."""
    return f"{PREFIX}:motivator:count:{hour}"


# --- tools (step 3) -------------------------------------------------------------------------------
TOOLS_INDEX = f"{PREFIX}:tools"  # zset tool name -> created_at of its first version


def tool_versions_key(name: str) -> str:
    """List of JSON tool versions, oldest first."""
    return f"{PREFIX}:tool:{name}:versions"


def forge_job_key(job_id: str) -> str:
    """Hash: a tool-forge job's status and its attempts."""
    return f"{PREFIX}:forge:{job_id}"


FORGE_JOBS_RUNNING = f"{PREFIX}:forge:running"  # zset forge job id -> updated_at, while running (the sweep reads it)


# --- datasets (step 4) ------------------------------------------------------------------------------
DATASETS_INDEX = f"{PREFIX}:datasets"  # zset version -> created_at


def dataset_key(version: str) -> str:
    """Hash: one dataset version's state, counts, votes, path, hash."""
    return f"{PREFIX}:dataset:{version}"


def dataset_hashes_key(version: str) -> str:
    """Set of content hashes already in a dataset version (deduplication)."""
    return f"{PREFIX}:dataset:{version}:hashes"


# --- curation (step 4) ---------------------------------------------------------------------------
CURATION_VERDICTS = f"{PREFIX}:curation:verdicts"  # bounded stream: one entry per verdict recorded
CURATION_RUN_REQUESTED = f"{PREFIX}:curation:run_requested"  # counter bumped by POST /v1/curation/run
CURATION_RUN_CHANNEL = f"{PREFIX}:curation:run"  # pub/sub: wakes curators for a manual run


def curation_verdict_key(interaction_id: str) -> str:
    """JSON string: ALFRED's verdict on one interaction (kept so a re-delivery is not judged again)."""
    return f"{PREFIX}:curation:verdict:{interaction_id}"


# --- fine-tunes (step 5) -----------------------------------------------------------------------------
FINE_TUNES_INDEX = f"{PREFIX}:fine_tunes"  # zset id -> created_at


def fine_tune_key(fine_tune_id: str) -> str:
    """Hash holding one fine-tune record (state, progress, result, reason)."""
    return f"{PREFIX}:fine_tune:{fine_tune_id}"
