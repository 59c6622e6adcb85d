"""The local stack: ``ticket-enhancer local up`` runs what ``template.yaml`` declares, without Docker.

- ``template``: the template's tables, queues and functions as typed dataclasses (PyYAML).
- ``emulator``: an embedded moto server holding those tables and queues (no event source mappings).
- ``function_host`` / ``functions``: one warm process per function, invoked over JSON lines.
- ``poller``: each worker fed from its queue the way Lambda's SQS event source mapping does.
- ``server``: the HTTP API routes, the vendor sandbox (``/_sandbox``) and controls (``/_local``).
- ``stack``: ``run_up(port, time_scale, root)``, which starts and stops all of the above.

Time scale: queue timings of the template (visibility timeout, delay) are divided by ``--time-scale``
(default 60, so the 360 s visibility timeout becomes 6 s); receive counts, retention and function
timeouts are kept as declared.

Dev-only: moto and PyYAML are imported here, so no Lambda function imports this package.
"""
