"""`python -m ssl_core <command>`; under torchrun every rank runs it, and a worker leaves without waiting."""
from ssl_core.cli import main
from ssl_core.engine.distributed import exit_worker, launched

code = main()
if launched():
    exit_worker(code)
raise SystemExit(code)
