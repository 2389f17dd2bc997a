import json
import os


def summarise(context):
    processed = context.get_result("processor")
    summary = {"total": sum(processed["scores"]), "failures": len(processed["failures"])}
    with open(os.path.join(context.output_root, "summary.json"), "w") as file:
        json.dump(summary, file)
    return summary
