"""What a Python module of a General Pipeline stage receives: its context, and the names the
pipeline-orchestrator seed's modules import (BaseModule, ModuleContext, DependencyError).

Standard library only; Python 3.8 or later. The bridge (../gpipe_bridge.py) builds the context
from the stage's task and calls the module with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence

__all__ = [
    "BaseModule",
    "DependencyError",
    "ModuleContext",
    "NestedDepthError",
    "NonRetryableError",
    "Resources",
]


class DependencyError(KeyError):
    """get_result() of a module this one does not depend on."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class NestedDepthError(RuntimeError):
    """execute_tasks() nested deeper than the pipeline's max_nested_depth."""


class NonRetryableError(Exception):
    """Raise it to fail the stage with no retry, whatever its retry policy says."""

    code = "NON_RETRYABLE"


class BaseModule:
    """A class module: the bridge makes an instance and calls run(context)."""

    def run(self, context: ModuleContext) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define run(self, context)")


class Resources:
    """What the stage was granted: `cpus` (may be fractional), `gpus`, `gpu_ids`, and
    `cuda_visible_devices` (None when the run leases no GPUs)."""

    def __init__(
        self,
        cpus: float,
        gpus: int = 0,
        gpu_ids: Sequence[int] = (),
        cuda_visible_devices: Optional[str] = None,
    ) -> None:
        self.cpus = cpus
        self.gpus = gpus
        self.gpu_ids = list(gpu_ids)
        self.cuda_visible_devices = cuda_visible_devices

    def __getitem__(self, key: str) -> Any:  # resources["cpus"] reads as well
        return getattr(self, key)

    def __repr__(self) -> str:
        return f"Resources(cpus={self.cpus}, gpus={self.gpus}, gpu_ids={self.gpu_ids})"


class _Slots:
    """The stage's CPU grant shared by every nested task: at most `cpus` run at once. A caller
    waiting for its sub-tasks gives its slot back meanwhile, so nesting never deadlocks."""

    def __init__(self, count: int) -> None:
        self._semaphore = threading.Semaphore(count)
        self._local = threading.local()

    @property
    def depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def hold(self) -> None:
        """The calling thread takes a slot (the module's own thread, at the start)."""
        self._semaphore.acquire()
        self._local.holds = True

    def run(self, depth: int, call: Callable[[], Any]) -> Any:
        self.hold()
        self._local.depth = depth
        try:
            return call()
        finally:
            self._local.depth = depth - 1
            self._local.holds = False
            self._semaphore.release()

    def release_while(self, wait: Callable[[], Any]) -> Any:
        # A thread the module started itself holds no slot: it has none to give back.
        holds = getattr(self._local, "holds", False)
        if holds:
            self._local.holds = False
            self._semaphore.release()
        try:
            return wait()
        finally:
            if holds:
                self.hold()


