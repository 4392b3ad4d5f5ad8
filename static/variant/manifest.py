# Frozen into the static healthcheck binary. static/static.sh sets
# HEALTHCHECK_SRC (make variable MICROPY_MANIFEST_HEALTHCHECK_SRC) to the
# directory that holds the healthcheck/ package (the repo's src/ by default).
package("healthcheck", base_path="$(HEALTHCHECK_SRC)")
