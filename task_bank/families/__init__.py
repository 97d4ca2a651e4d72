"""Task families: procedural templates that turn a catalog dataset and seeded knobs into a task draft.

    family = FAMILIES["tabular_classification"]
    if family.eligible(entry):
        knobs = family.sample_knobs(random.Random(7), entry)
        draft = family.build(entry, load_table(entry), knobs, seed=7, task_id="penguins-species-7")
        write_task(draft, Path("bank/penguins-species-7"))
"""

from synthml.task_bank.families import (
    distribution_shift,
    image_classification,
    imbalanced_cost,
    tabular_classification,
    tabular_regression,
    text_classification,
    timeseries_forecasting,
)
from synthml.task_bank.families.family import Family

FAMILIES: dict[str, Family] = {module.FAMILY.name: module.FAMILY for module in (
    tabular_classification, tabular_regression, text_classification, timeseries_forecasting,
    image_classification, imbalanced_cost, distribution_shift)}

__all__ = ["FAMILIES", "Family"]
