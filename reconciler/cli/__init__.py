"""The command line: thin typer commands that parse arguments, call one stage, pick a
view and return an exit code. Errors are printed in one place (`main.main`)."""
