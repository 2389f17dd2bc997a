"""The import name of the pipeline-orchestrator seed, so that its modules run unchanged:
`from pipeline_orchestrator import BaseModule, ModuleContext`. An installed package of that
name comes first on the import path and is used instead; modules are duck-typed either way."""

from general_pipeline import (
    BaseModule,
    DependencyError,
    ModuleContext,
    NestedDepthError,
    NonRetryableError,
    Resources,
)

__all__ = [
    "BaseModule",
    "DependencyError",
    "ModuleContext",
    "NestedDepthError",
    "NonRetryableError",
    "Resources",
]
