"""The web tests share the application fixtures of tests/conftest.py."""
