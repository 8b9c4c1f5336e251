FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY govbus govbus
COPY schemas schemas
COPY streams streams
COPY connectors connectors
COPY consumers consumers
COPY examples examples
RUN pip install --no-cache-dir .
