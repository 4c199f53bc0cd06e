"""The course's package: one module per topic, imported by the chapters.

``utils.device`` (device, seeds, profile), ``utils.data`` (offline data sets and
2-D toy samplers), ``utils.plotting``, ``utils.training``, ``utils.checks``
(exercise checkers), then one module per topic: ``pca``, ``kmeans``, ...
"""
