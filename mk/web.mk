# Web UI: install pinned npm packages, build web/dist (served by the API at /).
WEB_SRC := $(shell find web/src web/index.html web/vite.config.ts -type f 2>/dev/null)

web/node_modules/.installed: web/package-lock.json
	@echo ">> npm ci (web)"
	@cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SRC)
	@echo ">> building the web UI"
	@cd web && npm run build --silent

web: web/dist/index.html ## Build the web UI into web/dist

test-web-unit: web/node_modules/.installed ## vitest for the web UI's pure functions
	cd web && npm test --silent
