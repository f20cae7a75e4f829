"""Claims renewed in leases; a claim that ran out while Redis was away is re-taken if free, lost if taken."""

from __future__ import annotations

from arq.constants import in_progress_key_prefix

from shared.queues.leases import LeaseKeeper

KEY = in_progress_key_prefix + "job-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_renewed_claim_gets_a_full_lease(redis) -> None:
    clock = Clock()
    keeper = LeaseKeeper(30, clock=clock)
    await redis.psetex(KEY, 5_000, b"1")  # arq's claim at pickup
    assert await keeper.renew(redis, ["job-1"]) == []
    assert 25_000 < await redis.pttl(KEY) <= 30_000
    clock.now += 20  # renewals every 10 s: the claim never ran out
    assert await keeper.renew(redis, ["job-1"]) == []
    assert await redis.pttl(KEY) > 25_000


async def test_a_claim_redis_forgot_is_taken_again(redis) -> None:
    clock = Clock()
    keeper = LeaseKeeper(30, clock=clock)
    await redis.psetex(KEY, 30_000, b"1")
    assert await keeper.renew(redis, ["job-1"]) == []
    await redis.flushall()  # a restart without persistence
    clock.now += 10
    assert await keeper.renew(redis, ["job-1"]) == []
    assert await redis.pttl(KEY) > 25_000


async def test_after_a_long_outage_a_free_claim_is_retaken_and_a_taken_one_is_lost(redis) -> None:
    clock = Clock()
    keeper = LeaseKeeper(30, clock=clock)
    await redis.psetex(KEY, 30_000, b"1")
    await redis.psetex(in_progress_key_prefix + "job-2", 30_000, b"1")
    assert await keeper.renew(redis, ["job-1", "job-2"]) == []
    clock.now += 95  # Redis away for three leases: both claims ran out meanwhile
    await redis.delete(KEY)
    await redis.delete(in_progress_key_prefix + "job-2")
    await redis.psetex(in_progress_key_prefix + "job-2", 30_000, b"1")  # another worker took job-2
    assert await keeper.renew(redis, ["job-1", "job-2"]) == ["job-2"]
    assert await redis.pttl(KEY) > 25_000  # job-1: nobody took it, so it is ours again
    ttl_other = await redis.pttl(in_progress_key_prefix + "job-2")
    assert 0 < ttl_other <= 30_000  # the other worker's claim is left as it was
    clock.now += 10
    assert await keeper.renew(redis, ["job-1"]) == []  # job-2 is no longer ours to renew


async def test_at_the_lease_end_an_existing_claim_is_still_ours(redis) -> None:
    clock = Clock()
    keeper = LeaseKeeper(30, clock=clock)
    await redis.psetex(KEY, 30_000, b"1")
    assert await keeper.renew(redis, ["job-1"]) == []
    clock.now += 31  # one missed round too many, by less than the margin: Redis may still hold our claim
    assert await keeper.renew(redis, ["job-1"]) == []
    assert await redis.pttl(KEY) > 25_000
