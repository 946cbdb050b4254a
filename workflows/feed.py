"""`FeedWorkflow`: one per subscriber of the event feed, for as long as it is subscribed.

It asks for the next batch, delivers it through an activity retried with backoff (however
long the receiver is down), waits when there is nothing new, and continues as new now and
then so its history stays short.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.feed import FeedActivities, FeedBatch

ROUNDS = 500  # then continue as new

_DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)


class FeedInput(BaseModel):
    subscription_id: int
    poll_seconds: float = 5.0


def feed_workflow_id(subscription_id: int) -> str:
    return f"feed-{subscription_id}"


@workflow.defn
class FeedWorkflow:
    @workflow.run
    async def run(self, feed: FeedInput) -> None:
        for _ in range(ROUNDS):
            progress = await workflow.execute_activity_method(
                FeedActivities.deliver_feed,
                FeedBatch(subscription_id=feed.subscription_id),
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=_DELIVERY_RETRY,
            )
            if progress.stopped:
                return
            if not progress.more:
                await workflow.sleep(timedelta(seconds=feed.poll_seconds))
        workflow.continue_as_new(feed)
