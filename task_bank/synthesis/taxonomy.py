"""The research areas topics are drawn from, each with the catalog task types that suit it and example topics,
and a topic as the pipeline carries it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Area:
    name: str
    task_types: tuple[str, ...]
    """Catalog task types whose datasets suit the area."""
    examples: tuple[str, ...]


TAXONOMY = (
    Area("tabular classification", ("binary", "multiclass"),
         ("Does gradient boosting beat a tuned linear model on a small mixed-type table?",
          "How much do interaction features help a shallow classifier?")),
    Area("tabular regression", ("regression",),
         ("Which target transform makes a skewed regression target easier to fit?",
          "Can monotone feature engineering close the gap between linear models and trees?")),
    Area("imbalanced learning", ("imbalanced", "binary"),
         ("Do class weights or threshold moving give the better balanced accuracy on a rare class?",
          "How should a classifier trade missed positives against false alarms under asymmetric costs?")),
    Area("text classification", ("text",),
         ("How far do character n-grams get over word n-grams on short documents?",
          "Does sublinear TF-IDF weighting help a linear text classifier?")),
    Area("time-series forecasting", ("timeseries",),
         ("Does a seasonal naive forecast beat a trend model on a monthly series?",
          "How much do lag features improve a gradient-boosted forecaster?")),
    Area("image classification", ("image",),
         ("How well do pixel-intensity features classify small greyscale digits?",
          "Does dimensionality reduction before a linear classifier help on small images?")),
    Area("robustness to distribution shift", ("binary", "multiclass", "regression"),
         ("How much accuracy is lost when training and test rows come from different subgroups?",
          "Which features keep their predictive power under a covariate shift?")),
    Area("learning from small data", ("binary", "multiclass", "regression"),
         ("How much does regularisation matter when only a hundred training rows are available?",
          "Do simple priors beat flexible models on a tiny training set?")),
    Area("feature engineering", ("binary", "multiclass", "regression"),
         ("Do ratio features derived from raw measurements help a tree ensemble?",
          "How much does encoding categorical columns well matter for a linear model?")),
    Area("ensembles and model selection", ("binary", "multiclass", "regression"),
         ("Does averaging diverse models beat the best single model on validation?",
          "How reliable is validation-set model selection on a few hundred rows?")),
)


@dataclass(frozen=True)
class Topic:
    area: str
    topic: str
    source: str
    """'llm', or 'taxonomy' for an example the LLM's topics did not replace."""

    def area_spec(self) -> Area:
        return next((a for a in TAXONOMY if a.name == self.area), TAXONOMY[0])
