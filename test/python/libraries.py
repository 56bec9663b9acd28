"""Detection functions built on the libraries users plug in (make test-libraries).

test/as-python/libraries.test.ts runs each inside py-outliers and in plain Python and compares.
"""

import numpy as np


def isolation_forest(data):
    from sklearn.ensemble import IsolationForest

    # n_jobs=2: scikit-learn's joblib backend (threads here; processes elsewhere) inside Node.
    x = data.reshape(-1, 1)
    model = IsolationForest(n_estimators=50, random_state=0, n_jobs=2).fit(x)
    return np.flatnonzero(model.predict(x) == -1)


def isolation_forest_processes(data):
    from joblib import parallel_backend

    with parallel_backend("loky", n_jobs=2):
        return isolation_forest(data)


def rolling_robust_z(data):
    import pandas as pd

    s = pd.Series(data)
    median = s.rolling(25, center=True, min_periods=5).median()
    mad = (s - median).abs().rolling(25, center=True, min_periods=5).median()
    z = 0.6745 * (s - median) / mad
    return np.flatnonzero(z.abs().to_numpy() > 3.5)


def scipy_zscore(data):
    from scipy import stats

    return np.flatnonzero(np.abs(stats.zscore(data)) > 2)


def isolation_scores(x):
    """The issue's IsolationForest case, as a function PythonFunction can call."""
    from sklearn.ensemble import IsolationForest

    return IsolationForest(random_state=0).fit(x).decision_function(x)


def plain_python_answers(folder):
    """What plain Python gives for test/as-python/libraries.test.ts's PythonFunction cases."""
    import scipy.signal

    x = np.fromfile(f"{folder}/x.f64", dtype="<f8")
    matrix = np.fromfile(f"{folder}/matrix.f64", dtype="<f8").reshape(10_000, 8)
    embeddings = np.fromfile(f"{folder}/embeddings.f32", dtype="<f4").reshape(1000, 384)
    peaks, properties = scipy.signal.find_peaks(x, height=0.5, distance=5)
    return {
        "isolation": isolation_scores(matrix).tolist(),
        "peaks": [peaks.tolist(), {"peak_heights": properties["peak_heights"].tolist()}],
        "norms": np.linalg.norm(embeddings, axis=1).tolist(),
        "percentiles": np.percentile(x, [5, 50, 95]).tolist(),
        "median": float(np.median(x)),
    }
