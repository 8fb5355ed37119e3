# One image for every service; the Deployment's command picks the service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY credit ./credit
COPY services ./services
# The scorecard registry: its code and the shipped artifacts (the scoring service and the
# re-grade job load the DEFAULT model from here).
COPY models ./models
# config/ is not copied: it holds only the development tokens, whose plain text is public.
# Services run from /app (python -m puts it first on sys.path), with migrations beside them.
# The versions tested (constraints.txt), not whatever is newest on the day of the build.
RUN pip install --no-cache-dir -c constraints.txt . && useradd --uid 10001 --no-create-home credit
USER 10001
ENV PYTHONUNBUFFERED=1
