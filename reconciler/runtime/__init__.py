"""The process around a run: the garbage collector's pauses and Ctrl-C/SIGTERM handling.
No cloud, no files."""
