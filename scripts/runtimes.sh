# Sourced by the scripts that run the design matrix: the two Debian runsc
# binaries scripts/setup.sh provides, and a release build of dindcheck.
#   $old  bookworm's runsc (0.0~20221219.0)
#   $new  trixie's runsc (0.0~20240729.0), unpacked under $DINDCHECK_CACHE
#   $bin  target/release/dindcheck
old=/usr/bin/runsc
new=${DINDCHECK_CACHE:-/var/cache/dindcheck}/trixie/usr/bin/runsc
if [ -z "${DINDCHECK_NO_BUILD:-}" ]; then
  cargo build --release --quiet
fi
bin=$PWD/target/release/dindcheck
