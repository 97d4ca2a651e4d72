"""Task families: procedural templates that turn seeded knobs (and, for data families, a catalog dataset)
into a task draft.

    family = FAMILIES["tabular_classification"]
    if family.eligible(entry):
        knobs = family.sample_knobs(random.Random(7), entry)
        draft = family.build(entry, load_table(entry), knobs, seed=7, task_id="penguins-species-7")
        write_task(draft, Path("bank/penguins-species-7"))

Data families write CSV-prediction tasks (`draft.write_task`); program families (games, heuristics,
rl_control, training_program) write tasks whose submission is code (`program.write_program_task`).
"""

from synthml.task_bank.families import (
    distribution_shift,
    games,
    heuristics,
    image_classification,
    imbalanced_cost,
    rl_control,
    tabular_classification,
    tabular_regression,
    text_classification,
    timeseries_forecasting,
    training_program,
)
from synthml.task_bank.families.family import Family

FAMILIES: dict[str, Family] = {module.FAMILY.name: module.FAMILY for module in (
    tabular_classification, tabular_regression, text_classification, timeseries_forecasting,
    image_classification, imbalanced_cost, distribution_shift, games, heuristics, rl_control, training_program)}

__all__ = ["FAMILIES", "Family"]