class ModuleContext:
    """The seed's ModuleContext: names, resources, dependency results, nested execution; plus
    params, directories, a logger and file references."""

    def __init__(
        self,
        module_name: str,
        pipeline_name: str,
        resources: Resources,
        dependency_results: Dict[str, Any],
        params: Optional[Dict[str, Any]] = None,
        max_nested_depth: Optional[int] = None,
        run_id: str = "",
        attempt: int = 1,
        output_root: str = "",
        input_root: str = "",
        workspace_root: str = "",
    ) -> None:
        self.module_name = module_name
        self.pipeline_name = pipeline_name
        self.resources = resources
        # The seed's names for the lease, on the context itself as well.
        self.gpu_ids = resources.gpu_ids
        self.cuda_visible_devices = resources.cuda_visible_devices
        self.dependency_results = dependency_results
        self.params = params if params is not None else {}
        self.max_nested_depth = max_nested_depth
        self.run_id = run_id
        self.attempt = attempt
        self.output_root = output_root
        self.input_root = input_root
        self.workspace_root = workspace_root
        # In an instance of a mapped stage (`resize[3]`): its item and its place ([3]).
        self.item: Any = None
        self.item_index: List[int] = []
        self.log = _stage_logger(module_name)
        # The thread that runs the module holds one slot, as its nested tasks will.
        self._slots = _Slots(max(1, int(resources.cpus)))
        # Lines from execute_tasks threads must not interleave.
        self._metrics_lock = threading.Lock()
        self._slots.hold()

    def get_result(self, module_name: str) -> Any:
        """The output of a module this one depends on; DependencyError for any other."""
        if module_name not in self.dependency_results:
            known = ", ".join(sorted(self.dependency_results)) or "none"
            raise DependencyError(
                f"'{self.module_name}' does not depend on '{module_name}' (its dependencies: {known})"
            )
        return self.dependency_results[module_name]

    def get_all_results(self) -> Dict[str, Any]:
        """Every result this module can see: those of its dependencies, by module name."""
        return dict(self.dependency_results)

    def output_root_of(self, module_name: str) -> str:
        """An upstream module's artifacts directory ($INPUT_ROOT/<module>)."""
        self.get_result(module_name)
        return os.path.join(self.input_root, module_name)

    def execute_tasks(self, tasks: Sequence[Any]) -> List[Any]:
        """Runs callables — or (fn, args) / (fn, args, kwargs) tuples — in parallel threads,
        at most the stage's CPU grant at once. Results come in the order of `tasks`; a task
        that raised leaves its exception in its place."""
        depth = self._slots.depth + 1
        if self.max_nested_depth is not None and depth > self.max_nested_depth:
            raise NestedDepthError(
                f"execute_tasks nested {depth} deep, but the pipeline's max_nested_depth is "
                f"{self.max_nested_depth}"
            )
        calls = [_as_call(task, index) for index, task in enumerate(tasks)]
        if not calls:
            return []
        workers = min(len(calls), max(1, int(self.resources.cpus)))

        def wait() -> List[Any]:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(self._slots.run, depth, call) for call in calls]
                return [_result_or_error(future) for future in futures]

        return self._slots.release_while(wait)

    def metric(self, name: str, value: float, **fields: Any) -> None:
        """Records a metric: one JSON line in $GP_METRICS_FILE, shown by `gpipe metrics`.
        Example: context.metric("loss", 0.52, step=10)"""
        path = os.environ.get("GP_METRICS_FILE")
        if not path:
            return
        record = dict(fields)
        record[name] = value
        with self._metrics_lock, open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")

    def file_ref(self, path: str) -> Dict[str, Any]:
        """A FileRef (path, size, sha256) to return in place of a large file's bytes; a
        relative path is taken from output_root."""
        absolute = os.path.abspath(os.path.join(self.output_root, path))
        digest = hashlib.sha256()
        size = 0
        with open(absolute, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        return {"$fileRef": 1, "path": absolute, "size": size, "sha256": f"sha256:{digest.hexdigest()}"}


def _as_call(task: Any, index: int) -> Callable[[], Any]:
    if callable(task):
        return task
    if isinstance(task, tuple) and 1 <= len(task) <= 3 and callable(task[0]):
        args = task[1] if len(task) > 1 else ()
        kwargs = task[2] if len(task) > 2 else {}
        if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict):
            raise TypeError(
                f"execute_tasks: task {index} must be (fn, args_tuple) or (fn, args_tuple, kwargs_dict)"
            )
        return lambda: task[0](*args, **kwargs)
    raise TypeError(
        f"execute_tasks: task {index} is {type(task).__name__}; expected a callable or a (fn, args) tuple"
    )


def _result_or_error(future: Any) -> Any:
    error = future.exception()
    return error if error is not None else future.result()


def _stage_logger(module_name: str) -> logging.Logger:
    logger = logging.getLogger(f"gpipe.{module_name}")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    return logger
