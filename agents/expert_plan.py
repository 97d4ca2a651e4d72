"""What the expert knows about a task (`Facts`) and what it plans to try (`Candidate`s): per task kind a few
stronger models, features or rules, in an order and with settings drawn from the seed and run, and at the end
the two best combined."""

import random
from dataclasses import dataclass, field
from typing import Any

from synthml.agents import expert_scripts as scripts
from synthml.agents.expert_scripts import Kind, Model, Rule


@dataclass
class Facts:
    """What the expert has learnt about the task from its description, the env's info and the profile."""

    kind: Kind
    target: str
    metric: str
    direction: int
    train_rows: int = 0
    text: str | None = None
    long_text: bool = False
    season: int = 1
    log_target: bool = False
    positive: str = "1"
    fn_cost: float = 5.0
    fp_cost: float = 1.0
    pixel_max: float = 16.0
    """The largest pixel intensity in training (images are divided by it)."""

    @property
    def balanced(self) -> bool:
        """Whether the metric weighs the classes equally (then so should the models)."""
        return self.metric in ("balanced_accuracy", "f1_macro")


@dataclass
class Candidate:
    """One solution to try: its parts' predictions are averaged."""

    label: str
    idea: str
    models: list[Model] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    tune: bool = False

    def describe(self) -> str:
        parts = [m.code() for m in self.models] or [r.code().split(": ", 1)[1] for r in self.rules]
        return " + ".join(parts)


def plan(facts: Facts, rng: random.Random, seed: int) -> list[Candidate]:
    """The first candidates for the task's kind, knobs drawn from small grids, in a seeded order."""
    planner = {"classification": _classification, "regression": _regression, "cost": _cost, "image": _image,
               "text": _text, "forecast": _forecast}[facts.kind]
    candidates = planner(facts, rng, seed)
    rng.shuffle(candidates)
    return candidates


def _classification(facts: Facts, rng: random.Random, seed: int) -> list[Candidate]:
    weight = {"class_weight": "balanced"} if facts.balanced else {}
    forest = {"class_weight": "balanced_subsample"} if facts.balanced else {}
    why = "; with balanced class weights, as the metric weighs classes equally" if facts.balanced else ""
    return [
        Candidate("gradient boosting", f"boosted trees on all features catch non-linear effects and interactions"
                  f" that a shallow tree on two features misses{why}", [_boosting("Classifier", rng, seed, weight)]),
        Candidate("random forest", f"a random forest averages many deep trees: strong on small tables, little "
                  f"tuning{why}", [_forest("RandomForestClassifier", rng, seed, forest)]),
        Candidate("logistic regression", f"a regularised linear model on scaled, one-hot features extrapolates "
                  f"smoothly and resists overfitting small data{why}", [Model(
                      "LogisticRegression", "sklearn.linear_model",
                      {"C": rng.choice([0.3, 1.0, 3.0]), "max_iter": 3000, **weight})]),
        Candidate("extra trees", f"extremely randomised trees smooth the forest's decision boundaries, often "
                  f"better on noisy features{why}", [_forest("ExtraTreesClassifier", rng, seed, forest)]),
        Candidate("RBF support vector machine", f"a kernel machine on standardised features draws smooth "
                  f"non-linear boundaries{why}", [Model("SVC", "sklearn.svm", {
                      "C": rng.choice([1.0, 3.0]), "gamma": "scale", **weight})]),
    ]


def _regression(facts: Facts, rng: random.Random, seed: int) -> list[Candidate]:
    loss = {"loss": "absolute_error"} if facts.metric == "mae" else {}
    boosting = _boosting("Regressor", rng, seed, loss)
    fifth = (Candidate("gradient boosting on log target", "the target is positive and right-skewed: fitting its "
                       "log evens out the errors across its range",
                       [Model(boosting.cls, boosting.module, dict(boosting.params), scripts.LOG_TARGET)])
             if facts.log_target else
             Candidate("subsampled gradient boosting", "stochastic gradient boosting with shallow trees and row "
                       "subsampling regularises differently from histogram boosting", [Model(
                           "GradientBoostingRegressor", "sklearn.ensemble",
                           {"n_estimators": 300, "learning_rate": 0.05, "max_depth": 3, "subsample": 0.8,
                            "random_state": seed, **({"loss": "absolute_error"} if loss else {})})]))
    return [
        Candidate("gradient boosting", "boosted trees on all features catch non-linear effects and interactions "
                  "that a line on one feature misses" + (", with the absolute loss the metric uses" if loss else ""),
                  [boosting]),
        Candidate("random forest", "a random forest averages many deep trees: strong on small tables, little tuning",
                  [_forest("RandomForestRegressor", rng, seed, {})]),
        Candidate("ridge regression", "a regularised linear model on all scaled, one-hot features (penalty chosen "
                  "by internal cross-validation) extrapolates where trees stay flat", [Model(
                      "RidgeCV", "sklearn.linear_model", {"alphas": [0.01, 0.1, 1.0, 10.0, 100.0]})]),
        Candidate("extra trees", "extremely randomised trees smooth the forest's piecewise-constant fit",
                  [_forest("ExtraTreesRegressor", rng, seed, {})]),
        fifth,
    ]


