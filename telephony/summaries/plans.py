"""What each route's summaries ask for and where they go: the route's ``[route.summary]``
(fields schema, webhook URL) over the deployment's settings (``SUMMARY_FIELDS_SCHEMA``,
``SUMMARY_WEBHOOK_URL``).

Every webhook is signed with the one ``SUMMARY_WEBHOOK_SECRET``: a route names a receiver, not
a key, so the secret stays out of the routing file (which is configuration, often committed).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telephony.config import Settings
from telephony.errors import NotConfiguredError
from telephony.routing import RoutingTable
from telephony.summaries.webhook import RetryPolicy, WebhookSender


@dataclass(frozen=True, slots=True)
class SummaryPlan:
    """The fields a call's summary extracts, and the webhook it is delivered to (None: stored
    only)."""

    fields_schema: Mapping[str, Any] | None = None
    webhook: WebhookSender | None = None


class SummaryPlans:
    """The plan of each route, by the route's name as stored with the call."""

    def __init__(self, by_route: Mapping[str, SummaryPlan], default: SummaryPlan) -> None:
        self._by_route = dict(by_route)
        self._default = default

    def for_route(self, name: str | None) -> SummaryPlan:
        """The plan of the route ``name``; the default route's for None or a name the routing
        file no longer has (as ``RoutingTable.named``)."""
        return self._by_route.get(name or "", self._default)


def summary_plans(settings: Settings, routing: RoutingTable) -> SummaryPlans:
    """Each route's plan; raise ``NotConfiguredError`` when a webhook has no secret to sign
    with."""
    policy = RetryPolicy(
        max_attempts=settings.summary_webhook_attempts, first_s=settings.summary_webhook_retry_s
    )
    senders: dict[str, WebhookSender] = {}

    def sender(url: str | None, source: str) -> WebhookSender | None:
        if not url:
            return None
        secret = settings.summary_webhook_secret
        if secret is None:
            raise NotConfiguredError(
                f"SUMMARY_WEBHOOK_SECRET is required with {source} (deliveries are signed)"
            )
        if url not in senders:
            senders[url] = WebhookSender(url, secret.get_secret_value().encode(), policy)
        return senders[url]

    fallback = SummaryPlan(
        settings.summary_fields_schema, sender(settings.summary_webhook_url, "SUMMARY_WEBHOOK_URL")
    )
    by_route = {}
    for route in (*routing.routes, routing.default):
        options = route.summary
        by_route[route.name] = SummaryPlan(
            options.fields_schema if options.fields_schema is not None else fallback.fields_schema,
            sender(options.webhook_url, f"{routing.source}: route {route.name!r}: webhook_url")
            or fallback.webhook,
        )
    return SummaryPlans(by_route, by_route[routing.default.name])
