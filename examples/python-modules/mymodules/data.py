from pipeline_orchestrator import BaseModule, ModuleContext


class DataLoader(BaseModule):
    def run(self, context: ModuleContext):
        count = context.params.get("count", 5)
        context.log.info(f"loading {count} items")
        return {"items": list(range(1, count + 1))}
