"""Union medical mutual-aid programme (工会职工医疗互助保障): shared plumbing for flows, tasks and the API."""

__version__ = "0.1.0"