def _cost(facts: Facts, rng: random.Random, seed: int) -> list[Candidate]:
    threshold = facts.fp_cost / (facts.fp_cost + facts.fn_cost)
    bayes = f"predicting {facts.positive} where its probability reaches fp/(fp+fn) = {threshold:.3f}"
    regularised = Model("HistGradientBoostingClassifier", "sklearn.ensemble", {
        "learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15, "min_samples_leaf": 40,
        "l2_regularization": 1.0, "early_stopping": False, "random_state": seed})
    logistic = Model("LogisticRegression", "sklearn.linear_model", {"C": rng.choice([0.3, 1.0]), "max_iter": 3000})
    forest = _forest("RandomForestClassifier", rng, seed, {}, leaves=(3, 5))
    tuned = "with the threshold that minimises cost on 5-fold out-of-fold probabilities of the known rows"
    return [
        Candidate("logistic regression", f"a logistic model gives fairly calibrated probabilities, so the "
                  f"Bayes decision applies: {bayes}", [logistic]),
        Candidate("regularised boosting", f"strongly regularised boosting ranks cases better while its "
                  f"probabilities stay near calibrated; {bayes}", [regularised]),
        Candidate("random forest with a tuned threshold", f"forest probabilities are not calibrated, so the Bayes "
                  f"threshold misfires; a forest {tuned}", [forest], tune=True),
        Candidate("boosting with a tuned threshold", f"the regularised boosting {tuned} corrects its calibration",
                  [regularised], tune=True),
        Candidate("logistic regression with a tuned threshold", f"the logistic model {tuned}", [logistic], tune=True),
    ]


def _image(facts: Facts, rng: random.Random, seed: int) -> list[Candidate]:
    weight = {"class_weight": "balanced"} if facts.balanced else {}
    return [
        Candidate("RBF support vector machine", "an RBF kernel machine on raw pixels is the classic strong model for "
                  "small digit images", [Model("SVC", "sklearn.svm", {
                      "C": rng.choice([5.0, 10.0, 30.0]), "gamma": "scale", **weight})]),
        Candidate("nearest neighbours", "distance-weighted nearest neighbours keep the local shape of each class, "
                  "which one centroid per class averages away", [Model("KNeighborsClassifier", "sklearn.neighbors", {
                      "n_neighbors": rng.choice([3, 5]), "weights": "distance"})]),
        Candidate("logistic regression", "a linear model on scaled pixels learns per-pixel weights rather than one "
                  "template per class", [Model("LogisticRegression", "sklearn.linear_model", {
                      "C": rng.choice([0.3, 1.0]), "max_iter": 3000, **weight})]),
        Candidate("extra trees", "randomised trees on pixels are robust to pixel noise",
                  [_forest("ExtraTreesClassifier", rng, seed, {}, leaves=(1,))]),
        Candidate("small neural network", "a one-hidden-layer network learns stroke features from the pixels",
                  [Model("MLPClassifier", "sklearn.neural_network", {
                      "hidden_layer_sizes": (128,), "alpha": rng.choice([1e-3, 1e-2]), "max_iter": 600,
                      "random_state": seed})]),
    ]


