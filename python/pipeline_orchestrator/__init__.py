"""The import name of the pipeline-orchestrator seed, so that its modules run unchanged:
`from pipeline_orchestrator import BaseModule, ModuleContext`. An installed package of that
name comes first on the import path and is used instead; modules are duck-typed either way."""

import general_pipeline
from general_pipeline import *  # noqa: F403 — the same public names, by general_pipeline's __all__

__all__ = general_pipeline.__all__
