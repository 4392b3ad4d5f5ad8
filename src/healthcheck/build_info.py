"""What --version says about the build. The static build (static/static.sh)
freezes a copy of this module with the values filled in; the pip package
keeps these."""

REVISION = None  # the git commit the binary was built from
PLATFORM = None  # e.g. "linux/arm/v7": the platform the binary was built for