def _text(facts: Facts, rng: random.Random, seed: int) -> list[Candidate]:
    weight = {"class_weight": "balanced"} if facts.balanced else {}
    svm = Model("LinearSVC", "sklearn.svm", {"C": rng.choice([0.5, 1.0]), **weight})
    logistic = Model("LogisticRegression", "sklearn.linear_model", {"C": rng.choice([10.0, 30.0]),
                                                                    "max_iter": 3000, **weight})
    candidates = [
        Candidate("tf-idf words + linear SVM", "tf-idf of words and word pairs with a linear SVM is the standard "
                  "strong text classifier; it weighs informative terms that raw counts of 200 words miss",
                  [svm], features=[scripts.WORDS]),
        Candidate("tf-idf words + logistic regression", "the same features with a weakly regularised logistic "
                  "model", [logistic], features=[scripts.WORDS]),
        Candidate("tf-idf words + complement naive Bayes", "complement naive Bayes on tf-idf suits uneven classes "
                  "and short documents", [Model("ComplementNB", "sklearn.naive_bayes", {
                      "alpha": rng.choice([0.1, 0.3])})], features=[scripts.WORDS]),
        Candidate("tf-idf words + ridge classifier", "a ridge classifier on the same features: least squares on "
                  "class indicators, fast and well regularised", [Model("RidgeClassifier", "sklearn.linear_model", {
                      "alpha": rng.choice([0.3, 1.0]), **weight})], features=[scripts.WORDS]),
        Candidate("tf-idf characters + linear SVM", "character n-grams within words catch spelling variants, "
                  "hashtags and word pieces", [svm], features=[scripts.CHARACTERS]),
        Candidate("tf-idf characters + logistic regression", "character n-grams with the logistic model",
                  [logistic], features=[scripts.CHARACTERS]),
    ]
    return candidates[:4] if facts.long_text else candidates  # character n-grams of long documents are slow


def _forecast(facts: Facts, rng: random.Random, seed: int) -> list[Candidate]:
    seasonal = facts.season > 1
    alpha = rng.choice([0.3, 1.0, 3.0])
    return [
        Candidate("seasonal naive with drift" if seasonal else "naive with drift",
                  "repeating the last season, shifted by the recent trend, is the strongest simple forecast of a "
                  "seasonal, trending series" if seasonal else "the last value plus the recent drift",
                  rules=[Rule("seasonal_naive", {"seasons": rng.choice([2, 4])})]),
        Candidate("trend + seasonal harmonics", "a local linear trend plus Fourier terms of the season, fit on the "
                  "recent seasons (log scale for positive series)",
                  rules=[Rule("harmonic", {"seasons": rng.choice([3, 6]), "trend": True})]),
        Candidate("seasonal climatology", "the mean seasonal profile over the whole history, with no trend: robust "
                  "for series that return to a stable cycle", rules=[Rule("harmonic", {"seasons": None,
                                                                                      "trend": False})]),
        Candidate("autoregression on levels", "a ridge autoregression on recent lags, the season position and a "
                  "trend captures persistence the naive rules ignore",
                  rules=[Rule("autoregression", {"differenced": False, "alpha": alpha})]),
        Candidate("autoregression on differences", "the same autoregression on the changes between points, for a "
                  "series whose level wanders", rules=[Rule("autoregression", {"differenced": True, "alpha": alpha})]),
    ]


def _boosting(suffix: str, rng: random.Random, seed: int, extra: dict[str, Any]) -> Model:
    rate = rng.choice([0.05, 0.1])
    return Model(f"HistGradientBoosting{suffix}", "sklearn.ensemble", {
        "learning_rate": rate, "max_iter": 300 if rate < 0.1 else 150, "max_leaf_nodes": rng.choice([15, 31]),
        "l2_regularization": 1.0, "early_stopping": False, "random_state": seed, **extra})


def _forest(cls: str, rng: random.Random, seed: int, extra: dict[str, Any], leaves: tuple = (1, 2, 3)) -> Model:
    return Model(cls, "sklearn.ensemble", {"n_estimators": 300, "min_samples_leaf": rng.choice(leaves),
                                           "n_jobs": 1, "random_state": seed, **extra})


def combine(facts: Facts, best: Candidate, second: Candidate) -> Candidate:
    """The last candidate: the two best averaged (text: their features joined under the best classifier)."""
    if facts.kind == "text":
        features = list(dict.fromkeys(best.features + second.features))
        if len(features) == 1:
            features = list(dict.fromkeys([*best.features, scripts.WORDS, scripts.CHARACTERS]))
        names = " and ".join(scripts.FEATURE_NAMES[f] for f in features)
        return Candidate(f"{names} + {best.label.split(' + ')[-1]}",
                         "joining both feature sets under the best classifier lets it use whichever terms help",
                         best.models, features=features)
    models = [Model(m.cls, m.module, m.params, scripts.CALIBRATED) if m.cls == "SVC" else m
              for m in best.models + second.models]
    averaged = "forecasts" if facts.kind == "forecast" else (
        "predictions" if facts.kind == "regression" else "probabilities")
    return Candidate(f"average of {best.label} and {second.label}", f"the two best so far err differently, so "
                     f"averaging their {averaged} should cancel part of each one's error",
                     models, best.rules + second.rules, tune=best.tune or second.tune)
