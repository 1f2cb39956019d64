"""Operations: delivery statistics, the overview, dead letters and their replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)

from shared.identifiers import (
    IDENTIFIER_PATTERN,
)
from shared.web.api_models.common import ApiModel
from shared.web.api_models.outbound_log import ContinuationToken
from shared.web.parsing import parse_iso_time

# --- Operations: statistics, overview, dead letters (docs/operations.md) ---------------------------------------


# A time before 1970 is 1970 (no record is older), one in or after 2999 the last moment before it.
IsoTime = Annotated[datetime, PlainValidator(parse_iso_time),
                    WithJsonSchema({"type": "string", "format": "date-time"})]
CLAMPED = " A time before 1970 means 1970, one after 2998 the end of 2998."
QUEUE_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
MAX_DEAD_LETTER_LIMIT = 200


class QueryParameters(BaseModel):
    """Query parameters, validated as sent (an empty one is a 400); unknown ones (`code`) are ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class StatsQueryParameters(QueryParameters):
    from_: IsoTime | None = Field(None, alias="from", description="From this ISO 8601 time (default: 24 hours "
                                  "before `to`); rounded down to the interval; not later than `to`." + CLAMPED)
    to: IsoTime | None = Field(None, description="Up to this ISO 8601 time (default: now)." + CLAMPED)
    interval: Literal["5m", "1h"] = Field("5m", description="Bucket size: 5m (a range `from`-`to` of at most 2 "
                                          "days) or 1h (at most 35 days); a longer range is a 400.")
    group_by: Literal["operation", "target"] = Field("operation", alias="groupBy",
                                                     description="One series per target and operation, or per "
                                                                 "target.")
    target: Literal["inquba", "insider"] | None = Field(None, description="Only this target.")
    operation: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,39}$",
                                  description="Only this operation (token, event, transaction, upsert, ...).")


class StatsOutcomes(ApiModel):
    ok: int = Field(alias="2xx", description="Answers 200-299.")
    redirect: int = Field(alias="3xx", description="Answers 300-399 (the app follows no redirect).")
    client_error: int = Field(alias="4xx", description="Answers 400-499.")
    server_error: int = Field(alias="5xx", description="Answers 500-599.")
    none: int = Field(description="No answer: a timeout or a network error.")
    other: int = Field(description="Any other status code.")


class StatsTally(ApiModel):
    count: int = Field(description="Calls made.")
    outcomes: StatsOutcomes = Field(description="Calls by outcome.")
    p50_ms: float | None = Field(alias="p50Ms", description="Median response time (ms) from the histogram; null "
                                 "without calls.")
    p95_ms: float | None = Field(alias="p95Ms", description="95th percentile response time (ms) from the histogram.")


class StatsBucket(StatsTally):
    start: str = Field(description="The bucket's start (ISO 8601, UTC).")


class StatsTotal(StatsTally):
    histogram: list[int] = Field(description="Calls per latency bucket: one per bound of `latencyBoundsMs` (at "
                                 "most that many ms) and one more for slower.")


class StatsSeries(ApiModel):
    target: str = Field(description="inquba or insider.")
    operation: str | None = Field(None, description="The operation (absent with groupBy=target).")
    total: StatsTotal = Field(description="The whole range.")
    buckets: list[StatsBucket] = Field(description="Buckets with calls, oldest first (the others had none).")


class StatsResponse(ApiModel):
    from_: str = Field(alias="from", description="The range asked for (ISO 8601, UTC).")
    to: str = Field(description="The range asked for (ISO 8601, UTC).")
    interval: Literal["5m", "1h"] = Field(description="The bucket size.")
    group_by: Literal["operation", "target"] = Field(alias="groupBy", description="How the series are split.")
    latency_bounds_ms: list[int] = Field(alias="latencyBoundsMs", description="Upper bounds of the histogram's "
                                         "buckets (ms).")
    series: list[StatsSeries] = Field(description="One per target (and operation) with calls in the range.")
    entities_read: int = Field(alias="entitiesRead", description="Hourly rollup entities read.")


class QueueState(ApiModel):
    name: str = Field(description="The queue's name.")
    setting: str = Field(description="The app setting that names it.")
    depth: int | None = Field(description="Approximate messages waiting (null when it could not be read).")
    poison_name: str = Field(alias="poisonName", description="Its poison queue.")
    poison_depth: int | None = Field(alias="poisonDepth", description="Approximate messages in the poison queue.")
    dead_letter_records: bool = Field(alias="deadLetterRecords", description="Whether the app records its dead "
                                      "letters (listed and replayed by /dead-letters).")


class InsiderPauseState(ApiModel):
    configured: bool = Field(description="Whether Insider is configured.")
    paused: bool = Field(description="Whether sending is paused after a 403 (POST /insider/resume lifts it).")
    since: str | None = Field(description="When the pause began.")
    error: str | None = Field(description="Insider's answer that paused it.")


