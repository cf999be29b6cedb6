#!/usr/bin/env bash
# Fails when a C++ file differs from .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h')
if [ -z "$files" ]; then echo "check-format: no C++ files found" >&2; exit 1; fi
clang-format --dry-run --Werror $files
echo "check-format: $(echo "$files" | wc -l) files formatted"
