"""The trained heads of the meaning layer (assistant.meaning), built by scripts/build_heads.py."""
