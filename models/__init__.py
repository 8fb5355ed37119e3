"""Trained scorecard models: training (`models.train`), the reproducible synthetic default
(`models.synthetic`) and the artifact registry (`models.registry`)."""
