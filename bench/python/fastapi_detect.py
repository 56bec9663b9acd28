"""The detection function as most teams serve it today: a FastAPI app under uvicorn.

POST /detect with little-endian float64 values as the body; the answer is the indices as
little-endian int32 (binary both ways, like RemoteOutliers' raw bytes, so the comparison is of
the transport, not of JSON). Started by bench/suites/service.mjs:

    python -m uvicorn fastapi_detect:app --app-dir bench --loop uvloop --http httptools
"""

import numpy as np
import outliers
from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/detect")
async def detect(request: Request) -> Response:
    values = np.frombuffer(await request.body(), dtype="<f8")
    indices = np.asarray(outliers.detect(values), dtype="<i4")
    return Response(content=indices.tobytes(), media_type="application/octet-stream")
