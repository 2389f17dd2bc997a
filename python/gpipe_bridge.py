"""Runs one Python stage of General Pipeline: `python gpipe_bridge.py`, started by the
orchestrator's Python executor (src/executors/python.ts) in the stage's own process group.

Protocol — files, never stdout, so that whatever the module prints lands in stage.log and
cannot corrupt it:
  $GP_PYTHON_TASK_FILE  JSON: style, export, file, module, search_path, dependencies,
                        cpus, max_nested_depth, error_file
  $GP_INPUTS_FILE   upstream outputs by module name (absent when all are null)
  $GP_PARAMS        the stage's params as JSON
  $GP_ITEM          in an instance of a mapped stage: its item as JSON ($GP_ITEM_INDEX: "3,1")
  $GP_RESULT_FILE   written with the module's JSON result on success (exit 0)
  error_file        written with {type, module, message, code, traceback} on failure (exit 1);
                    the traceback is also printed to stderr, that is to stage.log
Standard library only; Python 3.8 or later.
"""

import importlib
import importlib.util
import json
import os
import sys
import traceback

BRIDGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _resources(task: dict) -> "Resources":
    from general_pipeline import Resources

    gpu_ids = task.get("gpu_ids")
    if gpu_ids is None:  # the run leases no GPUs: CUDA_VISIBLE_DEVICES is left as it was
        return Resources(cpus=task["cpus"])
    return Resources(
        cpus=task["cpus"],
        gpus=len(gpu_ids),
        gpu_ids=gpu_ids,
        cuda_visible_devices=",".join(str(gpu) for gpu in gpu_ids),
    )


def main() -> int:
    with open(os.environ["GP_PYTHON_TASK_FILE"], encoding="utf-8") as file:
        task = json.load(file)
    # Ours before the user's directories join the path: their logging.py cannot shadow ours.
    # The package directory may be read-only, and is not the user's to fill with caches.
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    from general_pipeline import ModuleContext, Resources

    sys.dont_write_bytecode = writes_bytecode
    _set_import_path(task["search_path"])
    try:

        context = ModuleContext(
            module_name=os.environ.get("GP_STAGE", ""),
            pipeline_name=os.environ.get("PIPELINE_ID", ""),
            resources=_resources(task),
            dependency_results=_dependency_results(task["dependencies"]),
            params=json.loads(os.environ.get("GP_PARAMS") or "{}"),
            max_nested_depth=task.get("max_nested_depth"),
            run_id=os.environ.get("GP_RUN_ID", ""),
            attempt=int(os.environ.get("GP_ATTEMPT", "1")),
            output_root=os.environ.get("OUTPUT_ROOT", ""),
            input_root=os.environ.get("INPUT_ROOT", ""),
            workspace_root=os.environ.get("WORKSPACE_ROOT", ""),
        )
        if "GP_ITEM" in os.environ:  # an instance of a mapped stage: its item and place
            context.item = json.loads(os.environ["GP_ITEM"])
            context.item_index = [int(i) for i in os.environ["GP_ITEM_INDEX"].split(",") if i]
        entry = _entry_point(task)
        result = entry(context)
    except BaseException as error:  # noqa: B036 — SystemExit too: the stage is over either way
        return _fail(task["error_file"], error, with_traceback=True)
    try:
        text = json.dumps(result, allow_nan=False, default=_encode)
    except (TypeError, ValueError) as error:
        return _fail(
            task["error_file"],
            error,
            with_traceback=False,
            code="BAD_RESULT",
            message=f"the result of {_reference(task)} is not JSON: {error}",
        )
    _write_atomically(os.environ["GP_RESULT_FILE"], text)
    return 0


def _set_import_path(search_path):
    """The stage's directories first; this bridge's own (general_pipeline, and the seed's
    pipeline_orchestrator name) last, so that an installed package of the same name wins."""
    path = [entry for entry in sys.path if os.path.abspath(entry or ".") != BRIDGE_DIR]
    sys.path[:] = list(search_path) + path + [BRIDGE_DIR]


def _dependency_results(names):
    inputs_file = os.environ.get("GP_INPUTS_FILE", "")
    values = {}
    if inputs_file and os.path.exists(inputs_file):
        with open(inputs_file, encoding="utf-8") as file:
            values = json.load(file)
    return {name: values.get(name) for name in names}


def _entry_point(task):
    """The callable taking the context: a function, or an instance's run method."""
    if task.get("module"):
        module = importlib.import_module(task["module"])
    else:
        module = _load_file(task["file"])
    name = task["export"]
    what = "class" if task["style"] == "class" else "function"
    if not hasattr(module, name):
        raise AttributeError(f"{_reference(task)}: {module.__name__} has no {what} '{name}'")
    target = getattr(module, name)
    if isinstance(target, type):
        instance = target()
        if not callable(getattr(instance, "run", None)):
            raise TypeError(f"{_reference(task)}: class {name} has no run(self, context) method")
        return instance.run
    if task["style"] == "class" and callable(getattr(target, "run", None)):
        return target.run  # an instance: its run(context)
    if not callable(target):
        raise TypeError(f"{_reference(task)}: '{name}' is a {type(target).__name__}, not a {what}")
    return target


def _load_file(file):
    stem = os.path.splitext(os.path.basename(file))[0]
    # Under its own name, as `python file.py` would import it, unless that name is taken.
    name = stem if stem.isidentifier() and stem not in sys.modules else "gpipe_stage_module"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {file} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _encode(value):
    """Exceptions (the failed items of execute_tasks) become plain objects; nothing else
    non-JSON passes."""
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _reference(task):
    return f"{task.get('module') or task['file']}:{task['export']}"


def _fail(error_file, error, with_traceback, code=None, message=None):
    kind = type(error)
    frames = _user_frames(error.__traceback__) if with_traceback else None
    lines = traceback.format_exception(kind, error, frames) if with_traceback else []
    sys.stderr.write("".join(lines))
    own_code = getattr(error, "code", None)
    record = {
        "type": kind.__name__,
        "module": kind.__module__,
        "message": message if message is not None else str(error),
        "code": code if code is not None else own_code if isinstance(own_code, str) else None,
        "traceback": "".join(lines),
    }
    _write_atomically(error_file, json.dumps(record, default=str))
    return 1


def _user_frames(frames):
    """The traceback without this bridge's own frames: it starts where the user's code does."""
    while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
        frames = frames.tb_next
    return frames


def _write_atomically(path, text):
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def _flush(stream):
    try:
        stream.flush()
    except (OSError, ValueError):
        pass  # the module closed or broke it; its result is written already


if __name__ == "__main__":
    status = main()
    _flush(sys.stdout)
    _flush(sys.stderr)
    # Threads the module left behind must not keep a finished stage alive.
    os._exit(status)
