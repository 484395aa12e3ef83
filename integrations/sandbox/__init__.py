"""The sandbox CRM: a deterministic simulated sales org for the demo, tests and benchmarks."""

from integrations.sandbox.org import PERSONAS, SandboxOrg
from integrations.sandbox.source import SandboxSource

__all__ = ["PERSONAS", "SandboxOrg", "SandboxSource"]
