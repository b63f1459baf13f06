"""政策助手 (Policy Assistant): cited answers about science-and-technology innovation policy."""
from assistant.answer import Answer, Citation
from assistant.core import Assistant
from assistant.errors import AssistantError
from assistant.settings import Settings, get_settings

__all__ = ["Answer", "Assistant", "AssistantError", "Citation", "Settings", "get_settings"]
