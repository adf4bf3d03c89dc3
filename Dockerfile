# Builds the one binary, reallabor; compose runs it as serve, worker and migrate.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The commit `reallabor --version` names (the build context has no .git):
# docker compose build --build-arg COMMIT=$(git rev-parse HEAD)
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.commit=${COMMIT}" -o /out/reallabor ./cmd/reallabor

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/reallabor /usr/local/bin/reallabor
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/reallabor"]
CMD ["serve"]
