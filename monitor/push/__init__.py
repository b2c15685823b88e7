"""The WebSub edge: requests to hubs (``hub``) and the HTTP endpoint hubs call
back (``server``). What to ask and what to answer is decided in
``monitor.core.websub`` and carried out by ``monitor.pipeline.pushing``."""
