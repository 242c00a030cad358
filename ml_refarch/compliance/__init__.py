"""The compliance gate: the cdk-nag packs every stack must pass, and acknowledgment helpers."""
