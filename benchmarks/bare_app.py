"""The baseline: a bare FastAPI endpoint that reads the body and answers, nothing else."""

from fastapi import FastAPI, Request, Response

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/wecom/callback")
async def bare(request: Request) -> Response:
    await request.body()
    return Response("ok")
