#!/usr/bin/env bash
# Type-checks the crate, its tests and benches (and xtask) for Windows, x86_64-pc-windows-gnu, on
# this Debian machine with Debian's packages only: no rustup target, no SDK. Debian 12's
# rustc-web and cargo-web (1.96, bookworm-security) and their matching library source
# rust-web-src rebuild std for the target (-Zbuild-std, unlocked by RUSTC_BOOTSTRAP=1; rustup's
# compiler cannot build a library source of another version), and gcc-mingw-w64-x86-64 brings
# the mingw gcc that ring's build script compiles C with and the dlltool std needs.
#
# It catches what does not compile there (Unix-only calls, cfg mistakes) and every warning in
# our code; it does not link, load or run anything. About 17 minutes the first time on 2 idle
# cores (std and ~450 crates, into target/cross-check/, or cross-check/ under $CARGO_TARGET_DIR),
# under a minute after a change.
# Not in .ci/run, which it would push past its budget: run it before a change to platform code
# lands. Exit 0: no error, and no warning in src/, tests/, benches/ or xtask/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# Debian's cargo and rustc by path: rustup's proxies usually come first on the PATH.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
target=x86_64-pc-windows-gnu
target_dir=${CARGO_TARGET_DIR:-target}
log=$target_dir/cross-check.log
mkdir -p "$target_dir"
echo "$(/usr/bin/cargo --version), $($RUSTC --version): cargo check --target $target" >&2

# Every package, every target (tests and benches too), the standalone feature included; going on
# past errors, so one run lists them all.
check_all() {
    local failed=0
    local common=(--locked --target "$target" "-Zbuild-std=std,panic_abort"
        --target-dir "$target_dir/cross-check" --all-targets --keep-going --message-format short)
    /usr/bin/cargo check "${common[@]}" --features standalone || failed=1
    /usr/bin/cargo check "${common[@]}" --manifest-path xtask/Cargo.toml || failed=1
    return "$failed"
}
status=0
check_all 2>&1 | tee "$log" || status=1

# Dependencies' warnings are capped by cargo; ours are reported with paths relative to each
# workspace's root (xtask's too).
ours=$(grep -cE '^(src|tests|benches)/[^:]+:[0-9]+:[0-9]+: (warning|error)' "$log" || true)
echo "cross-check $target: $ours errors and warnings in our code (log: $log)"
[ "$status" -eq 0 ] && [ "$ours" -eq 0 ]
