"""Loading an agent tree for phone calls: every agent in it runs on the configured live model.

Agents live in the top-level ``agents`` package, one sub-package each exposing ``root_agent``.
"""

import importlib
import inspect
import re
from collections.abc import Callable, Iterator

from google.adk.agents import BaseAgent, LiveRequestQueue, LlmAgent, RunConfig
from google.adk.models import BaseLlm

from telephony.errors import NotConfiguredError

_AGENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")

LiveModel = Callable[[str], BaseLlm]
"""Turns the model name an agent declares into the live model it runs on."""


def load_agent(name: str, model: LiveModel | None = None) -> BaseAgent:
    """Import ``agents.<name>.root_agent``.

    With ``model``, return a copy of the whole tree in which every ``LlmAgent`` runs on
    ``model(<the model name it declares>)``: that is how credentials, or the local emulator,
    are put under every agent, sub-agents included (ADK's ``transfer_to_agent`` opens the
    sub-agent's own live connection).
    """
    if not _AGENT_NAME.fullmatch(name):
        raise NotConfiguredError(f"invalid agent name {name!r}")
    try:
        module = importlib.import_module(f"agents.{name}")
    except ModuleNotFoundError as exc:
        raise NotConfiguredError(f"no agent package agents.{name}") from exc
    agent = getattr(module, "root_agent", None)
    if not isinstance(agent, BaseAgent):
        raise NotConfiguredError(f"agents.{name} has no root_agent")
    if model is None:
        return agent
    tree = agent.clone()  # a deep copy of the tree: the module's agents stay as declared
    for member in walk(tree):
        if isinstance(member, LlmAgent):
            member.model = model(_declared_model(member))
    return tree


def walk(agent: BaseAgent) -> Iterator[BaseAgent]:
    """``agent`` and every agent below it."""
    pending = [agent]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(current.sub_agents)


def _declared_model(agent: LlmAgent) -> str:
    """The model name an agent declares, inherited from its ancestors as ADK does."""
    if isinstance(agent.model, str) and agent.model:
        return agent.model
    if isinstance(agent.model, BaseLlm):
        return agent.model.model
    return agent.canonical_model.model


def direct_line_allowed(agent: object, run_config: RunConfig) -> bool:
    """False when something in ADK must see the caller audio: streaming tools, or blob saving."""
    if run_config.save_live_blob:
        return False
    if not isinstance(agent, BaseAgent):
        return False  # a workflow node: leave its audio to ADK
    for member in walk(agent):
        if isinstance(member, LlmAgent) and any(_streams_input(t) for t in member.tools):
            return False
    return True


def _streams_input(tool: object) -> bool:
    function = getattr(tool, "func", tool)
    if not callable(function):
        return False
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.annotation in (LiveRequestQueue, "LiveRequestQueue") for p in parameters)