class InqubaTokenState(ApiModel):
    configured: bool = Field(description="Whether inQuba is configured.")
    cached: bool = Field(description="Whether a token is in the shared cache.")
    expires_at: str | None = Field(None, alias="expiresAt", description="When the cached token expires.")
    expires_in_seconds: int | None = Field(None, alias="expiresInSeconds", description="Seconds until then.")
    age_seconds: int | None = Field(None, alias="ageSeconds", description="Seconds since it was fetched.")
    lifetime_known: bool | None = Field(None, alias="lifetimeKnown",
                                        description="false when inQuba sent no expires_in (a default lifetime).")
    fresh: bool | None = Field(None, description="Whether it is used as it is (not within the refresh skew).")


class OperationsOverview(ApiModel):
    generated_at: str = Field(alias="generatedAt", description="When this was read (ISO 8601, UTC).")
    queues: list[QueueState] = Field(description="Every queue the app reads, with its poison queue.")
    insider: InsiderPauseState = Field(description="The Insider connection's pause.")
    inquba_token: InqubaTokenState = Field(alias="inqubaToken", description="The inQuba token cache (never the "
                                           "token).")
    operations_auth: Literal["function-key", "entra"] = Field(alias="operationsAuth",
                                                              description="How the operations routes are opened.")


class DeadLetterQueryParameters(QueryParameters):
    queue: str | None = Field(None, pattern=QUEUE_NAME_PATTERN, description="One of the app's work queues (its "
                              "settings name them: inquba-events, inquba-transactions, insider-sync by default); "
                              "another name is a 400 listing them. All three when absent.")
    from_: IsoTime | None = Field(None, alias="from", description="Dead-lettered at or after this ISO 8601 time; "
                                  "not later than `to`." + CLAMPED)
    to: IsoTime | None = Field(None, description="Dead-lettered at or before this ISO 8601 time." + CLAMPED)
    identifier: str | None = Field(None, pattern=IDENTIFIER_PATTERN,
                                   description="Only this identifier (an Insider request's id for its messages).")
    limit: int = Field(50, ge=1, le=MAX_DEAD_LETTER_LIMIT, description="Items per page, 1 to 200 (50).")
    continuation_token: ContinuationToken | None = Field(
        None, alias="continuationToken", description="The continuationToken of the previous page, with the same "
        "filters (another is a 400).")


class DeadLetterItem(ApiModel):
    id: str = Field(description="The record's id (newest sort first).")
    queue: str = Field(description="The work queue it was given up on.")
    identifier: str | None = Field(description="The item's identifier (an Insider request's id); null for a "
                                   "message that could not be read.")
    kind: Literal["event", "transaction", "insider", "unknown"] = Field(description="What the message holds.")
    dead_lettered_at: str = Field(alias="deadLetteredAt", description="When it was dead-lettered (ISO 8601, UTC).")
    status: str = Field(description="failed (refused for good) or dead-lettered (out of attempts).")
    upstream_status: int | None = Field(alias="upstreamStatus", description="The last upstream status code; null "
                                        "for no answer or none sent.")
    error: str | None = Field(description="Why it was given up.")
    attempts: int | None = Field(description="Delivery attempts made.")
    customer_count: int | None = Field(alias="customerCount", description="Customers in an Insider message.")
    replayed_at: str | None = Field(alias="replayedAt", description="When it was moved back to its work queue; null "
                                    "while it waits.")


class DeadLetterPage(ApiModel):
    items: list[DeadLetterItem] = Field(description="Dead letters, newest first.")
    continuation_token: str | None = Field(alias="continuationToken", description="Pass it to get the next page.")
    entities_read: int = Field(alias="entitiesRead", description="Table entities read for this page.")


class DeadLetterReplayRequest(ApiModel):
    queue: str = Field(min_length=3, max_length=63, pattern=QUEUE_NAME_PATTERN,
                       description="One of the app's work queues (its settings name "
                       "them: inquba-events, inquba-transactions, insider-sync by default); another name is a 400 "
                       "listing them.")
    since: IsoTime = Field(description="Replay what was dead-lettered at or after this ISO 8601 time; not later "
                           "than `until`." + CLAMPED)
    until: IsoTime | None = Field(None, description="... and at or before this one (default: now)." + CLAMPED)
    identifier: str | None = Field(None, pattern=IDENTIFIER_PATTERN, description="Only this identifier.")


class ReplayedItem(ApiModel):
    id: str = Field(description="The dead letter's record id.")
    identifier: str | None = Field(description="Its identifier.")
    dead_lettered_at: str = Field(alias="deadLetteredAt", description="When it had been dead-lettered.")


class DeadLetterReplay(ApiModel):
    queue: str = Field(description="The work queue.")
    since: str = Field(description="The window's start.")
    until: str = Field(description="The window's end.")
    moved: int = Field(description="How many dead letters were put back on the work queue.")
    items: list[ReplayedItem] = Field(description="Each one moved.")
    more: bool = Field(description="true when the window holds more than one call moves (1,000): call again.")
