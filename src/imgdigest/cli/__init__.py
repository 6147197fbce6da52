"""The command line: argument parsing and output formatting only.

Each command lives in its own ``cmd_*.py`` module exposing ``register(subparsers)``;
``main.py`` lists them. Behaviour belongs in the library, never here.
"""
