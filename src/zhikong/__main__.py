"""`python -m zhikong`: the same as the `zhikong` command."""

from zhikong.cli import main

main()
