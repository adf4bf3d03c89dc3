# The developer loop. `make test` is the README's test command (it needs
# PostgreSQL on 127.0.0.1:5432, as .ci/run starts it); `make test-unit` needs
# neither PostgreSQL nor a Temporal server.
GO ?= go
WORKFLOWCHECK ?= $(shell $(GO) env GOPATH)/bin/workflowcheck
GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint
RECORD_TESTS = TestLifecycle|TestExportIsAWorkflowState|TestClocksAndSidePaths|TestContinueAsNewOnTheServer|TestInvitations|TestHandOffsReachPeople|TestStateAidRegister|TestCallsWithinAProgramme|TestCostPlanThroughHTTP|TestAmendments|TestDrawdowns|TestRefusedWriteIsPutBack|TestPartnerChangeByAmendment

.PHONY: test test-unit race lint vulncheck workflowcheck record-histories bench bench-store run

run:
	$(GO) run ./cmd/reallabor dev

test:
	$(GO) test -count=1 ./...

test-unit:
	$(GO) test -count=1 ./models/ ./workflows/ ./internal/authz/ ./internal/encryption/ ./internal/paymentfile/ ./internal/documents/

race:
	$(GO) test -race -count=1 ./models/ ./workflows/

lint: workflowcheck $(GOLANGCI_LINT)
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

$(WORKFLOWCHECK):
	$(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

workflowcheck: $(WORKFLOWCHECK)
	$(WORKFLOWCHECK) ./workflows/...

# Move the current set into workflows/testdata/vN/ first when the workflow
# changed (see docs/design-decisions.md, "Workflow versions").
record-histories:
	$(GO) test -count=1 ./api/ -run '$(RECORD_TESTS)' -record-histories

bench:
	$(GO) run ./cmd/reallabor bench --db both --clients 8 --lifecycles 160

# The store's CPU per lifecycle (the happy path's writes, SQLite and
# PostgreSQL): steadier than the load command's figures on a shared machine.
bench-store:
	$(GO) test -run '^$$' -bench ApplyLifecycle -benchtime 400x ./internal/store/

# Known vulnerabilities in the call graph (as .ci/run checks them: offline,
# from the golang.org/x/vulndb module; findings judged against
# .ci/vulncheck/accepted).
vulncheck:
	@$(GO) install golang.org/x/vuln/cmd/govulncheck@v1.9.0
	@src=$$(cd "$$(mktemp -d)" && $(GO) mod download -json golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	db=$$(mktemp -d); $(GO) run ./.ci/vulncheck db "$$src/data/osv" "$$db" && \
	$$($(GO) env GOPATH)/bin/govulncheck -db "file://$$db" -format json ./... | $(GO) run ./.ci/vulncheck judge .ci/vulncheck/accepted
