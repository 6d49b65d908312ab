# One image for api, worker and ingest; the command picks the service.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
USER node
EXPOSE 3100 1883
CMD ["node", "--import", "tsx", "services/main.ts", "api"]
