"""`fillstream bench`: the live pipeline's latency and sustained rate, and each core's cost.

- `stats.py`: nearest-rank percentiles, rates over a span, keeping pace (no Kafka: the API's
  measures use it too);
- `cores.py`: the pure cores timed in one process;
- `plan.py`: what a run does; `workload.py`: the market, signals and engine config it offers;
- `harness.py`: the run on the broker; `report.py`: its figures; `render.py`: their tables;
- `machine.py`: the machine the figures come from.
"""
