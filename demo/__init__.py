"""The README's quick start: a local registry, sample images, and imgdigest at work."""
