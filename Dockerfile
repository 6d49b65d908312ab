# One image for api, worker and ingest; the command picks the service.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# The documents volume takes this folder's owner when docker creates it: the app's user writes there.
RUN mkdir -p /var/lib/safeshipper/documents && chown node:node /var/lib/safeshipper/documents
USER node
EXPOSE 3100 1883
CMD ["node", "--import", "tsx", "services/main.ts", "api"]
