"""The container registry and the container engine that builds and pushes to it.

:mod:`.container` drives the engine (podman, docker, buildah), :mod:`.client` observes and
copies in the registry with its copy tool, :mod:`.sbom` attaches the image's SBOM there;
:mod:`.image` and :mod:`.image_sbom` are the release's steps. Nothing is imported here, so
that a command that does not touch images does not load them.
"""
