"""The template generator behind ``scripts/gen_template.py`` (``make template`` writes, ``--check``
verifies): ``template.yaml`` and each tool's ``functions/<tool>_{webhook,worker}/`` entry points.

Where a new resource goes:

- a setting several resources share (runtime, size, timeout, retention, a checkov skip and its
  reason): ``constants.py``;
- an intrinsic, IAM statement, role, data-holding resource or alarm helper: ``base.py``;
- a template parameter, condition, a ``Globals`` entry or environment variable every function gets,
  a layer: ``parameters.py``;
- a resource every tool shares (API, table, layer, migration): ``shared_resources()`` in ``shared.py``
  (a function gets its log group there too, from ``with_log_groups``);
- a resource each tool gets (function, queue, role, alarm): ``tool_resources()`` in ``tools.py``
  (what varies per deployment in the workers, VPC and attention alarms: ``workers.py``);
- which tools are generated (the registry's, ``--include``/``--only``, an entry-point plugin's
  package): ``selection.py``;
- a stack output: ``outputs.py``; the ``# data:`` comment above a resource that keeps data:
  ``data_note()`` in ``writer.py``.

The output is deterministic: resources appear in a fixed order (shared ones first, then each tool in
the registry's order), intrinsics use the long JSON form so cfn-lint and ``sam validate --lint``
understand them. Modules import downwards only: constants, base, selection -> parameters, workers ->
shared, tools, outputs -> writer.
"""
