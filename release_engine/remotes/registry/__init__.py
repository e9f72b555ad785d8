"""The container registry: the image, its tags, its SBOM; and the container engine."""
