#!/usr/bin/env bash
# The README's test command: installs everything the tests need on a fresh machine, then runs
# the linters and the whole test suite. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# Debian packages the tests talk to (Dovecot for email); only what is missing is installed. The browser tests drive
# Debian's Chromium through Playwright (Playwright's own browser download cannot work here).
debian_packages=(postgresql chromium dovecot-imapd)
missing=()
for pkg in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# The tests create their own databases on the machine's PostgreSQL (127.0.0.1:5432, user
# postgres). Redis needs no service: each test starts a private redis-server of its own.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

say "installing the project and its test dependencies into .venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import contactcenter, pytest, playwright, schemathesis" # fail here, clearly, if the install failed

say "ruff"
.venv/bin/ruff check .
say "mypy"
.venv/bin/mypy
say "pytest"
set +e
.venv/bin/python -m pytest -q -ra "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure of the suite, not a pass" >&2
    exit 1
fi
exit "$status"
