"""The HTTP API: FastAPI application factory, problem details, request ids, routers."""
