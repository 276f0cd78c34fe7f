"""API keys moved to :mod:`readerstudy.core.llm.keys` (shared with the LLM judges); this name
is kept for the API views, which import the error from here."""

from readerstudy.core.llm.keys import ConnectionSettingsError as ConnectionSettingsError
