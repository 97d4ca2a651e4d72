"""Baseline: a depth-1 decision tree (one split on one feature). Writes validation_predictions.csv and submission.csv."""
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

TARGET = "benign"
FEATURES = ['mean_radius', 'mean_texture', 'mean_perimeter', 'mean_area', 'mean_smoothness', 'mean_compactness', 'mean_concavity', 'mean_concave_points', 'mean_symmetry', 'mean_fractal_dimension', 'radius_error', 'texture_error', 'perimeter_error', 'area_error', 'smoothness_error', 'compactness_error', 'concavity_error', 'concave_points_error', 'symmetry_error', 'fractal_dimension_error', 'worst_radius', 'worst_texture', 'worst_perimeter', 'worst_area', 'worst_smoothness', 'worst_compactness', 'worst_concavity', 'worst_concave_points', 'worst_symmetry', 'worst_fractal_dimension']

train = pd.read_csv("data/train.csv")
model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(train[FEATURES], train[TARGET])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    rows = pd.read_csv(f"data/{split}.csv")
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[FEATURES])}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
