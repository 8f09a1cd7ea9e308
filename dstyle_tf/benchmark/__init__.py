"""Performance benchmark: `python -m dstyle_tf.benchmark`.

Measures, on this machine and with its conditions recorded: inference latency
of the transformation network (Keras, XLA, SavedModel, TFLite variants), its
FLOPs and efficiency against a matmul peak measured in the same run, training
throughput of the Johnson and depth-aware configs, input pipeline throughput
and the peak memory of tiled stylisation; and checks each figure against the
performance issue's targets.

From Python:
```python
from dstyle_tf.benchmark import suite, report
result = suite.run(suite.Options.quick_options())
print(report.format_report(result))
```
"""
