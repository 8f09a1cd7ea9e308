"""Measurements that are not part of the installed package: the PyTorch
eager reference of the training-throughput comparison
(`python -m benchmarks.torch_comparison`, from the repository root).
"""
