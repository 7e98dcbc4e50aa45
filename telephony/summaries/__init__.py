"""Post-call summaries: a text model's summary and outcome of each call, stored with the call
and delivered to a webhook.

- `prompt`: what the model is asked and how its answer is read (`CallSummary`, `Outcome`).
- `webhook`: signed delivery with retries (`WebhookSender`, `sign`, `verify`).
- `plans`: each route's fields schema and webhook, over the settings (`summary_plans`).
- `service`: `Summaries`, which runs all of it after each call, off the call path.
"""

from telephony.summaries.plans import SummaryPlan, SummaryPlans, summary_plans
from telephony.summaries.prompt import CallSummary, Outcome
from telephony.summaries.service import Summaries
from telephony.summaries.webhook import RetryPolicy, WebhookSender, sign, verify

__all__ = [
    "CallSummary",
    "Outcome",
    "RetryPolicy",
    "Summaries",
    "SummaryPlan",
    "SummaryPlans",
    "WebhookSender",
    "sign",
    "summary_plans",
    "verify",
]
