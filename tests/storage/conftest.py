"""The storage tests use the SeaweedFS fixtures of tests/conftest.py."""
