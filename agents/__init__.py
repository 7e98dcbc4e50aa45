"""ADK agents that answer calls; each package exposes ``root_agent``."""
