"""One module per `haven` command; cli.py parses the arguments and calls its run(args).

Commands import downward only (the pipeline, its stages, the views), never cli.py.
"""
