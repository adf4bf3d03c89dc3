# Builds the one binary, reallabor; compose runs it as serve, worker and migrate.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/reallabor ./cmd/reallabor

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/reallabor /usr/local/bin/reallabor
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/reallabor"]
CMD ["serve"]
