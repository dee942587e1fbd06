"""``r2p serve``: personalization as a service.

An OpenAI-compatible chat-completions endpoint answered by r2p's methods over each user's
profile, and a per-user profile store (SQLite by default, PostgreSQL by URL). Needs the
``serve`` extra (``pip install 'r2p[serve]'``).

Example:
    >>> from r2p.serve import BackgroundServer, ProfileStore, ServeConfig, create_app
    >>> app = create_app(ServeConfig(backend="fake", method="rag"),
    ...                  store=ProfileStore("sqlite://"))
"""

from r2p.serve.app import create_app
from r2p.serve.config import ServeConfig
from r2p.serve.keys import ApiKeys
from r2p.serve.server import BackgroundServer, serve
from r2p.serve.store import ProfileStore

__all__ = ["ApiKeys", "BackgroundServer", "ProfileStore", "ServeConfig", "create_app",
           "serve"]
