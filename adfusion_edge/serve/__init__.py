"""``adfusion-edge serve``: an HTTP scoring server for bidders (FastAPI + uvicorn, extra ``[serve]``).

Dynamic micro-batching with deadlines and load shedding (batcher.py), a creative cache (cache.py),
Prometheus metrics (metrics.py), health/readiness with warm-up (engine.py), the routes (app.py).
It runs :class:`adfusion_edge.Analyzer` and imports nothing from the training side (torch-free).

    from adfusion_edge.serve import ServeConfig, create_app
    app = create_app(ServeConfig(max_batch=8))      # any ASGI server can run it
"""

from adfusion_edge.serve.app import create_app
from adfusion_edge.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]
