from pipeline_orchestrator import BaseModule, ModuleContext


def score(item):
    if item % 7 == 0:
        raise ValueError(f"item {item} is unlucky")
    return item * item


class Processor(BaseModule):
    def run(self, context: ModuleContext):
        items = context.get_result("data_loader")["items"]
        # One sub-task per item, in parallel threads bounded by this module's cpus.
        results = context.execute_tasks([(score, (item,)) for item in items])
        scores = [r for r in results if not isinstance(r, Exception)]
        failures = [str(r) for r in results if isinstance(r, Exception)]
        print(f"scored {len(scores)} items, {len(failures)} failed")
        return {"scores": scores, "failures": failures}
