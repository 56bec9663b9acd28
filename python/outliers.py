"""The outlier detection that py-outliers runs in-process (and the gRPC baseline serves)."""

import numpy as np


def detect(data: np.ndarray) -> np.ndarray:
    """Indices of the values more than two population standard deviations from the mean.

    `data` is a 1-D float64 array; from py-outliers it is a read-only view of the caller's
    Float64Array. All-equal input has std 0 and gives no outliers. If any value is NaN the mean
    and std are NaN, every comparison is False, and the result is empty. An infinite value
    makes the mean infinite or NaN, which likewise gives no outliers.
    """
    return np.where(np.abs(data - data.mean()) > 2 * data.std())[0]
