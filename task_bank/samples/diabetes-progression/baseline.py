"""Baseline: a linear regression on body mass index alone. Writes validation_predictions.csv and submission.csv."""
import pandas as pd
from sklearn.linear_model import LinearRegression

TARGET = "progression"
FEATURES = ['bmi']

train = pd.read_csv("data/train.csv")
model = LinearRegression().fit(train[FEATURES], train[TARGET])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    rows = pd.read_csv(f"data/{split}.csv")
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[FEATURES])}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
