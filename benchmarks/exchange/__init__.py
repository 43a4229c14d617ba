"""Exchange benchmarks: HTTP intake next to pgbench, accepted-to-persisted latency, the intake
stream path and the matcher next to a plain Redis relay. `python -m benchmarks.exchange`."""
